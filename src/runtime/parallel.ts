/**
 * Bounded fan-out: run `fn` over `items` with at most `limit` calls pending at once, and wait for all of them.
 *
 * Design choice: every call is waited for even after one fails, and then the first error is thrown — a caller
 * never continues while some of its writes are still in flight. Callers that must not stop on one failure (the
 * namespace reconciler records each and carries on) catch inside `fn`. Calls start in item order, so a writer
 * double that records calls sees the order of a sequential loop when calls complete in order.
 */
export async function inParallel<T>(
    items: readonly T[],
    limit: number,
    fn: (item: T) => Promise<void>,
): Promise<void> {
    let next = 0;
    let failed = false;
    let first: unknown;
    const worker = async (): Promise<void> => {
        while (next < items.length) {
            const item = items[next++] as T;
            try {
                await fn(item);
            } catch (err) {
                if (!failed) [failed, first] = [true, err];
            }
        }
    };
    const width = Math.max(1, Math.min(limit, items.length));
    await Promise.all(Array.from({ length: width }, worker));
    if (failed) throw first;
}
