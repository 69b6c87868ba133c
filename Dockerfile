# syntax=docker/dockerfile:1
# isolation-operator image: a build stage compiles the TypeScript (tsc -> dist/), a slim runtime stage carries only
# the compiled JavaScript and the production dependencies, and runs as the non-root user 65532 with a read-only
# root filesystem in mind (nothing is written outside /tmp).
ARG NODE_VERSION=24.21.0

FROM node:${NODE_VERSION} AS build
WORKDIR /src
# Dependencies first, so source edits do not invalidate the npm ci layer.
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
COPY test ./test
COPY bench ./bench
RUN npm run build \
    && npm prune --omit=dev --no-audit --no-fund

FROM node:${NODE_VERSION}-slim AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build --chown=0:0 /src/package.json ./package.json
COPY --from=build --chown=0:0 /src/node_modules ./node_modules
COPY --from=build --chown=0:0 /src/dist/src ./dist/src
# The CRD schema ships with the image so `plan` and version checks can read it offline.
COPY --chown=0:0 crds ./crds
USER 65532:65532
EXPOSE 8080 8081
ENTRYPOINT ["node", "dist/src/main.js"]
CMD ["run"]
