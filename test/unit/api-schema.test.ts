/**
 * The CRD schema (crds/) and the TypeScript types (src/api/types.ts) must not drift apart. Typed fixtures and the
 * YAML samples are validated against the structural schema; a coverage check makes sure every schema field is
 * exercised by a typed fixture; enums and bounds are compared with the unions and constants in code; and the
 * schema's own hygiene (bounds everywhere, no defaults, descriptions, CEL rules with messages) is asserted, since
 * the API server rejects CEL rules whose estimated cost is unbounded.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, parseAllDocuments } from 'yaml';

import {
    API_VERSION,
    GROUP,
    KIND,
    LABEL_PROFILE,
    PLURAL,
    VERSION,
    type ConditionStatus,
    type DeletionPolicy,
    type DriftPolicy,
    type LabelSelectorRequirement,
    type Mode,
    type PlannedAction,
    type Protocol,
    type RoleRef,
    type Subject,
} from '../../src/api/types.ts';
import {
    MAX_ALLOW_RULES,
    MAX_CONDITION_MESSAGE_LENGTH,
    MAX_PEERS,
    MAX_PROFILE_NAME_LENGTH,
    MAX_STATUS_CONDITIONS,
    MAX_STATUS_CONFLICTS,
    MAX_STATUS_PLAN,
    STATUS_CONFLICTS_KEPT,
    STATUS_PLAN_KEPT,
} from '../../src/api/limits.ts';
import {
    compileValidator,
    isNode,
    loadCrd,
    openAPIV3Schema,
    SAMPLES_DIR,
    schemaAt,
    schemaErrors,
    type SchemaNode,
} from './fixtures/crd.ts';
import { kitchenSinkProfile, minimalProfile, validProfiles } from './fixtures/profiles.ts';

const crd = loadCrd();
const root = openAPIV3Schema(crd);
const validate = compileValidator(crd);

function sampleFiles(): string[] {
    return readdirSync(SAMPLES_DIR)
        .filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml')
        .sort();
}

function loadSamples(): { file: string; obj: unknown }[] {
    return sampleFiles().flatMap((file) =>
        parseAllDocuments(readFileSync(join(SAMPLES_DIR, file), 'utf8')).map((d) => ({
            file,
            obj: d.toJS() as unknown,
        })),
    );
}

/** Every node of the schema with its dotted path (`[]` = array items, `{}` = map values). */
function walkSchema(node: SchemaNode, path: string, visit: (node: SchemaNode, path: string) => void): void {
    visit(node, path);
    const props = node['properties'];
    if (isNode(props)) {
        for (const [k, v] of Object.entries(props))
            if (isNode(v)) walkSchema(v, path ? `${path}.${k}` : k, visit);
    }
    if (isNode(node['items'])) walkSchema(node['items'], `${path}[]`, visit);
    if (isNode(node['additionalProperties'])) walkSchema(node['additionalProperties'], `${path}{}`, visit);
}

function isLeaf(node: SchemaNode): boolean {
    return !isNode(node['properties']) && !isNode(node['items']) && !isNode(node['additionalProperties']);
}

function schemaLeaves(): Set<string> {
    const leaves = new Set<string>();
    walkSchema(root, '', (node, path) => {
        if (path !== '' && path !== 'metadata' && isLeaf(node)) leaves.add(path);
    });
    return leaves;
}

/** The schema leaf paths an instance touches, walking it alongside the schema. */
function instanceLeaves(node: SchemaNode, value: unknown, path: string, out: Set<string>): void {
    if (isLeaf(node)) {
        out.add(path);
        return;
    }
    if (Array.isArray(value) && isNode(node['items'])) {
        for (const item of value) instanceLeaves(node['items'], item, `${path}[]`, out);
    } else if (isNode(value)) {
        const props = node['properties'];
        const additional = node['additionalProperties'];
        for (const [k, v] of Object.entries(value)) {
            if (isNode(props) && isNode(props[k]))
                instanceLeaves(props[k], v, path ? `${path}.${k}` : k, out);
            else if (isNode(additional)) instanceLeaves(additional, v, `${path}{}`, out);
        }
    }
}

