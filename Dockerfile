# syntax=docker/dockerfile:1
# isolation-operator image. A build stage type-checks the TypeScript (tsc) and bundles the operator with its
# production dependencies into one minified module (hack/bundle.ts: V8 keeps the source of every loaded module, and
# the bundle halves the started heap); the runtime stage holds the Node binary, that bundle, the licences of what
# it contains and an SBOM, on a base
# without shell or package manager, and runs as the non-root user 65532 on a read-only root filesystem (it writes
# nothing; /tmp is a volume in the Deployment). Every RUN uses the exec form, so the build base needs no shell.
#
# Bases are build arguments (docs/adr/0012-image-base.md):
#   online (default): the official node image to build, distroless cc (glibc, libstdc++, no shell) to run;
#   offline (`make image`): images made on the machine by hack/image-base.sh in the same shapes.
# Works with podman/buildah and Docker BuildKit: `docker build --build-arg VERSION=0.1.0 -t isolation-operator .`
ARG BUILD_BASE=docker.io/library/node:24.21.0-bookworm-slim
ARG RUNTIME_BASE=gcr.io/distroless/cc-debian12:nonroot

FROM ${BUILD_BASE} AS build
# Only for a network that inspects TLS: a CA bundle path inside the build base (the local base carries the host's).
ARG NODE_EXTRA_CA_CERTS
WORKDIR /src
# Dependencies first, so source edits do not invalidate the npm ci layer. No lifecycle scripts run (none is needed
# to compile; the `node` devDependency's download of a second Node is skipped).
COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm ["node", "/usr/local/lib/node_modules/npm/bin/npm-cli.js", "ci", "--ignore-scripts", "--no-audit", "--no-fund"]
COPY tsconfig.json ./
COPY src ./src
COPY hack/bundle.ts ./hack/bundle.ts
RUN ["node", "node_modules/typescript/bin/tsc", "-p", "tsconfig.json", "--noEmit"]
RUN ["node", "hack/bundle.ts"]
# CycloneDX SBOM of what ships (production dependencies), written by npm itself (before the prune: npm sbom
# checks the whole lockfile tree is installed).
RUN ["node", "-e", "const {execFileSync} = require('node:child_process'); require('node:fs').writeFileSync('sbom.cdx.json', execFileSync(process.execPath, [process.argv[1], 'sbom', '--omit=dev', '--sbom-format=cyclonedx', '--sbom-type=application']))", "/usr/local/lib/node_modules/npm/bin/npm-cli.js"]

FROM ${RUNTIME_BASE} AS runtime
ARG VERSION=0.0.0-dev
ARG REVISION=unknown
ARG SOURCE=https://github.com/isolation-operator/isolation-operator
LABEL org.opencontainers.image.title="isolation-operator" \
      org.opencontainers.image.description="Keeps RoleBindings and NetworkPolicies aligned from one IsolationProfile per team" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.source="${SOURCE}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.version="${VERSION}" \
      dev.isolation.sbom="/usr/share/doc/isolation-operator/sbom.cdx.json"
ENV NODE_ENV=production
COPY --from=build /usr/local/bin/node /usr/local/bin/node
WORKDIR /app
# The bundle reads ../package.json (the version); everything else it needs is inside it.
COPY --from=build /src/dist/package.json ./dist/package.json
COPY --from=build /src/dist/bundle/operator.mjs ./dist/bundle/operator.mjs
COPY --from=build /src/dist/bundle/THIRD-PARTY-LICENSES.txt /usr/share/doc/isolation-operator/THIRD-PARTY-LICENSES.txt
COPY --from=build /src/sbom.cdx.json /usr/share/doc/isolation-operator/sbom.cdx.json
USER 65532:65532
EXPOSE 8080 8081
# V8 flags NODE_OPTIONS refuses (ADR 0024): --optimize-for-size hands heap pages V8 has freed back to the system
# at once (otherwise they stay resident in its page pool for the life of the process: the RSS follows the largest
# heap ever held, not the current one); --heap-growing-percent=50 gives back the heap growing factor that
# --optimize-for-size shrinks, which alone cost 57 % more CPU. At 10,000 namespaces: steady RSS 150 MiB instead
# of 245, same CPU (docs/benchmarks.md). The bench runs the operator with these flags (bench/operator.ts).
ENTRYPOINT ["/usr/local/bin/node", "--optimize-for-size", "--heap-growing-percent=50", "/app/dist/bundle/operator.mjs"]
CMD ["run"]
