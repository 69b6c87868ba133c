/**
 * The IsolationProfile CRD on a real API server: the samples are accepted through kubectl (server-side apply with
 * strict field validation) and through the client; a table of bad profiles is rejected, each with a message that
 * names the offending field (structural schema and every CEL rule, so the rules also prove to compile and fit
 * the cost budget); edge cases that must stay legal are accepted; and the status subresource keeps spec and status
 * apart (a spec change bumps metadata.generation, a status write does not). Profiles are cluster-scoped, so every
 * test uses unique names and deletes what it created; rejected and edge cases use server-side dry run.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ApiException, CustomObjectsApi, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { parse } from 'yaml';

import { GROUP, KIND, API_VERSION, PLURAL, VERSION } from '../../src/api/types.ts';
import type { IsolationProfile, IsolationProfileSpec } from '../../src/api/types.ts';
import { testEnv } from './env.ts';

const SAMPLES_DIR = fileURLToPath(new URL('../../config/samples/', import.meta.url));
const API = { group: GROUP, version: VERSION, plural: PLURAL };

type Json = Record<string, unknown>;

function sampleFiles(): string[] {
    return readdirSync(SAMPLES_DIR)
        .filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml')
        .sort();
}

function loadSample(file: string): IsolationProfile {
    return parse(readFileSync(join(SAMPLES_DIR, file), 'utf8')) as IsolationProfile;
}

function profile(name: string, spec: unknown): Json {
    return { apiVersion: API_VERSION, kind: KIND, metadata: { name }, spec };
}

const base = (): IsolationProfileSpec => ({ namespaces: { names: ['team-a'] } });

function withNetwork(network: unknown): unknown {
    return { ...base(), network };
}

function ingressPort(port: unknown): unknown {
    return withNetwork({ ingress: [{ name: 'r', ports: [port] }] });
}

function ingressPeer(peer: unknown): unknown {
    return withNetwork({ ingress: [{ name: 'r', from: [peer] }] });
}

function egressPeer(peer: unknown): unknown {
    return withNetwork({ egress: [{ name: 'r', to: [peer] }] });
}

function access(entry: unknown): unknown {
    return { ...base(), access: [entry] };
}

const editRole = { kind: 'ClusterRole', name: 'edit' };
const range = (n: number, f: (i: number) => unknown): unknown[] => Array.from({ length: n }, (_, i) => f(i));

/** The API server's message for a rejected call (fails the test when the call succeeds). */
async function rejection(call: Promise<unknown>): Promise<string> {
    try {
        await call;
    } catch (e) {
        if (!(e instanceof ApiException)) throw e;
        const raw: unknown = e.body;
        const body = (typeof raw === 'string' ? JSON.parse(raw) : raw) as { message?: string };
        return `${e.code} ${body.message ?? String(raw)}`;
    }
    return assert.fail('the API server accepted the profile');
}

interface BadCase {
    name: string;
    spec?: unknown;
    /** Replaces the whole object (for metadata and top-level cases). */
    object?: (name: string) => Json;
    expect: string[];
}

