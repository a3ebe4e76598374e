import type { AgreedPick } from './pick.js';

/**
 * Where a client keeps the picks it negotiated, for 0-RTT. Keys name a
 * server address and a stack fingerprint. May be asynchronous (a shared
 * store), but a synchronous cache keeps 0-RTT at zero added latency.
 */
export interface PickCache {
  get(key: string): AgreedPick | undefined | Promise<AgreedPick | undefined>;
  set(key: string, pick: AgreedPick): void | Promise<void>;
  delete(key: string): void | Promise<void>;
}

export interface MemoryPickCacheOptions {
  /** Entries kept; the least recently used goes first. Default 1,024. */
  readonly max?: number;
}

/** An in-process LRU cache of picks. */
export function memoryPickCache(opts: MemoryPickCacheOptions = {}): PickCache {
  const max = opts.max ?? 1024;
  const map = new Map<string, AgreedPick>();
  /** The key used last: a client that connects to one server again and again moves nothing. */
  let newest: string | undefined;
  return {
    get(key) {
      const pick = map.get(key);
      if (pick !== undefined && key !== newest) {
        // Re-insert so iteration order is least recently used first.
        map.delete(key);
        map.set(key, pick);
        newest = key;
      }
      return pick;
    },
    set(key, pick) {
      map.delete(key);
      map.set(key, pick);
      newest = key;
      if (map.size > max) map.delete(map.keys().next().value as string);
    },
    delete(key) {
      map.delete(key);
      if (key === newest) newest = undefined;
    },
  };
}

/** The cache `connect` uses when given none: one per process. */
export const defaultPickCache: PickCache = memoryPickCache();

/** The last key made: a client that connects to one server again and again gets the same string, hashed once. */
let lastKey = { server: '', fingerprint: '', key: '' };

/** The cache key of a pick: the server's address and the client stack's fingerprint. */
export function pickKey(server: string, fingerprint: string): string {
  if (server === lastKey.server && fingerprint === lastKey.fingerprint) return lastKey.key;
  lastKey = { server, fingerprint, key: `${server}#${fingerprint}` };
  return lastKey.key;
}
