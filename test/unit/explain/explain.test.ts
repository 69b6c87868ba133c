import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parseAllDocuments } from 'yaml';

import { explainCan } from '../../../src/explain/can.ts';
import { parseEndpoint, parseTarget } from '../../../src/explain/endpoints.ts';
import { explainMatrix } from '../../../src/explain/matrix.ts';
import { snapshotFromDocs } from '../../../src/explain/snapshot.ts';
import { explainWhoCanAct } from '../../../src/explain/who-can-act.ts';
import { DEFAULT_PLAN_SETTINGS } from '../../../src/plan/index.ts';

const run = promisify(execFile);
const REPO = join(import.meta.dirname, '..', '..', '..');
const NODE = join(REPO, 'node_modules', '.bin', 'node');
const SAMPLES = join(REPO, 'config', 'samples');
const FILES = [
    ...readdirSync(SAMPLES)
        .filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml')
        .map((f) => join(SAMPLES, f)),
    join(REPO, 'test', 'demo', 'namespaces.yaml'),
    join(REPO, 'test', 'unit', 'fixtures', 'explain-cluster.yaml'),
];

function snapshot() {
    const docs = FILES.flatMap((f) =>
        parseAllDocuments(readFileSync(f, 'utf8')).map((d) => d.toJS() as unknown),
    );
    return snapshotFromDocs(docs, { ...DEFAULT_PLAN_SETTINGS });
}

async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    try {
        const r = await run(NODE, [join(REPO, 'src', 'main.ts'), 'explain', ...args]);
        return { code: 0, ...r };
    } catch (err) {
        const e = err as { code: number; stdout: string; stderr: string };
        return { code: e.code, stdout: e.stdout, stderr: e.stderr };
    }
}

describe('explain: endpoint syntax', () => {
    it('parses pods, ServiceAccounts, namespaces and addresses, with ports and protocols', () => {
        assert.deepEqual(parseEndpoint('pod/a/b'), { kind: 'pod', namespace: 'a', name: 'b' });
        assert.deepEqual(parseEndpoint('a/b'), { kind: 'pod', namespace: 'a', name: 'b' });
        assert.deepEqual(parseEndpoint('sa/ci/deployer'), { kind: 'sa', namespace: 'ci', name: 'deployer' });
        assert.deepEqual(parseEndpoint('ns/shop'), { kind: 'ns', namespace: 'shop' });
        assert.deepEqual(parseTarget('ns/shop:8080'), {
            endpoint: { kind: 'ns', namespace: 'shop' },
            port: { port: 8080, protocol: 'TCP' },
        });
        assert.deepEqual(parseTarget('pod/a/b:metrics/udp').port, { port: 'metrics', protocol: 'UDP' });
        assert.deepEqual(parseTarget('ip/10.0.0.1:53/UDP'), {
            endpoint: { kind: 'ip', ip: '10.0.0.1' },
            port: { port: 53, protocol: 'UDP' },
        });
        assert.deepEqual(parseTarget('ip/[2001:db8::1]:443').endpoint, { kind: 'ip', ip: '2001:db8::1' });
        assert.deepEqual(parseTarget('ip/2001:db8::1'), {
            endpoint: { kind: 'ip', ip: '2001:db8::1' },
            port: {},
        });
        assert.throws(() => parseEndpoint('deployment/a/b'), /expected pod/);
        assert.throws(() => parseTarget('ns/a:70000'), /1-65535/);
        assert.throws(() => parseTarget('ns/a:80/ICMP'), /TCP, UDP or SCTP/);
    });
});

