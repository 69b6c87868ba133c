/**
 * ipBlock matching: an address is in a block when it is inside `cidr` and outside every `except`.
 *
 * Parsing uses ipaddr.js (the address library under Express's proxy-addr: small, no dependencies, IPv4, IPv6 and
 * IPv4-mapped IPv6 handled), so the evaluator never carries its own address parser. Addresses of another family
 * than the block never match; an unparsable address or block matches nothing (fail closed).
 */
import ipaddr from 'ipaddr.js';

type Addr = ReturnType<typeof ipaddr.parse>;

function parseAddress(ip: string): Addr | null {
    try {
        // process() turns an IPv4-mapped IPv6 address into the IPv4 address it carries.
        return ipaddr.process(ip);
    } catch {
        return null;
    }
}

function parseBlock(cidr: string): [Addr, number] | null {
    try {
        return ipaddr.parseCIDR(cidr);
    } catch {
        return null;
    }
}

export function isValidIp(ip: string): boolean {
    return parseAddress(ip) !== null;
}

export function isValidCidr(cidr: string): boolean {
    return parseBlock(cidr) !== null;
}

/** Whether `ip` is inside `cidr`. */
export function cidrContains(cidr: string, ip: string): boolean {
    const block = parseBlock(cidr);
    const addr = parseAddress(ip);
    if (!block || !addr || block[0].kind() !== addr.kind()) return false;
    return addr.match(block);
}

/** NetworkPolicy ipBlock semantics: inside `cidr` and outside every `except` entry. */
export function ipBlockContains(
    block: { cidr: string; except?: readonly string[] | null },
    ip: string,
): boolean {
    if (!cidrContains(block.cidr, ip)) return false;
    return !(block.except ?? []).some((e) => cidrContains(e, ip));
}
