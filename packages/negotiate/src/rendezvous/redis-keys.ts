/**
 * Where a rendezvous lives in Redis. Every key of rendezvous `A` extends one
 * base, `bertha:rv:{A}`: the braces make `A` the hash tag, so all of them
 * (and the events channel) sit in one hash slot of a Redis Cluster and one
 * Lua script may touch them all. `A` is escaped (`%`, `{`, `}` as `%25`,
 * `%7B`, `%7D`) so that the tag always ends at our `}` (an empty or cut-short
 * tag would scatter the keys) and so that the base names the rendezvous
 * unambiguously: what follows `}` is never part of a name.
 */
export function rendezvousKey(name: string): string {
  return `bertha:rv:{${name.replace(/[%{}]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)}}`;
}

/** The (sharded) pub/sub channel the scripts announce changes of the rendezvous on. */
export function eventsChannel(key: string): string {
  return `${key}:events`;
}
