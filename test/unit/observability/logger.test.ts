import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import {
    createLogger,
    errorFields,
    isLogFormat,
    isLogLevel,
    reconcileLogger,
    silentLogger,
} from '../../../src/observability/logger.ts';

/** A stream that keeps every written line. */
function capture(): { stream: Writable; lines: string[] } {
    const lines: string[] = [];
    const stream = new Writable({
        write(chunk: Buffer, _enc, cb) {
            lines.push(
                ...chunk
                    .toString('utf8')
                    .split('\n')
                    .filter((l) => l !== ''),
            );
            cb();
        },
    });
    return { stream, lines };
}

/** The capture stream's `write` may run after the log call; one turn of the loop lets it. */
async function flush(): Promise<void> {
    await new Promise((resolve) => setImmediate(resolve));
}

function parse(line: string | undefined): Record<string, unknown> {
    assert.ok(line, 'expected a log line');
    return JSON.parse(line) as Record<string, unknown>;
}

describe('logger', () => {
    it('writes one JSON object per line with level, message, timestamp and the component', async () => {
        const { stream, lines } = capture();
        const log = createLogger({ stream });
        log.info('started', { version: '1.2.3' });
        await flush();
        assert.equal(lines.length, 1);
        const entry = parse(lines[0]);
        assert.equal(entry.level, 'info');
        assert.equal(entry.message, 'started');
        assert.equal(entry.component, 'isolation-operator');
        assert.equal(entry.version, '1.2.3');
        assert.ok(!Number.isNaN(Date.parse(String(entry.timestamp))));
    });

    it('drops lines below the configured level', async () => {
        const { stream, lines } = capture();
        const log = createLogger({ stream, level: 'warn' });
        log.info('hidden');
        log.debug('hidden too');
        log.warn('shown');
        await flush();
        assert.deepEqual(
            lines.map((l) => parse(l).message),
            ['shown'],
        );
        assert.equal(log.isLevelEnabled('debug'), false);
    });

    it('keeps the stack of an error logged directly', async () => {
        const { stream, lines } = capture();
        const log = createLogger({ stream });
        log.error('boom', { ...errorFields(new Error('disk full')) });
        await flush();
        const entry = parse(lines[0]);
        const err = entry.err as Record<string, unknown>;
        assert.equal(err.message, 'disk full');
        assert.match(String(err.stack), /Error: disk full/);
        assert.deepEqual(Object.keys(err).sort(), ['message', 'stack'], 'written as errorFields made it');
    });

    it('adds reconcile keys through a child logger without touching the component', async () => {
        const { stream, lines } = capture();
        const log = createLogger({ stream });
        const id = randomUUID(); // as the workqueue gives each run
        const child = reconcileLogger(log, { controller: 'namespace', namespace: 'team-a', reconcileID: id });
        child.info('reconciled');
        await flush();
        const entry = parse(lines[0]);
        assert.equal(entry.controller, 'namespace');
        assert.equal(entry.namespace, 'team-a');
        assert.equal(entry.reconcileID, id);
        assert.equal(entry.component, 'isolation-operator');
        assert.equal('profile' in entry, false);
    });

    it('renders a readable single line in text format', async () => {
        const { stream, lines } = capture();
        const log = createLogger({ stream, format: 'text' });
        log.warn('slow apply', { kind: 'NetworkPolicy', note: 'took long' });
        await flush();
        assert.equal(lines.length, 1);
        assert.match(lines[0] ?? '', /^\S+ WARN {2}slow apply kind=NetworkPolicy note="took long"$/);
    });

    it('writes nothing when silent', async () => {
        const { stream, lines } = capture();
        const log = createLogger({ stream, silent: true });
        log.error('nobody hears this');
        silentLogger().child({ controller: 'x' }).error('nor this');
        await flush();
        assert.deepEqual(lines, []);
    });

    it('refuses an unknown level', () => {
        assert.throws(() => createLogger({ level: 'verbose' }), /unknown log level "verbose"/);
    });

    it('validates level and format names', () => {
        assert.equal(isLogLevel('debug'), true);
        assert.equal(isLogLevel('trace'), false);
        assert.equal(isLogFormat('text'), true);
        assert.equal(isLogFormat('yaml'), false);
    });
});

describe('errorFields', () => {
    it('keeps message, stack and a Node error code', () => {
        const err = Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
        const { err: fields } = errorFields(err);
        assert.equal(fields.message, 'socket hang up');
        assert.equal(fields.code, 'ECONNRESET');
        assert.match(fields.stack ?? '', /socket hang up/);
    });

    it('keeps a numeric HTTP status code and a custom error name', () => {
        class ApiException extends Error {
            code = 409;
            override name = 'ApiException';
        }
        const { err: fields } = errorFields(new ApiException('conflict'));
        assert.equal(fields.code, 409);
        assert.equal(fields.name, 'ApiException');
    });

    it('turns non-errors into a message', () => {
        assert.deepEqual(errorFields('plain'), { err: { message: 'plain' } });
        assert.deepEqual(errorFields({ reason: 'x' }), { err: { message: '{"reason":"x"}' } });
        assert.deepEqual(errorFields(undefined), { err: { message: 'undefined' } });
    });
});