const badCases: BadCase[] = [
    // structure and types
    { name: 'no spec.namespaces', spec: { priority: 1 }, expect: ['spec.namespaces', 'Required value'] },
    {
        name: 'a string priority',
        spec: { ...base(), priority: 'high' },
        expect: ['spec.priority', 'integer'],
    },
    {
        name: 'a priority out of range',
        spec: { ...base(), priority: 2_000_000 },
        expect: ['spec.priority', 'less than or equal to 1000000'],
    },
    {
        name: 'an unknown mode',
        spec: { ...base(), mode: 'Audit' },
        expect: ['spec.mode', 'Unsupported value'],
    },
    { name: 'a string suspend', spec: { ...base(), suspend: 'yes' }, expect: ['spec.suspend', 'boolean'] },
    {
        name: 'an unknown deletionPolicy',
        spec: { ...base(), deletionPolicy: 'Keep' },
        expect: ['spec.deletionPolicy'],
    },
    {
        name: 'an unknown driftPolicy',
        spec: { ...base(), driftPolicy: 'Ignore' },
        expect: ['spec.driftPolicy'],
    },
    {
        name: 'an unknown field (strict field validation)',
        spec: withNetwork({ ingress: [{ name: 'r', source: [] }] }),
        expect: ['unknown field "spec.network.ingress[0].source"'],
    },
    {
        name: 'a profile name longer than 63 characters',
        object: () => profile(`p-${'x'.repeat(62)}`, base()),
        expect: ['metadata.name must be at most 63 characters'],
    },
    // namespace selection
    {
        name: 'an empty selection',
        spec: { namespaces: {} },
        expect: ['spec.namespaces', 'at least one of names or selector'],
    },
    {
        name: 'an empty names list and no selector',
        spec: { namespaces: { names: [], exclude: ['x'] } },
        expect: ['spec.namespaces', 'at least one of names or selector'],
    },
    {
        name: 'a non-DNS namespace name',
        spec: { namespaces: { names: ['Team_A'] } },
        expect: ['spec.namespaces.names[0]', 'should match'],
    },
    {
        name: 'a 64-character namespace name',
        spec: { namespaces: { names: ['a'.repeat(64)] } },
        expect: ['spec.namespaces.names[0]', 'Too long'],
    },
    {
        name: 'duplicate namespace names',
        spec: { namespaces: { names: ['a', 'a'] } },
        expect: ['spec.namespaces.names[1]', 'Duplicate value'],
    },
    {
        name: 'an oversize exclude list',
        spec: { namespaces: { names: ['a'], exclude: range(257, (i) => `ns-${i}`) } },
        expect: ['spec.namespaces.exclude', 'Too many'],
    },
    {
        name: 'isolation.dev/profile in the selector matchLabels',
        spec: { namespaces: { selector: { matchLabels: { 'isolation.dev/profile': 'other' } } } },
        expect: ['spec.namespaces.selector.matchLabels', 'isolation.dev/profile'],
    },
    {
        name: 'isolation.dev/profile in the selector matchExpressions',
        spec: {
            namespaces: {
                selector: { matchExpressions: [{ key: 'isolation.dev/profile', operator: 'Exists' }] },
            },
        },
        expect: ['spec.namespaces.selector.matchExpressions', 'isolation.dev/profile'],
    },
    {
        name: 'In without values',
        spec: { namespaces: { selector: { matchExpressions: [{ key: 'team', operator: 'In' }] } } },
        expect: ['spec.namespaces.selector.matchExpressions[0].values', 'non-empty when operator is In'],
    },
    {
        name: 'Exists with values',
        spec: {
            namespaces: {
                selector: { matchExpressions: [{ key: 'team', operator: 'Exists', values: ['a'] }] },
            },
        },
        expect: ['spec.namespaces.selector.matchExpressions[0].values', 'empty when operator is Exists'],
    },
    {
        name: 'an unknown selector operator',
        spec: {
            namespaces: {
                selector: { matchExpressions: [{ key: 'team', operator: 'Equals', values: ['a'] }] },
            },
        },
        expect: ['spec.namespaces.selector.matchExpressions[0].operator', 'Unsupported value'],
    },
    {
        name: 'an invalid matchLabels key',
        spec: { namespaces: { selector: { matchLabels: { 'bad key!': 'x' } } } },
        expect: ['spec.namespaces.selector.matchLabels', 'valid label keys'],
    },
    {
        name: 'an invalid matchLabels value',
        spec: { namespaces: { selector: { matchLabels: { team: 'not valid!' } } } },
        expect: ['spec.namespaces.selector.matchLabels', 'should match'],
    },
    // rules and ports
    {
        name: 'duplicate ingress rule names',
        spec: withNetwork({ ingress: [{ name: 'dup' }, { name: 'dup' }] }),
        expect: ['spec.network.ingress[1]', 'Duplicate value'],
    },
    {
        name: 'a non-DNS rule name',
        spec: withNetwork({ egress: [{ name: 'To_DB' }] }),
        expect: ['spec.network.egress[0].name', 'should match'],
    },
    {
        name: 'an oversize rule list',
        spec: withNetwork({ egress: range(65, (i) => ({ name: `r${i}` })) }),
        expect: ['spec.network.egress', 'Too many'],
    },
    {
        name: 'port 0',
        spec: ingressPort({ port: 0 }),
        expect: ['spec.network.ingress[0].ports[0].port', 'greater than or equal to 1'],
    },
    {
        name: 'port 70000',
        spec: ingressPort({ port: 70000 }),
        expect: ['spec.network.ingress[0].ports[0].port', 'less than or equal to 65535'],
    },
    {
        name: 'a named port with a double hyphen',
        spec: ingressPort({ port: 'web--http' }),
        expect: ['spec.network.ingress[0].ports[0].port', 'should match'],
    },
    {
        name: 'a named port without a letter',
        spec: ingressPort({ port: '80-80' }),
        expect: ['spec.network.ingress[0].ports[0].port', 'should match'],
    },
    {
        name: 'a named port longer than 15 characters',
        spec: ingressPort({ port: 'averyverylongname' }),
        expect: ['spec.network.ingress[0].ports[0].port', 'Too long'],
    },
    {
        name: 'endPort below port',
        spec: ingressPort({ port: 8080, endPort: 8000 }),
        expect: ['spec.network.ingress[0].ports[0].endPort', 'endPort must be greater than or equal to port'],
    },
    {
        name: 'endPort with a named port',
        spec: ingressPort({ port: 'http', endPort: 8000 }),
        expect: ['spec.network.ingress[0].ports[0].endPort', 'endPort requires a numeric port'],
    },
    {
        name: 'endPort without port',
        spec: ingressPort({ endPort: 8000 }),
        expect: ['spec.network.ingress[0].ports[0].endPort', 'endPort requires a numeric port'],
    },
    {
        name: 'an unknown protocol',
        spec: ingressPort({ protocol: 'ICMP', port: 1 }),
        expect: ['spec.network.ingress[0].ports[0].protocol', 'Unsupported value'],
    },
    {
        name: 'a named port towards cidr destinations only',
        spec: withNetwork({
            egress: [{ name: 'r', to: [{ cidr: '10.0.0.0/8' }], ports: [{ port: 'https' }] }],
        }),
        expect: ['spec.network.egress[0].ports', 'named port never matches a cidr destination'],
    },
    // peers
    {
        name: 'a peer with two kinds',
        spec: ingressPeer({ profile: 'web', cidr: '10.0.0.0/8' }),
        expect: [
            'spec.network.ingress[0].from[0]',
            'exactly one of profile, namespaces, serviceAccount or cidr',
        ],
    },
    {
        name: 'an empty peer',
        spec: ingressPeer({}),
        expect: [
            'spec.network.ingress[0].from[0]',
            'exactly one of profile, namespaces, serviceAccount or cidr',
        ],
    },
    {
        name: 'pods without namespaces',
        spec: ingressPeer({ profile: 'web', pods: { matchLabels: { app: 'x' } } }),
        expect: ['spec.network.ingress[0].from[0].pods', 'only valid together with namespaces'],
    },
    {
        name: 'a CIDR with host bits set',
        spec: egressPeer({ cidr: '10.0.0.1/8' }),
        expect: ['spec.network.egress[0].to[0].cidr', 'no host bits set'],
    },
    {
        name: 'an except CIDR with host bits set',
        spec: egressPeer({ cidr: '10.0.0.0/8', except: ['10.0.1.1/24'] }),
        expect: ['spec.network.egress[0].to[0].except[0]', 'no host bits set'],
    },
    {
        name: 'tenant on a peer that is not a profile peer',
        spec: ingressPeer({ cidr: '10.0.0.0/8', tenant: 'shop' }),
        expect: ['spec.network.ingress[0].from[0].tenant', 'only valid together with profile'],
    },
    {
        name: 'a tenant name that is not a DNS-1123 label',
        spec: { ...base(), tenant: 'Shop_Team' },
        expect: ['spec.tenant', 'should match'],
    },
    {
        name: 'a cluster-wide profile selecting by a label anyone may set',
        spec: { namespaces: { selector: { matchLabels: { team: 'payments' } } } },
        expect: ['spec.namespaces.selector', 'may select namespaces only by isolation.dev/ labels'],
    },
    {
        name: 'a cluster-wide profile selecting by an expression on a label anyone may set',
        spec: { namespaces: { selector: { matchExpressions: [{ key: 'env', operator: 'Exists' }] } } },
        expect: ['spec.namespaces.selector', 'may select namespaces only by isolation.dev/ labels'],
    },
    {
        name: 'a serviceAccounts selector on a label outside isolation.dev/',
        spec: {
            ...base(),
            serviceAccounts: [
                {
                    name: 'sa',
                    selector: { matchLabels: { role: 'reader' } },
                    roleRef: { kind: 'ClusterRole', name: 'view' },
                },
            ],
        },
        expect: ['spec.serviceAccounts[0].selector', 'selector keys must be isolation.dev/ labels'],
    },
    {
        name: 'except without cidr',
        spec: ingressPeer({ profile: 'web', except: ['10.0.0.0/24'] }),
        expect: ['spec.network.ingress[0].from[0].except', 'only valid together with cidr'],
    },
    {
        name: 'a peer namespaces without names or selector',
        spec: ingressPeer({ namespaces: {} }),
        expect: ['spec.network.ingress[0].from[0].namespaces', 'at least one of names or selector'],
    },
    {
        name: 'a non-DNS profile peer',
        spec: ingressPeer({ profile: 'Web' }),
        expect: ['spec.network.ingress[0].from[0].profile', 'should match'],
    },
    {
        name: 'a serviceAccount peer without name',
        spec: ingressPeer({ serviceAccount: { namespace: 'ci' } }),
        expect: ['spec.network.ingress[0].from[0].serviceAccount.name', 'Required value'],
    },
    {
        name: 'too many peers',
        spec: withNetwork({ ingress: [{ name: 'r', from: range(17, (i) => ({ profile: `p${i}` })) }] }),
        expect: ['spec.network.ingress[0].from', 'Too many'],
    },
    {
        name: 'a CIDR prefix out of range',
        spec: egressPeer({ cidr: '10.0.0.0/33' }),
        expect: ['spec.network.egress[0].to[0].cidr'],
    },
    {
        name: 'a CIDR with an impossible octet',
        spec: egressPeer({ cidr: '10.0.0.300/24' }),
        expect: ['spec.network.egress[0].to[0].cidr', 'must be a valid IPv4 or IPv6 CIDR'],
    },
    {
        name: 'an IPv6 CIDR that does not parse',
        spec: egressPeer({ cidr: 'fd00:::1/64' }),
        expect: ['spec.network.egress[0].to[0].cidr', 'must be a valid IPv4 or IPv6 CIDR'],
    },
    {
        name: 'an except outside its cidr',
        spec: egressPeer({ cidr: '10.20.0.0/16', except: ['10.30.1.0/24'] }),
        expect: ['spec.network.egress[0].to[0].except', 'strict subset of cidr'],
    },
    {
        name: 'an except equal to its cidr',
        spec: egressPeer({ cidr: '10.20.0.0/16', except: ['10.20.0.0/16'] }),
        expect: ['spec.network.egress[0].to[0].except', 'strict subset of cidr'],
    },
    {
        name: 'an IPv6 except outside its cidr',
        spec: egressPeer({ cidr: 'fd00:10::/32', except: ['fd00:11::/48'] }),
        expect: ['spec.network.egress[0].to[0].except', 'strict subset of cidr'],
    },
    {
        name: 'an except of the other IP family',
        spec: egressPeer({ cidr: '10.20.0.0/16', except: ['fd00::/64'] }),
        expect: ['spec.network.egress[0].to[0].except', 'same IP family'],
    },
    {
        name: 'an except that is not a CIDR',
        spec: egressPeer({ cidr: '10.20.0.0/16', except: ['10.20.1.0'] }),
        expect: ['spec.network.egress[0].to[0].except[0]'],
    },
    // access and serviceAccounts
    {
        name: 'duplicate access names',
        spec: {
            ...base(),
            access: range(2, () => ({
                name: 'devs',
                roleRef: editRole,
                subjects: [{ kind: 'Group', name: 'g' }],
            })),
        },
        expect: ['spec.access[1]', 'Duplicate value'],
    },
    {
        name: 'an access entry without subjects',
        spec: access({ name: 'devs', roleRef: editRole, subjects: [] }),
        expect: ['spec.access[0].subjects', 'at least 1 items'],
    },
    {
        name: 'a ServiceAccount subject without namespace',
        spec: access({
            name: 'ci',
            roleRef: editRole,
            subjects: [{ kind: 'ServiceAccount', name: 'deployer' }],
        }),
        expect: ['spec.access[0].subjects[0].namespace', 'namespace is required for ServiceAccount subjects'],
    },
    {
        name: 'a User subject with a namespace',
        spec: access({
            name: 'u',
            roleRef: editRole,
            subjects: [{ kind: 'User', name: 'alice', namespace: 'ci' }],
        }),
        expect: ['spec.access[0].subjects[0].namespace', 'only valid for ServiceAccount subjects'],
    },
    {
        name: 'a ServiceAccount subject with a non-DNS name',
        spec: access({
            name: 'ci',
            roleRef: editRole,
            subjects: [{ kind: 'ServiceAccount', namespace: 'ci', name: 'Deployer_1' }],
        }),
        expect: ['spec.access[0].subjects[0].name', 'DNS-1123 subdomain'],
    },
    {
        name: 'an oversize subject name',
        spec: access({ name: 'u', roleRef: editRole, subjects: [{ kind: 'User', name: 'u'.repeat(254) }] }),
        expect: ['spec.access[0].subjects[0].name', 'Too long'],
    },
    {
        name: 'an unknown subject kind',
        spec: access({ name: 'u', roleRef: editRole, subjects: [{ kind: 'Robot', name: 'r2' }] }),
        expect: ['spec.access[0].subjects[0].kind', 'Unsupported value'],
    },
    {
        name: 'access network without a ServiceAccount subject',
        spec: access({
            name: 'devs',
            roleRef: editRole,
            subjects: [{ kind: 'Group', name: 'g' }],
            network: { ports: [{ port: 80 }] },
        }),
        expect: ['spec.access[0].network', 'at least one ServiceAccount subject'],
    },
    {
        name: 'an unknown roleRef kind',
        spec: access({
            name: 'devs',
            roleRef: { kind: 'Role2', name: 'edit' },
            subjects: [{ kind: 'Group', name: 'g' }],
        }),
        expect: ['spec.access[0].roleRef.kind', 'Unsupported value'],
    },
    {
        name: 'a roleRef name of ".."',
        spec: access({
            name: 'devs',
            roleRef: { kind: 'ClusterRole', name: '..' },
            subjects: [{ kind: 'Group', name: 'g' }],
        }),
        expect: ['spec.access[0].roleRef.name', 'may not be'],
    },
    {
        name: 'a roleRef name with a slash',
        spec: access({
            name: 'devs',
            roleRef: { kind: 'ClusterRole', name: 'a/b' },
            subjects: [{ kind: 'Group', name: 'g' }],
        }),
        expect: ['spec.access[0].roleRef.name', 'should match'],
    },
    {
        name: 'a serviceAccounts entry with both selector and names',
        spec: { ...base(), serviceAccounts: [{ name: 'sa', selector: {}, names: ['a'], roleRef: editRole }] },
        expect: ['spec.serviceAccounts[0]', 'exactly one of selector or names'],
    },
    {
        name: 'a serviceAccounts entry with neither selector nor names',
        spec: { ...base(), serviceAccounts: [{ name: 'sa', roleRef: editRole }] },
        expect: ['spec.serviceAccounts[0]', 'exactly one of selector or names'],
    },
    {
        name: 'a serviceAccounts entry without roleRef',
        spec: { ...base(), serviceAccounts: [{ name: 'sa', names: ['a'] }] },
        expect: ['spec.serviceAccounts[0].roleRef', 'Required value'],
    },
];

