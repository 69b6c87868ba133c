/**
 * A `LeaseStore` (src/runtime/leader.ts) in memory with resourceVersion semantics, for leader-election tests:
 * settles asynchronously like I/O and can be told to fail like an unreachable API server.
 */
import { LeaseConflictError } from '../../src/runtime/leader.ts';
import type { LeaseRecord, LeaseStore, VersionedLease } from '../../src/runtime/leader.ts';

/** A LeaseStore in memory with resourceVersion semantics (tests, single-process use). */
export class MemoryLeaseStore implements LeaseStore {
    #lease: VersionedLease | undefined;
    #version = 0;
    /** When set, every call fails with this error (simulates an unreachable API server). */
    failWith: Error | undefined;
    writes = 0;

    async get(): Promise<VersionedLease | undefined> {
        await this.#io();
        return this.#lease && structuredClone(this.#lease);
    }
    async create(record: LeaseRecord): Promise<VersionedLease> {
        await this.#io();
        if (this.#lease) throw new LeaseConflictError('lease already exists');
        return this.#put(record);
    }
    async update(record: LeaseRecord, version: string): Promise<VersionedLease> {
        await this.#io();
        if (!this.#lease || this.#lease.version !== version) throw new LeaseConflictError();
        return this.#put(record);
    }
    /** Behave like I/O: settle asynchronously, fail if told to. */
    async #io(): Promise<void> {
        await Promise.resolve();
        if (this.failWith) throw this.failWith;
    }
    /** The stored record (for assertions). */
    peek(): VersionedLease | undefined {
        return this.#lease && structuredClone(this.#lease);
    }
    #put(record: LeaseRecord): VersionedLease {
        this.writes++;
        this.#lease = { record: structuredClone(record), version: String(++this.#version) };
        return structuredClone(this.#lease);
    }
}
