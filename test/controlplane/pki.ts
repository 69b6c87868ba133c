/**
 * PKI for the local control plane: a CA, the API server's serving certificate, client certificates for users
 * (CN = user name, O = groups, as the API server maps them) and the service-account signing key.
 *
 * Node's crypto can make key pairs but cannot sign X.509 certificates, so certificates come from the system
 * `openssl` CLI (Debian package `openssl`, present on every supported machine); ECDSA P-256 keys keep it fast.
 *
 * Serial numbers are random 127-bit values passed with `-set_serial`, never `-CAcreateserial`: that option
 * read-modify-writes one shared `ca.srl` file, and two certificates signed at once (the start signs the serving and
 * the admin certificate in parallel; tests add users concurrently) made openssl fail with "unable to load number
 * from ca.srl" about one start in 17. Random serials are also what RFC 5280 asks of CAs (unpredictable, unique).
 */
import { execFile } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface CertPaths {
    cert: string;
    key: string;
}

async function openssl(args: string[]): Promise<void> {
    try {
        await run('openssl', args);
    } catch (err) {
        const e = err as { stderr?: string; message: string };
        throw new Error(`openssl ${args[0]} failed: ${e.stderr ?? e.message}`, { cause: err });
    }
}

/** A random positive serial number of 16 bytes (top bit clear, so it needs no sign byte), as openssl hex. */
export function randomSerial(): string {
    const bytes = randomBytes(16);
    bytes[0] = (bytes[0] ?? 0) & 0x7f;
    return `0x${bytes.toString('hex')}`;
}

/** Creates `ca.crt`/`ca.key` in dir. */
export async function createCA(dir: string): Promise<CertPaths> {
    const cert = join(dir, 'ca.crt');
    const key = join(dir, 'ca.key');
    await openssl([
        'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
        '-keyout', key, '-out', cert, '-days', '3650', '-subj', '/CN=isolation-operator-test-ca',
        '-set_serial', randomSerial(),
        '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
    ]); // prettier-ignore
    return { cert, key };
}

/**
 * Issues a certificate signed by the CA. `subject` is an OpenSSL subject such as `/CN=admin/O=system:masters`;
 * `extensions` are lines of an x509 v3 extension file.
 */
export async function issueCert(
    dir: string,
    base: string,
    ca: CertPaths,
    subject: string,
    extensions: string[],
): Promise<CertPaths> {
    const cert = join(dir, `${base}.crt`);
    const key = join(dir, `${base}.key`);
    const csr = join(dir, `${base}.csr`);
    const ext = join(dir, `${base}.ext`);
    await writeFile(ext, extensions.join('\n') + '\n');
    await openssl([
        'req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
        '-keyout', key, '-out', csr, '-subj', subject,
    ]); // prettier-ignore
    await openssl([
        'x509', '-req', '-in', csr, '-CA', ca.cert, '-CAkey', ca.key, '-set_serial', randomSerial(),
        '-out', cert, '-days', '365', '-extfile', ext,
    ]); // prettier-ignore
    return { cert, key };
}

export function servingCert(dir: string, ca: CertPaths): Promise<CertPaths> {
    return issueCert(dir, 'apiserver', ca, '/CN=kube-apiserver', [
        'subjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default.svc',
        'extendedKeyUsage=serverAuth',
        'keyUsage=critical,digitalSignature,keyEncipherment',
    ]);
}

/** A client certificate: the API server takes CN as the user name and each O as a group. */
export function clientCert(dir: string, ca: CertPaths, user: string, groups: string[]): Promise<CertPaths> {
    const esc = (s: string) => s.replace(/[/\\=+,]/g, (c) => `\\${c}`);
    const subject = `/CN=${esc(user)}` + groups.map((g) => `/O=${esc(g)}`).join('');
    const base = `user-${user.replace(/[^a-zA-Z0-9.-]/g, '_')}`;
    return issueCert(dir, base, ca, subject, [
        'extendedKeyUsage=clientAuth',
        'keyUsage=critical,digitalSignature,keyEncipherment',
    ]);
}

/** The service-account token signing key pair (`sa.key` private, `sa.pub` public). */
export async function serviceAccountKeys(dir: string): Promise<{ key: string; pub: string }> {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const key = join(dir, 'sa.key');
    const pub = join(dir, 'sa.pub');
    await writeFile(key, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
    await writeFile(pub, publicKey.export({ type: 'spki', format: 'pem' }));
    return { key, pub };
}

export async function base64File(path: string): Promise<string> {
    return (await readFile(path)).toString('base64');
}
