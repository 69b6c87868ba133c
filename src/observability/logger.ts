/**
 * Structured logging for the operator (pino).
 *
 * Design: production logs are one JSON object per line on stdout — `level` (a name), `timestamp` (ISO 8601),
 * `message`, `component: 'isolation-operator'` and the call's metadata — so any log pipeline can parse them without
 * configuration; a `text` format exists for local runs only. Lines are written synchronously (pino's default
 * destination), so nothing logged before a crash is lost. The rest of the code depends on the small `Logger`
 * interface below, not on pino, so tests can pass `silentLogger()` or a recording fake.
 *
 * Why pino: winston formatted each line through a chain of object-mode streams; at a 10,000-namespace converge the
 * one info line per reconciled namespace cost 6 % of the operator's busy CPU (docs/benchmarks.md). pino serialises
 * a line in one pass. Errors are logged through `errorFields(err)`, which flattens them to
 * `{ err: { message, stack, code } }`; reconcile keys (`controller`, `namespace`, `profile`, `reconcileID`) never
 * reuse `component`.
 */
import type { Writable } from 'node:stream';
import { pino } from 'pino';
import type { DestinationStream, Logger as PinoLogger } from 'pino';

export const LOG_LEVELS = ['error', 'warn', 'info', 'debug'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export const LOG_FORMATS = ['json', 'text'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

/** Metadata attached to one log line. Keep values small: never log whole Kubernetes objects at info level. */
export type LogMeta = Record<string, unknown>;

/** The logging surface the operator uses. */
export interface Logger {
    error(message: string, meta?: LogMeta): unknown;
    warn(message: string, meta?: LogMeta): unknown;
    info(message: string, meta?: LogMeta): unknown;
    debug(message: string, meta?: LogMeta): unknown;
    /** A logger that adds `meta` to every line. */
    child(meta: LogMeta): Logger;
    isLevelEnabled(level: string): boolean;
}

export interface LoggerOptions {
    /** Minimum level written: one of `LOG_LEVELS` (checked, so a raw flag value can be passed). Default `info`. */
    level?: string;
    /** `json` (default, for clusters) or `text` (one readable line, for local runs). */
    format?: LogFormat;
    /** Where lines go. Default: stdout, written synchronously. */
    stream?: Writable;
    /** Write nothing at all (tests). */
    silent?: boolean;
}

/** Default metadata carried by every line; child loggers must not reuse these keys. */
export const DEFAULT_META = { component: 'isolation-operator' } as const;

export function isLogLevel(value: string): value is LogLevel {
    return (LOG_LEVELS as readonly string[]).includes(value);
}

export function isLogFormat(value: string): value is LogFormat {
    return (LOG_FORMATS as readonly string[]).includes(value);
}

/** `key=value` pairs for the text format; strings with spaces are quoted, objects JSON-encoded. */
function renderPairs(meta: Record<string, unknown>): string {
    const parts: string[] = [];
    for (const [key, value] of Object.entries(meta)) {
        if (value === undefined) continue;
        const text = typeof value === 'string' ? value : JSON.stringify(value);
        parts.push(
            `${key}=${typeof value === 'string' && /[\s"=]/.test(text) ? JSON.stringify(text) : text}`,
        );
    }
    return parts.join(' ');
}

/** One JSON line as the text format shows it: `<timestamp> <LEVEL> <message> key=value…`. */
function textLine(json: string): string {
    const entry = JSON.parse(json) as Record<string, unknown>;
    const { level, message, timestamp, component: _component, ...rest } = entry;
    const head = `${String(timestamp)} ${String(level).toUpperCase().padEnd(5)} ${String(message)}`;
    const pairs = renderPairs(rest);
    return `${head}${pairs ? ` ${pairs}` : ''}\n`;
}

/** Adapts pino (metadata first) to `Logger` (message first). */
class PinoAdapter implements Logger {
    readonly #p: PinoLogger;
    constructor(p: PinoLogger) {
        this.#p = p;
    }
    #write(level: LogLevel, message: string, meta: LogMeta | undefined): void {
        if (meta) this.#p[level](meta, message);
        else this.#p[level](message);
    }
    error(message: string, meta?: LogMeta): void {
        this.#write('error', message, meta);
    }
    warn(message: string, meta?: LogMeta): void {
        this.#write('warn', message, meta);
    }
    info(message: string, meta?: LogMeta): void {
        this.#write('info', message, meta);
    }
    debug(message: string, meta?: LogMeta): void {
        this.#write('debug', message, meta);
    }
    child(meta: LogMeta): Logger {
        return new PinoAdapter(this.#p.child(meta));
    }
    isLevelEnabled(level: string): boolean {
        return this.#p.isLevelEnabled(level);
    }
}

const NOWHERE: DestinationStream = { write: () => undefined };

/** Create the process logger. */
export function createLogger(options: LoggerOptions = {}): Logger {
    const level = options.level ?? 'info';
    if (!isLogLevel(level))
        throw new Error(`unknown log level ${JSON.stringify(level)}: use ${LOG_LEVELS.join(', ')}`);
    const out: DestinationStream = options.silent
        ? NOWHERE
        : (options.stream ?? pino.destination({ dest: 1, sync: true }));
    const destination: DestinationStream =
        options.format === 'text' && !options.silent ? { write: (line) => out.write(textLine(line)) } : out;
    return new PinoAdapter(
        pino(
            {
                level: options.silent ? 'silent' : level,
                base: { ...DEFAULT_META },
                messageKey: 'message',
                timestamp: () => `,"timestamp":"${new Date().toISOString()}"`,
                formatters: { level: (label) => ({ level: label }) },
                // `err` is already flat (`errorFields`); pino's default error serializer would add `type: "Object"`.
                serializers: { err: (e: unknown) => e },
            },
            destination,
        ),
    );
}

/** A logger that writes nothing: the default in unit tests. */
export function silentLogger(): Logger {
    return createLogger({ silent: true });
}

// A type alias, not an interface, so it is assignable to `LogMeta` (interfaces lack an index signature).
export type ErrorFields = {
    err: { message: string; stack?: string; code?: string | number; name?: string };
};

/**
 * Flatten an error into plain metadata a JSON line can carry: `log.error('apply failed', errorFields(e))`.
 * `code` is a Node error code (`ECONNRESET`) or the HTTP status of a client-node `ApiException`.
 */
export function errorFields(err: unknown): ErrorFields {
    if (err instanceof Error) {
        const fields: ErrorFields['err'] = { message: err.message };
        if (err.name && err.name !== 'Error') fields.name = err.name;
        if (err.stack) fields.stack = err.stack;
        const code = (err as { code?: unknown }).code;
        if (typeof code === 'string' || typeof code === 'number') fields.code = code;
        return { err: fields };
    }
    if (typeof err === 'string') return { err: { message: err } };
    let message: string;
    try {
        message = JSON.stringify(err) ?? String(err);
    } catch {
        message = String(err);
    }
    return { err: { message } };
}

/** Correlation keys of one reconcile (controller-runtime's convention, plus the governing profile). */
export interface ReconcileLogContext {
    controller: string;
    reconcileID: string;
    namespace?: string;
    profile?: string;
}

/** The child logger for one reconcile; undefined keys are left out. */
export function reconcileLogger(parent: Logger, context: ReconcileLogContext): Logger {
    const meta: LogMeta = { controller: context.controller };
    if (context.namespace !== undefined) meta.namespace = context.namespace;
    if (context.profile !== undefined) meta.profile = context.profile;
    meta.reconcileID = context.reconcileID;
    return parent.child(meta);
}
