import assert from 'node:assert/strict';
import {
    accessObjectName,
    egressPolicyName,
    generatedName,
    ingressPolicyName,
    isValidDns1123Subdomain,
    MAX_NAME_LENGTH,
    NAME_DEFAULT_DENY,
    NAME_DNS,
    NAME_SAME_NAMESPACE,
    serviceAccountBindingName,
} from '../../../src/plan/index.ts';

describe('plan/names', () => {
    it('uses the documented fixed names', () => {
        assert.equal(NAME_DEFAULT_DENY, 'isolation-default-deny');
        assert.equal(NAME_SAME_NAMESPACE, 'isolation-same-namespace');
        assert.equal(NAME_DNS, 'isolation-dns');
    });

    it('names rule and entry objects by prefix and rule name', () => {
        assert.equal(ingressPolicyName('from-web'), 'isolation-ingress-from-web');
        assert.equal(egressPolicyName('to-db'), 'isolation-egress-to-db');
        assert.equal(accessObjectName('developers'), 'isolation-access-developers');
        assert.equal(serviceAccountBindingName('readers'), 'isolation-sa-readers');
    });

    it('keeps a 63-character rule name (the CRD maximum) as is', () => {
        const rule = 'a'.repeat(63);
        const name = ingressPolicyName(rule);
        assert.equal(name, `isolation-ingress-${rule}`);
        assert.ok(isValidDns1123Subdomain(name));
    });

    it('truncates and hashes an over-long name to exactly the limit, stably and distinctly', () => {
        const long1 = 'x'.repeat(300);
        const long2 = 'x'.repeat(299) + 'y';
        const n1 = egressPolicyName(long1);
        assert.equal(n1.length, MAX_NAME_LENGTH);
        assert.ok(isValidDns1123Subdomain(n1));
        assert.ok(n1.startsWith('isolation-egress-xxx'));
        assert.equal(egressPolicyName(long1), n1, 'stable');
        assert.notEqual(egressPolicyName(long2), n1, 'distinct inputs keep distinct names');
    });

    it('handles the boundary: 253 characters exactly is kept, 254 is hashed', () => {
        const prefix = 'isolation-ingress';
        const fits = 'a'.repeat(MAX_NAME_LENGTH - prefix.length - 1);
        assert.equal(generatedName(prefix, fits), `${prefix}-${fits}`);
        const over = fits + 'a';
        const hashed = generatedName(prefix, over);
        assert.ok(hashed.length <= MAX_NAME_LENGTH);
        assert.match(hashed, /-[0-9a-f]{8}$/);
    });

    it('honours a stricter limit', () => {
        const n = generatedName('isolation-sa', 'a-rather-long-entry-name', 30);
        assert.ok(n.length <= 30);
        assert.ok(isValidDns1123Subdomain(n));
    });

    it('sanitises invalid characters into a valid subdomain with a hash', () => {
        for (const bad of ['From_Web', 'a..b', '-lead', 'trail-', 'ünïcode', '___', '', 'a.-b']) {
            const n = ingressPolicyName(bad);
            assert.ok(isValidDns1123Subdomain(n), `${JSON.stringify(bad)} -> ${n}`);
        }
        assert.notEqual(ingressPolicyName('From_Web'), ingressPolicyName('from-web'));
        assert.notEqual(ingressPolicyName('a_b'), ingressPolicyName('a-b'));
    });

    it('validates DNS-1123 subdomains', () => {
        assert.equal(isValidDns1123Subdomain('a.b-c'), true);
        assert.equal(isValidDns1123Subdomain('A'), false);
        assert.equal(isValidDns1123Subdomain('a..b'), false);
        assert.equal(isValidDns1123Subdomain('a'.repeat(254)), false);
    });
});