/** Profiles at the edge of the rules that must stay legal. */
const edgeCases: { name: string; spec: unknown }[] = [
    { name: 'a selector-only selection with {} (every namespace)', spec: { namespaces: { selector: {} } } },
    {
        name: 'names and selector together',
        spec: { namespaces: { names: ['a'], selector: { matchLabels: { 'isolation.dev/team': 'x' } } } },
    },
    {
        name: 'a tenant profile selecting by any label (selection stays inside the tenant)',
        spec: { tenant: 'shop', namespaces: { selector: { matchLabels: { team: 'x' } } } },
    },
    { name: 'a profile peer of another tenant', spec: ingressPeer({ profile: 'web', tenant: 'shop' }) },
    { name: 'a profile peer of no tenant (empty)', spec: ingressPeer({ profile: 'web', tenant: '' }) },
    {
        name: 'an IPv6 network address',
        spec: egressPeer({ cidr: 'fd00:10::/32', except: ['fd00:10:1::/48'] }),
    },
    { name: 'endPort equal to port', spec: ingressPort({ port: 8080, endPort: 8080 }) },
    { name: 'the extreme ports 1 and 65535', spec: ingressPort({ port: 1, endPort: 65535 }) },
    { name: 'a named port starting with digits', spec: ingressPort({ port: '8080-tcp' }) },
    { name: 'a protocol-only port entry', spec: ingressPort({ protocol: 'UDP' }) },
    {
        name: 'an IPv6 cidr with an IPv6 except inside',
        spec: egressPeer({ cidr: 'fd00:10::/32', except: ['fd00:10:1::/48'] }),
    },
    {
        name: 'the whole IPv4 internet minus private ranges',
        spec: egressPeer({ cidr: '0.0.0.0/0', except: ['10.0.0.0/8', '192.168.0.0/16'] }),
    },
    {
        name: 'a named port to a mix of cidr and profile peers',
        spec: withNetwork({
            egress: [
                { name: 'r', to: [{ cidr: '10.0.0.0/8' }, { profile: 'web' }], ports: [{ port: 'https' }] },
            ],
        }),
    },
    {
        name: 'a namespaces peer using the profile label',
        spec: ingressPeer({ namespaces: { selector: { matchLabels: { 'isolation.dev/profile': 'web' } } } }),
    },
    {
        name: 'an empty namespaces selector peer with pods (pods anywhere)',
        spec: ingressPeer({ namespaces: { selector: {} }, pods: { matchLabels: { app: 'x' } } }),
    },
    {
        name: 'a rule with no peers and no ports (allow all)',
        spec: withNetwork({ ingress: [{ name: 'all' }] }),
    },
    {
        name: 'NotIn and DoesNotExist expressions',
        spec: {
            tenant: 'shop',
            namespaces: {
                selector: {
                    matchExpressions: [
                        { key: 'example.com/tier', operator: 'NotIn', values: ['x'] },
                        { key: 'legacy', operator: 'DoesNotExist' },
                    ],
                },
            },
        },
    },
    {
        name: 'a User subject with an e-mail name',
        spec: access({
            name: 'u',
            roleRef: editRole,
            subjects: [{ kind: 'User', name: 'alice@example.com' }],
        }),
    },
    { name: 'a negative priority', spec: { ...base(), priority: -100 } },
    {
        name: 'every list at its maximum size',
        spec: {
            namespaces: { names: range(256, (i) => `ns-${i}`), exclude: range(256, (i) => `ex-${i}`) },
            network: {
                ingress: range(64, (i) => ({
                    name: `in-${i}`,
                    from: range(16, (j) => ({
                        cidr: `10.${j}.0.0/16`,
                        except: range(32, (k) => `10.${j}.${k}.0/24`),
                    })),
                    ports: range(32, (k) => ({ port: 1000 + k })),
                })),
            },
        },
    },
];

