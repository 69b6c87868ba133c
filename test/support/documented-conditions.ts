/**
 * Reads the condition table of docs/api.md, so tests can check that every condition the operator writes is
 * documented there with its status and reason (the table is the contract GitOps health checks are written against).
 */

/**
 * The condition table of docs/api.md: type → status → the reasons documented for it. Rows look like
 * `` | `Ready` | meaning | `True`: `Reconciled`. `False`: `ApplyFailed` (…), `DryRun` (…). | ``.
 */
export function documentedConditions(markdown: string): Map<string, Map<string, Set<string>>> {
    const table = markdown.slice(markdown.indexOf('Conditions, with every reason they carry'));
    const out = new Map<string, Map<string, Set<string>>>();
    for (const line of table.split('\n').slice(2)) {
        const cells = line.split('|').map((c) => c.trim());
        const type = /^`(\w+)`$/.exec(cells[1] ?? '')?.[1];
        if (!line.startsWith('|')) break;
        if (!type) continue;
        const byStatus = new Map<string, Set<string>>();
        for (const part of (cells[3] ?? '').split(/(?=`(?:True|False|Unknown)`:)/)) {
            const status = /^`(True|False|Unknown)`:/.exec(part)?.[1];
            if (!status) continue;
            // Reasons are the backticked words outside parentheses (explanations may quote other words).
            const reasons = part.slice(status.length + 3).replace(/\([^)]*\)/g, '');
            byStatus.set(status, new Set([...reasons.matchAll(/`(\w+)`/g)].map((m) => m[1]!)));
        }
        out.set(type, byStatus);
    }
    return out;
}
