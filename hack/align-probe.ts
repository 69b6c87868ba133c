// Temporary probe: allocation of one alignment computation at N namespaces, shaped like the operator's caches.
import { benchProfile, desiredFor, namespaceNames, namespaceObject } from '../bench/fixture.ts';
import { computeAlignment, governanceFromLabels } from '../src/netpol/index.ts';
import { Sharer } from '../src/controller/trim.ts';

const N = Number(process.argv[2] ?? 10000);
const profile = benchProfile('bench', 'converge', 'uid');
const sharer = new Sharer();
const namespaces = namespaceNames('bench', N).map((n) => {
    const o = namespaceObject(n, 'r', 'converge');
    return { name: n, labels: { ...o.metadata!.labels!, 'isolation.dev/profile': 'bench' } };
});
const policies: any[] = [];
const roleBindings: any[] = [];
for (const ns of namespaces) {
    for (const o of desiredFor(ns.name, 'converge', profile) as any[]) {
        if (o.kind === 'NetworkPolicy') policies.push({ metadata: { name: o.metadata.name, namespace: ns.name }, spec: sharer.share(o.spec) });
        else roleBindings.push({ roleRef: sharer.share(o.roleRef), subjects: sharer.share(o.subjects), metadata: { name: o.metadata.name, namespace: ns.name, labels: sharer.share(o.metadata.labels) } });
    }
}
const gc = (globalThis as any).gc as () => void;
for (let i = 0; i < 3; i++) {
    gc();
    const before = process.memoryUsage();
    const t = performance.now();
    const r = computeAlignment({ profiles: [profile], governance: governanceFromLabels(namespaces), namespaces, policies, roleBindings });
    const ms = performance.now() - t;
    const after = process.memoryUsage();
    console.log(`run ${i}: ${ms.toFixed(0)} ms, gaps ${[...r.values()].flat().length}, heapUsed ${(before.heapUsed / 2 ** 20).toFixed(1)} -> ${(after.heapUsed / 2 ** 20).toFixed(1)} MiB, heapTotal ${(before.heapTotal / 2 ** 20).toFixed(1)} -> ${(after.heapTotal / 2 ** 20).toFixed(1)}`);
}