describe('IsolationProfile CRD on the API server', function () {
    this.timeout(120_000);
    const created: string[] = [];

    function client(): CustomObjectsApi {
        return testEnv().kc().makeApiClient(CustomObjectsApi);
    }

    after(async () => {
        const api = client();
        for (const name of created) {
            await api.deleteClusterCustomObject({ ...API, name }).catch(() => undefined);
        }
    });

    describe('samples', () => {
        for (const file of sampleFiles()) {
            it(`accepts ${file} through kubectl apply --server-side --validate=strict`, async () => {
                const env = testEnv();
                const obj = loadSample(file);
                const name = env.uniqueName(`kubectl-${obj.metadata.name}`.slice(0, 50));
                created.push(name);
                const res = await env.kubectl(['apply', '--server-side', '--validate=strict', '-f', '-'], {
                    input: JSON.stringify({ ...obj, metadata: { ...obj.metadata, name } }),
                });
                assert.equal(res.code, 0, res.stderr);
                assert.match(res.stdout, /serverside-applied/);
                const got = (await client().getClusterCustomObject({ ...API, name })) as IsolationProfile;
                assert.deepEqual(got.spec, obj.spec, 'the API server neither pruned nor defaulted spec');
                assert.equal(got.metadata.generation, 1);
            });

            it(`accepts ${file} through the client with strict field validation`, async () => {
                const env = testEnv();
                const obj = loadSample(file);
                const name = env.uniqueName(`client-${obj.metadata.name}`.slice(0, 50));
                created.push(name);
                const res = (await client().createClusterCustomObject({
                    ...API,
                    body: { ...obj, metadata: { name } },
                    fieldValidation: 'Strict',
                })) as IsolationProfile;
                assert.equal(res.metadata.name, name);
                assert.deepEqual(res.spec, obj.spec);
            });
        }

        it('applies the samples kustomization (server-side dry run)', async () => {
            const res = await testEnv().kubectl([
                'apply', '--server-side', '--validate=strict', '--dry-run=server', '-k', SAMPLES_DIR,
            ]); // prettier-ignore
            assert.equal(res.code, 0, res.stderr);
            assert.equal(
                res.stdout.match(/serverside-applied \(server dry run\)/g)?.length,
                sampleFiles().length,
            );
        });
    });

    describe('rejects bad profiles with a message naming the field', () => {
        it('has a table of at least 30 bad profiles', () => {
            assert.ok(badCases.length >= 30, String(badCases.length));
        });

        for (const c of badCases) {
            it(`rejects ${c.name}`, async () => {
                const name = testEnv().uniqueName('bad');
                const body = c.object ? c.object(name) : profile(name, c.spec);
                const msg = await rejection(
                    client().createClusterCustomObject({
                        ...API,
                        body,
                        fieldValidation: 'Strict',
                        dryRun: 'All',
                    }),
                );
                assert.match(msg, /^(422|400) /, msg);
                for (const fragment of c.expect)
                    assert.ok(msg.includes(fragment), `expected "${fragment}" in: ${msg}`);
            });
        }

        it('rejects an unknown field through kubectl --validate=strict, naming the field', async () => {
            const env = testEnv();
            const res = await env.kubectl(
                ['apply', '--server-side', '--validate=strict', '--dry-run=server', '-f', '-'],
                {
                    input: JSON.stringify(profile(env.uniqueName('bad'), { ...base(), netwerk: {} })),
                },
            );
            assert.notEqual(res.code, 0);
            // Server-side apply reports it while building the typed patch; create/update say "unknown field".
            assert.match(
                res.stderr,
                /\.spec\.netwerk: field not declared in schema|unknown field "spec\.netwerk"/,
            );
        });

        it('rejects a CEL violation through kubectl, naming the field', async () => {
            const env = testEnv();
            const res = await env.kubectl(
                ['apply', '--server-side', '--validate=strict', '--dry-run=server', '-f', '-'],
                {
                    input: JSON.stringify(
                        profile(env.uniqueName('bad'), ingressPort({ port: 9000, endPort: 80 })),
                    ),
                },
            );
            assert.notEqual(res.code, 0);
            assert.match(res.stderr, /spec\.network\.ingress\[0\]\.ports\[0\]\.endPort/);
            assert.match(res.stderr, /endPort must be greater than or equal to port/);
        });
    });

    describe('accepts the edge cases the rules must allow', () => {
        for (const c of edgeCases) {
            it(`accepts ${c.name}`, async () => {
                const name = testEnv().uniqueName('edge');
                const res = (await client().createClusterCustomObject({
                    ...API,
                    body: profile(name, c.spec),
                    fieldValidation: 'Strict',
                    dryRun: 'All',
                })) as IsolationProfile;
                assert.deepEqual(res.spec, c.spec);
            });
        }
    });

    describe('status subresource', () => {
        const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
        const readyStatus = {
            observedGeneration: 1,
            mode: 'Enforce',
            conditions: [
                {
                    type: 'Ready',
                    status: 'True',
                    reason: 'Reconciled',
                    message: '3/3 namespaces enforced',
                    lastTransitionTime: '2026-11-26T00:00:00Z',
                    observedGeneration: 1,
                },
            ],
            namespaces: { selected: 3, enforced: 3, conflicted: 0, failed: 0 },
            objects: { networkPolicies: 9, roleBindings: 3 },
        };

        it('keeps spec and status apart: status writes leave generation alone, spec writes bump it', async () => {
            const env = testEnv();
            const api = client();
            const name = env.uniqueName('status');
            created.push(name);
            const first = (await api.createClusterCustomObject({
                ...API,
                body: profile(name, base()),
            })) as IsolationProfile;
            assert.equal(first.metadata.generation, 1);
            assert.equal(first.status, undefined);

            const withStatus = (await api.patchClusterCustomObjectStatus(
                { ...API, name, body: { status: readyStatus } },
                mergePatch,
            )) as IsolationProfile;
            assert.equal(withStatus.metadata.generation, 1, 'a status write does not bump generation');
            assert.deepEqual(withStatus.status, readyStatus);

            const ignored = (await api.patchClusterCustomObject(
                { ...API, name, body: { status: { observedGeneration: 99 } } },
                mergePatch,
            )) as IsolationProfile;
            assert.equal(ignored.status?.observedGeneration, 1, 'status is ignored on the main resource');
            assert.equal(ignored.metadata.generation, 1);

            const specChanged = (await api.patchClusterCustomObject(
                { ...API, name, body: { spec: { priority: 7 } } },
                mergePatch,
            )) as IsolationProfile;
            assert.equal(specChanged.metadata.generation, 2, 'a spec write bumps generation');
            assert.equal(specChanged.spec.priority, 7);
            assert.deepEqual(specChanged.status, readyStatus, 'a spec write keeps status');

            const specIgnored = (await api.patchClusterCustomObjectStatus(
                { ...API, name, body: { spec: { priority: 8 } } },
                mergePatch,
            )) as IsolationProfile;
            assert.equal(specIgnored.spec.priority, 7, 'spec is ignored on the status subresource');
            assert.equal(specIgnored.metadata.generation, 2);
        });

        it('prints Ready, Namespaces and Mode from status, and answers to the short name and category', async () => {
            const env = testEnv();
            const api = client();
            const name = env.uniqueName('columns');
            created.push(name);
            await api.createClusterCustomObject({ ...API, body: profile(name, base()) });
            await api.patchClusterCustomObjectStatus(
                { ...API, name, body: { status: readyStatus } },
                mergePatch,
            );
            for (const resource of ['iso', 'isolation', 'isolationprofiles.isolation.dev']) {
                const res = await env.kubectl(['get', resource, name, '--no-headers=false']);
                assert.equal(res.code, 0, res.stderr);
                const [header, row] = res.stdout.trim().split('\n');
                assert.match(header!, /^NAME\s+READY\s+NAMESPACES\s+MODE\s+AGE$/);
                assert.match(row!, new RegExp(`^${name}\\s+True\\s+3\\s+Enforce\\s+\\S+$`));
            }
            const wide = await env.kubectl(['get', 'iso', name, '-o', 'wide']);
            assert.match(wide.stdout, /SELECTED\s+CONFLICTED\s+PRIORITY\s+SUSPENDED\s+REASON/);
            assert.match(wide.stdout, /Reconciled/);
        });

        it('validates status too', async () => {
            const env = testEnv();
            const api = client();
            const name = env.uniqueName('badstatus');
            created.push(name);
            await api.createClusterCustomObject({ ...API, body: profile(name, base()) });
            const badCondition = await rejection(
                api.patchClusterCustomObjectStatus(
                    {
                        ...API,
                        name,
                        body: { status: { conditions: [{ ...readyStatus.conditions[0], status: 'Maybe' }] } },
                    },
                    mergePatch,
                ),
            );
            assert.match(badCondition, /status\.conditions\[0\]\.status/);
            const tooMany = await rejection(
                api.patchClusterCustomObjectStatus(
                    {
                        ...API,
                        name,
                        body: {
                            status: {
                                conflicts: range(101, (i) => ({ namespace: `ns-${i}`, governedBy: 'other' })),
                            },
                        },
                    },
                    mergePatch,
                ),
            );
            assert.match(tooMany, /status\.conflicts/);
            assert.match(tooMany, /Too many/);
        });
    });
});