/**
 * The shape a leaf path belongs to: a label selector, port, peer or roleRef is one shape wherever it appears, and
 * ingress/egress rules share theirs, so the fixture covers each shape once rather than every copy of it.
 */
function shapeOf(path: string): string {
    const shapes: [RegExp, string][] = [
        [/\.(match(?:Labels|Expressions).*)$/, '<selector>'],
        [/\.ports\[\]\.(.*)$/, '<port>'],
        [/\.(?:from|to)\[\]\.(.*)$/, '<peer>'],
        [/\.roleRef\.(.*)$/, '<roleRef>'],
    ];
    for (const [re, name] of shapes) {
        const m = re.exec(path);
        if (m) return `${name}.${m[1]}`;
    }
    return path.replace(/^spec\.network\.(?:ingress|egress)\[\]/, '<rule>');
}

function enumAt(path: string): unknown[] {
    const e = schemaAt(root, path)['enum'];
    assert.ok(Array.isArray(e), `${path} has an enum`);
    return e;
}

describe('IsolationProfile CRD', () => {
    describe('resource definition', () => {
        it('is the cluster-scoped isolation.dev/v1alpha1 IsolationProfile with short name iso', () => {
            assert.equal(crd.apiVersion, 'apiextensions.k8s.io/v1');
            assert.equal(crd.metadata.name, `${PLURAL}.${GROUP}`);
            assert.equal(crd.spec.group, GROUP);
            assert.equal(crd.spec.scope, 'Cluster');
            assert.equal(crd.spec.names.kind, KIND);
            assert.equal(crd.spec.names.plural, PLURAL);
            assert.deepEqual(crd.spec.names.shortNames, ['iso']);
            assert.equal(API_VERSION, `${GROUP}/${VERSION}`);
        });

        it('joins the isolation category but not all', () => {
            assert.deepEqual(crd.spec.names.categories, ['isolation']);
        });

        it('serves and stores exactly v1alpha1 with the status subresource', () => {
            assert.equal(crd.spec.versions.length, 1);
            const v = crd.spec.versions[0]!;
            assert.equal(v.name, VERSION);
            assert.ok(v.served && v.storage);
            assert.deepEqual(v.subresources, { status: {} });
        });

        it('prints Ready, Namespaces, Mode and Age by default', () => {
            const cols = crd.spec.versions[0]!.additionalPrinterColumns ?? [];
            const standard = cols.filter((c) => (c.priority ?? 0) === 0);
            assert.deepEqual(
                standard.map((c) => [c.name, c.jsonPath]),
                [
                    ['Ready', '.status.conditions[?(@.type=="Ready")].status'],
                    ['Namespaces', '.status.namespaces.enforced'],
                    ['Mode', '.status.mode'],
                    ['Age', '.metadata.creationTimestamp'],
                ],
            );
        });

        it('printer columns point at fields that exist in the schema', () => {
            for (const c of crd.spec.versions[0]!.additionalPrinterColumns ?? []) {
                if (c.jsonPath.startsWith('.metadata.')) continue;
                const path = c.jsonPath.replace(/^\./, '').replace(/\[\?\(.*\)\]/, '[]');
                assert.doesNotThrow(() => schemaAt(root, path), c.jsonPath);
            }
        });
    });

    describe('schema hygiene', () => {
        it('writes no defaults anywhere (the operator never defaults spec)', () => {
            walkSchema(root, '', (node, path) =>
                assert.equal(node['default'], undefined, `default at ${path}`),
            );
        });

        it('bounds every list, map and string so CEL cost estimates are finite', () => {
            const unbounded: string[] = [];
            walkSchema(root, '', (node, path) => {
                if (path === 'apiVersion' || path === 'kind') return;
                if (node['type'] === 'array' && node['maxItems'] === undefined)
                    unbounded.push(`${path} maxItems`);
                if (
                    node['type'] === 'object' &&
                    isNode(node['additionalProperties']) &&
                    node['maxProperties'] === undefined
                )
                    unbounded.push(`${path} maxProperties`);
                const isString = node['type'] === 'string' || node['x-kubernetes-int-or-string'] === true;
                const bounded =
                    node['maxLength'] !== undefined ||
                    node['enum'] !== undefined ||
                    node['format'] === 'date-time';
                if (isString && !bounded) unbounded.push(`${path} maxLength`);
            });
            assert.deepEqual(unbounded, []);
        });

        it('describes every field', () => {
            const missing: string[] = [];
            walkSchema(root, '', (node, path) => {
                if (path !== 'metadata' && typeof node['description'] !== 'string')
                    missing.push(path || '<root>');
            });
            assert.deepEqual(missing, []);
        });

        it('gives every CEL rule a message and a fieldPath that exists', () => {
            let rules = 0;
            walkSchema(root, '', (node, path) => {
                const v = node['x-kubernetes-validations'];
                if (v === undefined) return;
                assert.ok(Array.isArray(v), path);
                for (const r of v as SchemaNode[]) {
                    rules++;
                    assert.equal(typeof r['rule'], 'string', path);
                    assert.ok(
                        typeof r['message'] === 'string' && r['message'].length > 0,
                        `message for ${String(r['rule'])}`,
                    );
                    if (typeof r['fieldPath'] === 'string') {
                        assert.doesNotThrow(
                            () => schemaAt(node, r['fieldPath'] as string),
                            `${path} ${r['fieldPath']}`,
                        );
                    }
                }
            });
            assert.ok(rules >= 20, `expected at least 20 CEL rules, found ${rules}`);
        });

        it('keys named lists by name so the API server rejects duplicates', () => {
            for (const path of [
                'spec.network.ingress',
                'spec.network.egress',
                'spec.access',
                'spec.serviceAccounts',
            ]) {
                const n = schemaAt(root, path);
                assert.equal(n['x-kubernetes-list-type'], 'map', path);
                assert.deepEqual(n['x-kubernetes-list-map-keys'], ['name'], path);
                assert.ok((schemaAt(root, `${path}[]`)['required'] as string[]).includes('name'), path);
            }
        });

        it('forbids the isolation.dev/profile key in spec.namespaces.selector', () => {
            const rules = schemaAt(root, 'spec.namespaces.selector')[
                'x-kubernetes-validations'
            ] as SchemaNode[];
            assert.equal(rules.filter((r) => String(r['rule']).includes(`'${LABEL_PROFILE}'`)).length, 2);
        });
    });

    describe('agreement with the TypeScript types', () => {
        it('enums match the string unions of types.ts', () => {
            const unions: [string, Record<string, true>][] = [
                ['spec.mode', { Enforce: true, DryRun: true } satisfies Record<Mode, true>],
                ['status.mode', { Enforce: true, DryRun: true } satisfies Record<Mode, true>],
                [
                    'spec.deletionPolicy',
                    { Delete: true, Orphan: true } satisfies Record<DeletionPolicy, true>,
                ],
                ['spec.driftPolicy', { Correct: true, Report: true } satisfies Record<DriftPolicy, true>],
                [
                    'spec.network.ingress[].ports[].protocol',
                    { TCP: true, UDP: true, SCTP: true } satisfies Record<Protocol, true>,
                ],
                [
                    'spec.namespaces.selector.matchExpressions[].operator',
                    { In: true, NotIn: true, Exists: true, DoesNotExist: true } satisfies Record<
                        LabelSelectorRequirement['operator'],
                        true
                    >,
                ],
                [
                    'spec.access[].roleRef.kind',
                    { ClusterRole: true, Role: true } satisfies Record<RoleRef['kind'], true>,
                ],
                [
                    'spec.access[].subjects[].kind',
                    { User: true, Group: true, ServiceAccount: true } satisfies Record<Subject['kind'], true>,
                ],
                [
                    'status.conditions[].status',
                    { True: true, False: true, Unknown: true } satisfies Record<ConditionStatus, true>,
                ],
                [
                    'status.plan[].action',
                    { create: true, update: true, delete: true } satisfies Record<
                        PlannedAction['action'],
                        true
                    >,
                ],
                [
                    'status.plan[].kind',
                    { NetworkPolicy: true, RoleBinding: true } satisfies Record<PlannedAction['kind'], true>,
                ],
            ];
            for (const [path, union] of unions)
                assert.deepEqual([...enumAt(path)].sort(), Object.keys(union).sort(), path);
        });

        it('bounds match the constants of limits.ts', () => {
            assert.equal(schemaAt(root, 'status.conflicts')['maxItems'], MAX_STATUS_CONFLICTS);
            assert.equal(schemaAt(root, 'status.plan')['maxItems'], MAX_STATUS_PLAN);
            assert.ok(
                STATUS_CONFLICTS_KEPT <= MAX_STATUS_CONFLICTS,
                'the status writer stays within the CRD',
            );
            assert.ok(STATUS_PLAN_KEPT <= MAX_STATUS_PLAN, 'the status writer stays within the CRD');
            assert.equal(schemaAt(root, 'status.conditions')['maxItems'], MAX_STATUS_CONDITIONS);
            assert.equal(
                schemaAt(root, 'status.conditions[].message')['maxLength'],
                MAX_CONDITION_MESSAGE_LENGTH,
            );
            assert.equal(schemaAt(root, 'spec.network.ingress')['maxItems'], MAX_ALLOW_RULES);
            assert.equal(schemaAt(root, 'spec.network.egress')['maxItems'], MAX_ALLOW_RULES);
            assert.equal(schemaAt(root, 'spec.network.ingress[].from')['maxItems'], MAX_PEERS);
            assert.equal(schemaAt(root, 'spec.network.egress[].to')['maxItems'], MAX_PEERS);
            assert.equal(
                schemaAt(root, 'spec.network.ingress[].from[].profile')['maxLength'],
                MAX_PROFILE_NAME_LENGTH,
            );
            const nameRule = (root['x-kubernetes-validations'] as SchemaNode[])[0]!;
            assert.match(String(nameRule['rule']), new RegExp(`size\\(\\) <= ${MAX_PROFILE_NAME_LENGTH}$`));
        });

        it('accepts every typed fixture', () => {
            for (const p of validProfiles) assert.deepEqual(schemaErrors(validate, p), [], p.metadata.name);
        });

        it('exercises every field shape of the schema in the typed kitchen-sink fixture', () => {
            const touched = new Set<string>();
            instanceLeaves(root, kitchenSinkProfile, '', touched);
            const covered = new Set([...touched].map(shapeOf));
            const uncovered = [...schemaLeaves()].filter((p) => !covered.has(shapeOf(p)));
            assert.deepEqual(uncovered, []);
        });

        it('rejects a fixture field the schema does not know (a rename on one side only)', () => {
            const renamed = structuredClone(minimalProfile) as unknown as { spec: Record<string, unknown> };
            renamed.spec['namespace'] = renamed.spec['namespaces'];
            delete renamed.spec['namespaces'];
            const errors = schemaErrors(validate, renamed);
            assert.ok(
                errors.some((e) => e.includes('(namespace)')),
                errors.join('\n'),
            );
            assert.ok(
                errors.some((e) => e.includes("must have required property 'namespaces'")),
                errors.join('\n'),
            );
        });
    });

    describe('samples', () => {
        const samples = loadSamples();

        it('ships at least four profiles, all listed in the kustomization', () => {
            assert.ok(samples.length >= 4);
            const k = parse(readFileSync(join(SAMPLES_DIR, 'kustomization.yaml'), 'utf8')) as {
                resources: string[];
            };
            assert.deepEqual([...k.resources].sort(), sampleFiles());
        });

        it('every sample validates against the schema', () => {
            for (const { file, obj } of samples) assert.deepEqual(schemaErrors(validate, obj), [], file);
        });

        it('samples have unique names of at most 63 characters', () => {
            const names = samples.map(({ obj }) => (obj as { metadata: { name: string } }).metadata.name);
            assert.equal(new Set(names).size, names.length);
            for (const n of names) assert.ok(n.length <= MAX_PROFILE_NAME_LENGTH, n);
        });

        it('samples only reference ClusterRoles the operator may bind by default (view, edit, admin)', () => {
            const refs: string[] = [];
            for (const { obj } of samples) {
                const spec = (
                    obj as {
                        spec: { access?: { roleRef: RoleRef }[]; serviceAccounts?: { roleRef: RoleRef }[] };
                    }
                ).spec;
                for (const e of [...(spec.access ?? []), ...(spec.serviceAccounts ?? [])])
                    refs.push(`${e.roleRef.kind}/${e.roleRef.name}`);
            }
            assert.ok(refs.length > 0);
            for (const r of refs)
                assert.ok(['ClusterRole/view', 'ClusterRole/edit', 'ClusterRole/admin'].includes(r), r);
        });

        it('profile peers of the samples refer to sample profiles', () => {
            const names = new Set(
                samples.map(({ obj }) => (obj as { metadata: { name: string } }).metadata.name),
            );
            const text = sampleFiles()
                .map((f) => readFileSync(join(SAMPLES_DIR, f), 'utf8'))
                .join('\n');
            const refs = [...text.matchAll(/profile: ([a-z0-9-]+)/g)].map((m) => m[1]!);
            assert.ok(refs.length >= 4);
            for (const r of refs) assert.ok(names.has(r), r);
        });

        it('cover the baseline, cross-profile, ServiceAccount alignment and DryRun cases', () => {
            const specs = samples.map(({ obj }) => JSON.stringify(obj));
            assert.ok(specs.some((s) => s.includes('"defaultDeny"') && s.includes('"allowDNS":true')));
            assert.ok(specs.some((s) => s.includes('"profile":"shop-db"')));
            assert.ok(
                specs.some(
                    (s) =>
                        s.includes('"kind":"ServiceAccount"') &&
                        s.includes('"network"') &&
                        s.includes('"serviceAccounts"'),
                ),
            );
            assert.ok(specs.some((s) => s.includes('"mode":"DryRun"')));
        });
    });

    describe('offline structural validation', () => {
        const cases: { name: string; mutate: (spec: Record<string, unknown>) => void; path: string }[] = [
            { name: 'an unknown spec field', mutate: (s) => (s['bogus'] = 1), path: '/spec' },
            { name: 'a string priority', mutate: (s) => (s['priority'] = 'high'), path: '/spec/priority' },
            { name: 'an unknown mode', mutate: (s) => (s['mode'] = 'Audit'), path: '/spec/mode' },
            {
                name: 'an upper-case namespace name',
                mutate: (s) => (s['namespaces'] = { names: ['Team-A'] }),
                path: '/spec/namespaces/names/0',
            },
            {
                name: 'port 70000',
                mutate: (s) => (s['network'] = { ingress: [{ name: 'x', ports: [{ port: 70000 }] }] }),
                path: '/spec/network/ingress/0/ports/0/port',
            },
            {
                name: 'a named port with two hyphens in a row',
                mutate: (s) => (s['network'] = { ingress: [{ name: 'x', ports: [{ port: 'web--http' }] }] }),
                path: '/spec/network/ingress/0/ports/0/port',
            },
            {
                name: 'a port that is neither integer nor string',
                mutate: (s) => (s['network'] = { ingress: [{ name: 'x', ports: [{ port: 1.5 }] }] }),
                path: '/spec/network/ingress/0/ports/0/port',
            },
            {
                name: 'duplicate rule names',
                mutate: (s) => (s['network'] = { egress: [{ name: 'dup' }, { name: 'dup' }] }),
                path: '/spec/network/egress',
            },
            {
                name: 'a malformed CIDR',
                mutate: (s) => (s['network'] = { egress: [{ name: 'x', to: [{ cidr: '10.0.0.0/33' }] }] }),
                path: '/spec/network/egress/0/to/0/cidr',
            },
            {
                name: 'too many peers',
                mutate: (s) =>
                    (s['network'] = {
                        egress: [
                            {
                                name: 'x',
                                to: Array.from({ length: MAX_PEERS + 1 }, (_, i) => ({ profile: `p${i}` })),
                            },
                        ],
                    }),
                path: '/spec/network/egress/0/to',
            },
        ];
        for (const c of cases) {
            it(`rejects ${c.name} at ${c.path}`, () => {
                const p = structuredClone(minimalProfile) as unknown as { spec: Record<string, unknown> };
                c.mutate(p.spec);
                const errors = schemaErrors(validate, p);
                assert.ok(
                    errors.some((e) => e.startsWith(`${c.path}:`)),
                    `expected an error at ${c.path}, got:\n${errors.join('\n')}`,
                );
            });
        }
    });
});
