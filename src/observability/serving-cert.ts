/**
 * The TLS certificate of the metrics endpoint: `tls.crt`/`tls.key` from a directory (a mounted Secret, e.g. from
 * cert-manager) when one is given, otherwise a self-signed ECDSA P-256 certificate made at start-up and kept in
 * memory only — what controller-runtime's secure metrics server does when it has no certificate directory.
 *
 * Design choice: Node's crypto makes key pairs but cannot sign X.509 certificates. The key pair comes from
 * node:crypto (fast, native); `node-forge` (pure JavaScript, no dependencies of its own) only builds and signs the
 * certificate. A self-signed certificate encrypts the scrape and the bearer token; scrapers skip verification (the
 * ServiceMonitor's `insecureSkipVerify`) unless a real certificate is mounted. Certificate files are re-read every
 * minute (`watchServingCert`), so a rotated Secret (the kubelet swaps the mounted files) is served without a restart,
 * as controller-runtime's certwatcher does.
 */
import { X509Certificate, createPrivateKey, generateKeyPairSync, randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import forge from 'node-forge';

export interface ServingCert {
    cert: string;
    key: string;
    /** Where it came from, for the start-up log. */
    source: 'files' | 'self-signed';
}

/** Reads `<dir>/tls.crt` and `<dir>/tls.key` (the keys of a kubernetes.io/tls Secret). */
export async function readServingCert(dir: string): Promise<ServingCert> {
    const [cert, key] = await Promise.all([
        readFile(join(dir, 'tls.crt'), 'utf8'),
        readFile(join(dir, 'tls.key'), 'utf8'),
    ]);
    return { cert, key, source: 'files' };
}

/** A self-signed serving certificate for `names` (DNS names; default localhost and the host name), valid 1 year. */
export function selfSignedServingCert(names: string[] = ['localhost', hostname()]): Promise<ServingCert> {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const keyPem = privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();
    const cert = forge.pki.createCertificate();
    cert.publicKey = forge.pki.publicKeyFromPem(publicKey.export({ type: 'spki', format: 'pem' }).toString());
    const serial = randomBytes(16);
    serial[0] = (serial[0] ?? 0) & 0x7f;
    cert.serialNumber = serial.toString('hex');
    const now = Date.now();
    cert.validity.notBefore = new Date(now - 60_000);
    cert.validity.notAfter = new Date(now + 365 * 24 * 3600 * 1000);
    const subject = [{ name: 'commonName', value: 'isolation-operator-metrics' }];
    cert.setSubject(subject);
    cert.setIssuer(subject);
    cert.setExtensions([
        { name: 'basicConstraints', cA: false, critical: true },
        { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
        { name: 'extKeyUsage', serverAuth: true },
        {
            name: 'subjectAltName',
            altNames: [
                ...[...new Set(names)].map((value) => ({ type: 2, value })),
                { type: 7, ip: '127.0.0.1' },
            ],
        },
    ]);
    cert.sign(forge.pki.privateKeyFromPem(keyPem), forge.md.sha256.create());
    return Promise.resolve({ cert: forge.pki.certificateToPem(cert), key: keyPem, source: 'self-signed' });
}

/** The certificate from `dir` when given, else a fresh self-signed one. */
export function servingCert(dir: string | undefined): Promise<ServingCert> {
    return dir ? readServingCert(dir) : selfSignedServingCert();
}

export interface CertWatch {
    stop(): void;
}

/**
 * Re-reads `<dir>/tls.crt` and `tls.key` every `intervalMs` (default 60 s) and calls `onChange` when they changed
 * and both parse as a matching pair (a half-written rotation is skipped until the next look).
 */
export function watchServingCert(
    dir: string,
    initial: ServingCert,
    onChange: (cert: ServingCert) => void,
    opts: { intervalMs?: number; onError?: (err: unknown) => void } = {},
): CertWatch {
    let current = initial;
    let busy = false;
    const check = async (): Promise<void> => {
        if (busy) return;
        busy = true;
        try {
            const next = await readServingCert(dir);
            if (next.cert === current.cert && next.key === current.key) return;
            if (!new X509Certificate(next.cert).checkPrivateKey(createPrivateKey(next.key)))
                throw new Error(`${dir}: tls.key does not match tls.crt`);
            current = next;
            onChange(next);
        } catch (err) {
            opts.onError?.(err);
        } finally {
            busy = false;
        }
    };
    const timer = setInterval(() => void check(), opts.intervalMs ?? 60_000);
    timer.unref();
    return { stop: () => clearInterval(timer) };
}
