/**
 * Paginated LIST (client-go's pager): fetches a collection in pages of `limit` items with the `continue` token and
 * returns one list. Every page comes from the same consistent snapshot (the token pins its resourceVersion), so
 * the returned resourceVersion is a valid starting point for a watch. Pages bound the transient memory of a big
 * list (20,000 ServiceAccounts as one JSON body and its parsed copy would be the operator's largest allocation),
 * and `transform` trims each page's items before the next page is fetched.
 */
import type { KubernetesListObject, KubernetesObject, V1ListMeta } from '@kubernetes/client-node';

export const DEFAULT_PAGE_SIZE = 500;

export interface PageRequest {
    limit: number;
    _continue?: string;
}

export async function listAllPages<T extends KubernetesObject>(
    page: (req: PageRequest) => Promise<KubernetesListObject<T>>,
    opts: { limit?: number; transform?: (obj: T) => T } = {},
): Promise<KubernetesListObject<T>> {
    const limit = opts.limit ?? DEFAULT_PAGE_SIZE;
    const items: T[] = [];
    let cont: string | undefined;
    for (;;) {
        const res = await page(cont === undefined ? { limit } : { limit, _continue: cont });
        for (const item of res.items) items.push(opts.transform ? opts.transform(item) : item);
        // Typed lists name the token `_continue` (client-node's model); raw JSON lists (custom-objects calls) `continue`.
        const meta: (V1ListMeta & { continue?: string }) | undefined = res.metadata;
        cont = meta?._continue || meta?.continue || undefined;
        if (!cont) return { ...res, items, metadata: { ...res.metadata, _continue: undefined } };
    }
}