describe('explain: answers from files (the samples)', () => {
    it('can: web reaches api on 8080, resolving the named port of the target pod, and names the rules', () => {
        const a = explainCan(
            snapshot(),
            parseEndpoint('pod/shop-web/web-0'),
            parseEndpoint('pod/shop-api/api-0'),
            {
                port: 'http',
                protocol: 'TCP',
            },
        );
        assert.equal(a.verdict, 'allowed');
        const [pair] = a.pairs;
        assert.equal(pair!.ports, 'TCP 8080');
        assert.ok(
            pair!.egress!.rules.some((r) => r.policy === 'shop-web/isolation-egress-to-api' && r.matches),
        );
        assert.ok(
            pair!.ingress!.rules.some((r) => r.policy === 'shop-api/isolation-ingress-from-web' && r.matches),
        );
    });

    it('can: web does not reach the database, and the answer names the isolating policies', () => {
        const a = explainCan(
            snapshot(),
            parseEndpoint('pod/shop-web/web-0'),
            parseEndpoint('pod/shop-db/postgres-0'),
            {
                port: 5432,
                protocol: 'TCP',
            },
        );
        assert.equal(a.verdict, 'denied');
        assert.ok(a.pairs[0]!.egress!.isolatedBy.includes('shop-web/isolation-default-deny'));
        assert.deepEqual(a.pairs[0]!.egress!.rules, []);
    });

    it('can: the ingress controller reaches the web pod on its named port http only', () => {
        const s = snapshot();
        const from = parseEndpoint('pod/ingress-nginx/controller-0');
        const to = parseEndpoint('pod/shop-web/web-0');
        assert.equal(explainCan(s, from, to, { port: 8080, protocol: 'TCP' }).verdict, 'allowed');
        assert.equal(explainCan(s, from, to, { port: 8081, protocol: 'TCP' }).verdict, 'denied');
    });

    it('can: external addresses through ipBlock with except', () => {
        const s = snapshot();
        const api = parseEndpoint('pod/shop-api/api-0');
        assert.equal(
            explainCan(s, api, parseEndpoint('ip/203.0.113.10'), { port: 443, protocol: 'TCP' }).verdict,
            'allowed',
        );
        assert.equal(
            explainCan(s, api, parseEndpoint('ip/203.0.113.200'), { port: 443, protocol: 'TCP' }).verdict,
            'denied',
        );
    });

    it('who-can-act: lists every subject, generated or not, with the network path of ServiceAccounts', () => {
        const db = explainWhoCanAct(snapshot(), 'shop-db');
        assert.equal(db.governedBy, 'shop-db');
        const byHand = db.actors.find((x) => x.roleBinding === 'web-reads-db')!;
        assert.equal(byHand.managed, false);
        assert.equal(byHand.network?.path, false);
        assert.equal(byHand.network?.blockedBy, 'both');
        assert.equal(db.withoutPath, 1);
        const payments = explainWhoCanAct(snapshot(), 'payments-prod');
        const prom = payments.actors.find((x) => x.subject.name === 'prometheus')!;
        assert.equal(prom.network?.path, true);
        assert.equal(payments.withoutPath, 0);
    });

    it('matrix: the pods of a namespace and what crosses its border', () => {
        const m = explainMatrix(snapshot(), 'shop-api', { port: 8080, protocol: 'TCP' });
        const cell = (from: string, to: string) => m.cells.find((c) => c.from === from && c.to === to);
        assert.equal(cell('shop-web/web-0', 'shop-api/api-0')?.matches, true);
        assert.equal(cell('shop-api/api-0', 'shop-db/postgres-0')?.matches, false);
        assert.equal(cell('shop-api/api-0', 'shop-db/postgres-0')?.ports, 'TCP 5432');
        const egress = m.external.find((x) => x.workload === 'shop-api/api-0' && x.direction === 'Egress')!;
        assert.deepEqual(
            egress.blocks.map((b) => `${b.cidr} ${b.except.join()} ${b.ports}`),
            ['203.0.113.0/24 203.0.113.128/25 TCP 443', '2001:db8:100::/48  TCP 443'],
        );
    });
});

describe('explain: command line', function () {
    // Each test starts the CLI several times (a Node process each): allow for a busy machine.
    this.timeout(60_000);
    const f = FILES.flatMap((file) => ['-f', file]);

    it('gaps: names the grant without a path (exit 1); a profile without gaps exits 0; an unknown one 2', async () => {
        const [some, none, unknown] = await Promise.all([
            cli(['gaps', ...f]),
            cli(['gaps', 'payments', ...f]),
            cli(['gaps', 'nope', ...f]),
        ]);
        assert.equal(some.code, 1, some.stderr);
        assert.match(
            some.stdout,
            /shop-db: 1 gap\n {2}GrantWithoutPath: RoleBinding shop-db\/web-reads-db grants ServiceAccount shop-web\/web/,
        );
        assert.match(some.stdout, /^payments: aligned$/m);
        assert.equal(none.code, 0, none.stderr);
        assert.equal(unknown.code, 2);
        assert.match(unknown.stderr, /profile nope not found/);
    });

    it('exits 0 when allowed, 1 when denied, 2 on a usage error', async () => {
        const [ok, no, bad, missing] = await Promise.all([
            cli(['can', 'pod/shop-web/web-0', 'reach', 'pod/shop-api/api-0:8080', ...f]),
            cli(['can', 'pod/shop-web/web-0', 'reach', 'pod/shop-db/postgres-0:5432', ...f]),
            cli(['can', 'pod/shop-web/web-0', 'to', 'pod/shop-db/postgres-0', ...f]),
            cli(['can', 'pod/shop-web/nope', 'reach', 'ns/shop-db', ...f]),
        ]);
        assert.equal(ok.code, 0, ok.stderr);
        assert.match(ok.stdout, /^ALLOWED: pod\/shop-web\/web-0 -> pod\/shop-api\/api-0 on TCP\/8080/);
        assert.equal(no.code, 1);
        assert.match(no.stdout, /^DENIED/);
        assert.equal(bad.code, 2);
        assert.match(bad.stderr, /expected "can <source> reach <target>"/);
        assert.equal(missing.code, 2);
        assert.match(missing.stderr, /pod shop-web\/nope not found/);
    });

    it('prints JSON and YAML for tools, and who-can-act exits 1 when a grant has no path', async () => {
        const json = await cli(['who-can-act', 'shop-db', '-o', 'json', ...f]);
        assert.equal(json.code, 1);
        const answer = JSON.parse(json.stdout) as { withoutPath: number; actors: { roleBinding: string }[] };
        assert.equal(answer.withoutPath, 1);
        const yaml = await cli([
            'matrix',
            'shop-db',
            '-o',
            'yaml',
            '-f',
            SAMPLES, // a folder stands for its YAML files
            '-f',
            join(REPO, 'test', 'demo', 'namespaces.yaml'),
        ]);
        assert.equal(yaml.code, 0);
        assert.match(yaml.stdout, /^namespace: shop-db/);
    });
});
