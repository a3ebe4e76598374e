export * from './store.js';
export { memoryStore, type MemoryStoreOptions } from './memory-store.js';
export { redisStore, StoreReplyError, type RedisStoreOptions } from './redis-store.js';
