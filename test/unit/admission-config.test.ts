/**
 * The values that config/admission/operator-bounds.yaml repeats from elsewhere (its CONFIGURE variables) must stay
 * equal to their sources: the bindable ClusterRoles of config/rbac/bindable_roles.yaml and of the operator's
 * defaults, and the never-govern set of the planner plus the operator's namespace. A drift would either refuse the
 * operator's legitimate writes or let its token write where the operator never would.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';

import { DEFAULT_SETTINGS } from '../../src/controller/settings.ts';
import { DEFAULT_PLAN_SETTINGS, neverGovernSet } from '../../src/plan/index.ts';

const REPO = join(import.meta.dirname, '..', '..');

interface Doc {
    kind?: string;
    metadata?: { name?: string };
    rules?: { resources?: string[]; verbs?: string[]; resourceNames?: string[] }[];
    spec?: { variables?: { name: string; expression: string }[] };
}

function docs(path: string): Doc[] {
    return parseAllDocuments(readFileSync(join(REPO, path), 'utf8')).map((d) => d.toJSON() as Doc);
}

/** A CEL list literal of strings, e.g. "['a', 'b']". */
function celStrings(expression: string): string[] {
    return [...expression.matchAll(/'([^']*)'/g)].map((m) => m[1] as string);
}

function boundsVariable(name: string): string[] {
    const policy = docs('config/admission/operator-bounds.yaml').find(
        (d) => d.kind === 'ValidatingAdmissionPolicy',
    );
    const v = policy?.spec?.variables?.find((x) => x.name === name);
    assert.ok(v, `variable ${name} in operator-bounds.yaml`);
    return celStrings(v.expression).sort();
}

describe('config/admission/operator-bounds.yaml', () => {
    it('lists exactly the ClusterRoles config/rbac lets the operator bind, and the operator defaults', () => {
        const role = docs('config/rbac/bindable_roles.yaml').find((d) => d.kind === 'ClusterRole');
        const rule = role?.rules?.find(
            (r) => r.resources?.includes('clusterroles') && r.verbs?.includes('bind'),
        );
        const fromRbac = [...(rule?.resourceNames ?? [])].sort();
        assert.deepEqual(boundsVariable('bindableClusterRoles'), fromRbac);
        assert.deepEqual([...DEFAULT_SETTINGS.bindableRoles].sort(), fromRbac);
    });

    it('lists exactly the default never-govern namespaces and the operator namespace', () => {
        assert.deepEqual(boundsVariable('neverGovern'), [...neverGovernSet(DEFAULT_PLAN_SETTINGS)].sort());
    });

    it('names the operator ServiceAccount that config/rbac creates', () => {
        const sa = docs('config/rbac/service_account.yaml')[0] as Doc & { metadata: { namespace?: string } };
        const user = `system:serviceaccount:${sa.metadata.namespace}:${sa.metadata.name}`;
        const text = readFileSync(join(REPO, 'config/admission/operator-bounds.yaml'), 'utf8');
        assert.ok(text.includes(`request.userInfo.username == '${user}'`));
    });
});
