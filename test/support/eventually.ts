/**
 * Polling helper for tests against a real API server: retries `fn` until it returns a value other than
 * `undefined` or `false` (errors count as "not yet"), bounded in time, and reports the last error on timeout.
 */
export async function eventually<T>(
    what: string,
    fn: () => Promise<T | undefined | false> | T | undefined | false,
    timeoutMs = 30_000,
    everyMs = 100,
): Promise<Exclude<Awaited<T>, false>> {
    const deadline = Date.now() + timeoutMs;
    let last: unknown;
    for (;;) {
        try {
            const v = await fn();
            if (v !== undefined && v !== false) return v as Exclude<Awaited<T>, false>;
        } catch (err) {
            last = err;
        }
        if (Date.now() > deadline) {
            const why = last instanceof Error ? `: ${last.message}` : '';
            throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${why}`);
        }
        await new Promise((r) => setTimeout(r, everyMs));
    }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
