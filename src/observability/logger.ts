/**
 * Structured logging for the operator (winston).
 *
 * Design: production logs are one JSON object per line on stdout (`format.errors({ stack: true })`, a timestamp,
 * `format.json()`), with `component: 'isolation-operator'` as default metadata, so any log pipeline can parse them
 * without configuration; a `text` format exists for local runs only. The rest of the code depends on the small
 * `Logger` interface below, not on winston, so tests can pass `silentLogger()` or a recording fake.
 *
 * Two winston pitfalls are handled here rather than at every call site:
 * - an `Error` nested in metadata loses its message and stack (winstonjs/logform#87): log errors through
 *   `errorFields(err)`, which flattens them to `{ err: { message, stack, code } }`;
 * - child metadata that repeats a `defaultMeta` key is overridden inconsistently (winstonjs/winston#1596): the
 *   reconcile keys (`controller`, `namespace`, `profile`, `reconcileID`) never reuse `component`.
 */
import type { Writable } from 'node:stream';
import winston from 'winston';

export const LOG_LEVELS = ['error', 'warn', 'info', 'debug'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export const LOG_FORMATS = ['json', 'text'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

/** Metadata attached to one log line. Keep values small: never log whole Kubernetes objects at info level. */
export type LogMeta = Record<string, unknown>;

/** The logging surface the operator uses; winston's Logger satisfies it. */
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
    /** Where lines go. Default: stdout (winston's Console transport, every level on stdout). */
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

const textLine = winston.format.printf((info) => {
    const { level, message, timestamp, stack, component: _component, ...rest } = info;
    const head = `${String(timestamp)} ${level.toUpperCase().padEnd(5)} ${String(message)}`;
    const pairs = renderPairs(rest);
    const tail = typeof stack === 'string' ? `\n${stack}` : '';
    return `${head}${pairs ? ` ${pairs}` : ''}${tail}`;
});

/** Create the process logger. */
export function createLogger(options: LoggerOptions = {}): Logger {
    const level = options.level ?? 'info';
    if (!isLogLevel(level))
        throw new Error(`unknown log level ${JSON.stringify(level)}: use ${LOG_LEVELS.join(', ')}`);
    const base = [winston.format.errors({ stack: true }), winston.format.timestamp()];
    const format =
        options.format === 'text'
            ? winston.format.combine(...base, textLine)
            : winston.format.combine(...base, winston.format.json());
    const transport = options.stream
        ? new winston.transports.Stream({ stream: options.stream })
        : new winston.transports.Console();
    return winston.createLogger({
        level,
        format,
        defaultMeta: { ...DEFAULT_META },
        transports: [transport],
        silent: options.silent ?? false,
        exitOnError: false,
    });
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
 * Flatten an error into plain metadata winston can serialise: `log.error('apply failed', errorFields(e))`.
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
