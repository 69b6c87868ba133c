/**
 * Deterministic names of generated objects.
 *
 * A name is a pure function of the rule/entry name, so re-planning always targets the same object and renaming a
 * rule shows up as one create plus one prune. Rule and entry names are DNS-1123 labels (≤ 63, CRD-validated), which
 * makes `isolation-<kind>-<rule>` a valid DNS-1123 subdomain as is. For anything else (too long, upper case, other
 * characters) the name is sanitised, truncated, and suffixed with a short hash of the ORIGINAL rule name, so distinct
 * inputs keep distinct names and the result is always a valid DNS-1123 subdomain of at most 253 characters.
 */

import { createHash } from 'node:crypto';

/** Every generated name starts with this (the unmanaged-object cache keeps details only under it). */
export const GENERATED_NAME_PREFIX = 'isolation-';
export const NAME_DEFAULT_DENY = `${GENERATED_NAME_PREFIX}default-deny`;
export const NAME_SAME_NAMESPACE = `${GENERATED_NAME_PREFIX}same-namespace`;
export const NAME_DNS = `${GENERATED_NAME_PREFIX}dns`;
export const INGRESS_PREFIX = `${GENERATED_NAME_PREFIX}ingress`;
export const EGRESS_PREFIX = `${GENERATED_NAME_PREFIX}egress`;
export const ACCESS_PREFIX = `${GENERATED_NAME_PREFIX}access`;
export const SERVICE_ACCOUNT_PREFIX = `${GENERATED_NAME_PREFIX}sa`;
/** Its own prefix, so no access entry name can produce the same policy name. */
export const ALIGNMENT_PREFIX = `${GENERATED_NAME_PREFIX}alignment`;

/** Maximum length of a DNS-1123 subdomain (metadata.name of a NetworkPolicy). */
export const MAX_NAME_LENGTH = 253;
const HASH_LENGTH = 8;

const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

export function isValidDns1123Subdomain(name: string): boolean {
    return name.length > 0 && name.length <= MAX_NAME_LENGTH && DNS1123_SUBDOMAIN.test(name);
}

function shortHash(input: string): string {
    return createHash('sha256').update(input, 'utf8').digest('hex').slice(0, HASH_LENGTH);
}

/**
 * `<prefix>-<suffix>` when valid and short enough, otherwise `<prefix>-<sanitised, truncated suffix>-<hash>`.
 * `maxLength` exists for tests and callers with stricter limits; it is clamped to [prefix + hash + 3, 253].
 */
export function generatedName(prefix: string, suffix: string, maxLength: number = MAX_NAME_LENGTH): string {
    const limit = Math.min(MAX_NAME_LENGTH, Math.max(maxLength, prefix.length + HASH_LENGTH + 3));
    const plain = `${prefix}-${suffix}`;
    if (suffix.length > 0 && plain.length <= limit && isValidDns1123Subdomain(plain)) return plain;

    const hash = shortHash(suffix);
    const room = limit - prefix.length - HASH_LENGTH - 2;
    const cleaned = suffix
        .toLowerCase()
        .replace(/[^a-z0-9-]+/g, '-')
        .replace(/-{2,}/g, '-')
        .slice(0, room)
        .replace(/^-+|-+$/g, '');
    return cleaned.length > 0 ? `${prefix}-${cleaned}-${hash}` : `${prefix}-${hash}`;
}

export function ingressPolicyName(rule: string): string {
    return generatedName(INGRESS_PREFIX, rule);
}

export function egressPolicyName(rule: string): string {
    return generatedName(EGRESS_PREFIX, rule);
}

/** Shared by the access entry's RoleBinding and its NetworkPolicy (different kinds, so no clash). */
export function accessObjectName(entry: string): string {
    return generatedName(ACCESS_PREFIX, entry);
}

/** The egress `--alignment add-egress` adds for an access entry's ServiceAccounts. */
export function alignmentEgressName(entry: string): string {
    return generatedName(ALIGNMENT_PREFIX, entry);
}

export function serviceAccountBindingName(entry: string): string {
    return generatedName(SERVICE_ACCOUNT_PREFIX, entry);
}
