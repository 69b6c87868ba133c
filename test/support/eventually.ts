/**
 * Polling helper for tests against a real API server: retries `fn` until it returns a value other than
 * `undefined` (or stops throwing), bounded in time, and reports the last error on timeout.
 */
export async function eventually<T>(
    what: string,
    fn: () => Promise<T | undefined>,
    timeoutMs = 30_000,
    everyMs = 100,
): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    let last: unknown;
    for (;;) {
        try {
            const v = await fn();
            if (v !== undefined) return v;
        } catch (err) {
            last = err;
        }
        if (Date.now() > deadline) {
            const why = last instanceof Error ? `: ${last.message}` : '';
            throw new Error(`timed out after ${timeoutMs / 1000}s waiting for ${what}${why}`);
        }
        await new Promise((r) => setTimeout(r, everyMs));
    }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
