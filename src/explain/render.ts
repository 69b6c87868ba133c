/**
 * Plain-text rendering of `explain` answers (JSON and YAML print the answer objects as they are). Text is for
 * people: a verdict line first, then the reasons, policies named `<namespace>/<name>` so they can be fetched with
 * `kubectl get networkpolicy -n <namespace> <name>`.
 */
import type { CanAnswer, SideAnswer } from './can.ts';
import type { GapsAnswer } from './gaps.ts';
import type { MatrixAnswer } from './matrix.ts';
import type { WhoCanActAnswer } from './who-can-act.ts';

function table(rows: string[][]): string {
    const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
    return rows
        .map((r) =>
            r
                .map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!)))
                .join('  ')
                .trimEnd(),
        )
        .join('\n');
}

function portText(a: { port?: number | string; protocol?: string }): string {
    if (a.port === undefined) return a.protocol ? ` on any ${a.protocol} port` : '';
    return ` on ${a.protocol ?? 'TCP'}/${a.port}`;
}

function sideLines(s: SideAnswer): string[] {
    const dir = s.direction === 'Egress' ? 'egress ' : 'ingress';
    if (!s.isolated)
        return [`    ${dir} of ${s.subject}: not isolated (no NetworkPolicy selects it for ${s.direction})`];
    const lines = [`    ${dir} of ${s.subject}: isolated by ${s.isolatedBy.join(', ')}`];
    if (s.rules.length === 0) lines.push('      no rule of these policies matches the peer');
    for (const r of s.rules)
        lines.push(`      ${r.matches ? '+' : '-'} ${r.policy} rule ${r.rule} allows ${r.allows}`);
    if (!s.allows && s.rules.length > 0) lines.push('      none of them covers the port asked about');
    return lines;
}

export function renderCan(a: CanAnswer): string {
    const verdict = { allowed: 'ALLOWED', partly: 'PARTLY ALLOWED', denied: 'DENIED' }[a.verdict];
    const count =
        a.pairs.length > 1 ? ` (${a.pairs.filter((p) => p.allowed).length} of ${a.pairs.length} pairs)` : '';
    const lines = [`${verdict}: ${a.from} -> ${a.to}${portText(a)}${count}`];
    for (const p of a.pairs) {
        lines.push(
            `  ${p.from} -> ${p.to}: ${p.allowed ? 'allowed' : 'denied'}${p.loopback ? ' (a pod may always reach itself)' : `; may use ${p.ports}`}`,
        );
        if (p.egress) lines.push(...sideLines(p.egress));
        if (p.ingress) lines.push(...sideLines(p.ingress));
    }
    return lines.join('\n') + '\n';
}

function short(cell: { ports: string; matches?: boolean }): string {
    if (cell.matches !== undefined) return cell.matches ? 'yes' : 'no';
    if (cell.ports === 'all ports') return 'all';
    if (cell.ports === 'nothing') return '-';
    return cell.ports;
}

export function renderMatrix(a: MatrixAnswer): string {
    const local = a.endpoints.filter((e) => e.startsWith(`${a.namespace}/`));
    const at = (from: string, to: string) => a.cells.find((c) => c.from === from && c.to === to);
    const header = `Connectivity of namespace ${a.namespace}${portText(a)} (rows: from, columns: to; "-" = denied)`;
    const rows: string[][] = [['FROM \\ TO', ...local]];
    for (const from of local) rows.push([from, ...local.map((to) => short(at(from, to)!))]);
    const lines = [header, '', table(rows)];
    const others = a.endpoints.filter((e) => !e.startsWith(`${a.namespace}/`));
    for (const dir of ['from', 'to'] as const) {
        const extra: string[][] = [];
        const open = new Set<string>();
        const all = new Set<string>();
        for (const other of others) {
            const ns = other.split('/')[0]!;
            all.add(ns);
            const cells = local.map((l) => (dir === 'from' ? at(other, l)! : at(l, other)!));
            if (cells.every((c) => short(c) === '-' || short(c) === 'no')) continue;
            open.add(ns);
            extra.push([other, ...cells.map(short)]);
        }
        lines.push('', dir === 'from' ? 'Ingress from other namespaces:' : 'Egress to other namespaces:');
        if (extra.length > 0)
            lines.push(table([[dir === 'from' ? 'FROM \\ TO' : 'TO \\ FROM', ...local], ...extra]));
        const denied = [...all].filter((ns) => !open.has(ns));
        if (denied.length > 0) lines.push(`denied ${dir} every pod of: ${denied.join(', ')}`);
    }
    lines.push('', 'Addresses outside the pod network (ipBlock peers):');
    for (const x of a.external) {
        const dir = x.direction === 'Egress' ? 'egress to' : 'ingress from';
        const what = !x.isolated
            ? 'any address (not isolated)'
            : x.blocks.length === 0
              ? 'none'
              : x.blocks
                    .map(
                        (b) =>
                            `${b.cidr}${b.except.length ? ` except ${b.except.join(', ')}` : ''}: ${b.ports} (${b.policy})`,
                    )
                    .join('; ');
        lines.push(`  ${x.workload} ${dir}: ${what}`);
    }
    return lines.join('\n') + '\n';
}

function blockedText(n: { blockedBy?: string; blockingPolicies: string[] }): string {
    const by = n.blockingPolicies.length > 0 ? n.blockingPolicies.join(', ') : 'the policies in force';
    switch (n.blockedBy) {
        case 'egress':
            return `egress denied (${by})`;
        case 'ingress':
            return `ingress denied (${by})`;
        case 'ports':
            return `egress and ingress allow no common port (${by})`;
        default:
            return `egress and ingress denied (${by})`;
    }
}

export function renderWhoCanAct(a: WhoCanActAnswer): string {
    const head = `Namespace ${a.namespace}${a.governedBy ? ` (governed by profile ${a.governedBy})` : ' (not governed)'}`;
    if (a.actors.length === 0) return `${head}\nno RoleBinding grants anything here\n`;
    const rows = [['ROLEBINDING', 'ROLE', 'SUBJECT', 'NETWORK PATH TO THE PODS']];
    for (const x of a.actors) {
        const subject = `${x.subject.kind} ${x.subject.namespace ? `${x.subject.namespace}/` : ''}${x.subject.name}`;
        let net = 'n/a (not a workload)';
        if (x.network) net = x.network.path ? `yes: ${x.network.ports}` : `NO: ${blockedText(x.network)}`;
        rows.push([`${x.roleBinding}${x.managed ? '' : ' (not managed)'}`, x.role, subject, net]);
    }
    const tail =
        a.withoutPath > 0
            ? `\n${a.withoutPath} ServiceAccount subject(s) have rights here but no network path to the pods\n`
            : '\n';
    return `${head}\n${table(rows)}${tail}`;
}

export function renderGaps(a: GapsAnswer): string {
    const lines: string[] = [];
    for (const p of a.profiles) {
        if (p.gaps.length === 0) {
            lines.push(`${p.profile}: aligned`);
            continue;
        }
        lines.push(`${p.profile}: ${p.gaps.length} gap${p.gaps.length === 1 ? '' : 's'}`);
        for (const g of p.gaps) {
            lines.push(`  ${g.kind}: ${g.message}`);
            if (g.blockingPolicies.length > 0) lines.push(`    decided by: ${g.blockingPolicies.join(', ')}`);
        }
    }
    if (a.profiles.length === 0) lines.push('no IsolationProfile found');
    return lines.join('\n') + '\n';
}
