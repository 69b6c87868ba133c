/**
 * `explain gaps [<profile>]`: the alignment gaps of every profile (or one), as the operator computes them — access
 * grants to ServiceAccounts without a network path, and one-sided allows between profiles. The same pure
 * `computeAlignment` the operator reports from, over the same snapshot `can` uses.
 */
import type { AlignmentGap, EvaluatorOptions } from '../netpol/index.ts';
import { computeAlignment } from '../netpol/index.ts';
import type { Snapshot } from './snapshot.ts';
import { compareStrings } from '../plan/order.ts';

export interface GapsAnswer {
    profiles: { profile: string; gaps: AlignmentGap[] }[];
    total: number;
}

export function explainGaps(
    s: Snapshot,
    profile: string | undefined,
    options: EvaluatorOptions = {},
): GapsAnswer {
    const all = computeAlignment({
        profiles: s.profiles,
        governance: s.governance,
        namespaces: s.namespaces,
        policies: s.policies,
        roleBindings: s.roleBindings,
        pods: s.pods,
        options,
    });
    if (profile !== undefined && !all.has(profile)) throw new Error(`profile ${profile} not found`);
    const profiles = [...all.entries()]
        .filter(([name]) => profile === undefined || name === profile)
        .sort(([a], [b]) => compareStrings(a, b))
        .map(([name, gaps]) => ({ profile: name, gaps }));
    return { profiles, total: profiles.reduce((n, p) => n + p.gaps.length, 0) };
}
