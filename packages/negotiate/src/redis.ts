/**
 * @bertha/negotiate/redis — the rendezvous store for real deployments, on
 * Redis through ioredis (an optional peer dependency: install it beside
 * @bertha/negotiate). Kept off the main entry so that other users never load
 * ioredis or need its type declarations.
 */
export { redisStore, StoreReplyError, type RedisClient, type RedisStoreOptions, type RedisTarget } from './rendezvous/redis-store.js';
