/**
 * Reading Kubernetes manifests from a file (or `-` for stdin) for the offline commands (`plan`, `explain -f`): every
 * YAML document, with `kind: *List` documents expanded into their items and empty documents skipped. One reader,
 * so both commands accept exactly the same files. A YAML error names the file.
 */
import { readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';

export function readManifests(file: string): unknown[] {
    const text = readFileSync(file === '-' ? 0 : file, 'utf8');
    const out: unknown[] = [];
    for (const d of parseAllDocuments(text)) {
        if ('errors' in d && d.errors.length > 0) throw new Error(`${file}: ${d.errors[0]!.message}`);
        const v: unknown = d.toJS();
        if (v === null || v === undefined) continue;
        const list = v as { kind?: string; items?: unknown[] };
        if (typeof list.kind === 'string' && list.kind.endsWith('List') && Array.isArray(list.items))
            out.push(...list.items);
        else out.push(v);
    }
    return out;
}
