/**
 * The raw-offset pass: replaces the deserializing sharder with one that
 * reads the key's bytes at the fixed offset of `layout`, without decoding.
 *
 * Why it is safe: the raw sharder requires the layout capability (one-sided,
 * no label of its own), and only a serializer that writes that layout
 * supplies it (`keyFirst(field)`, whose layout was derived from its own
 * encoder). So negotiation picks a raw sharder only for clients whose
 * serializer writes the key where the sharder reads it, and refuses it,
 * naming the layout, for any other.
 */
import { StackError, subst, type AnyChunnel, type Pass } from '@bertha/core';
import { rawKey, type KeyLayout } from './keys.js';
import { sharder, type ServerShardChunnel } from './server-shard.js';

export function shardRaw(layout: KeyLayout): Pass<readonly ['*', 'shard-server', '*'], ServerShardChunnel<unknown, 'shard-server-raw'>> {
  return subst(['*', 'shard-server', '*'] as const, (matched: readonly AnyChunnel[]) => {
    const original = matched[0] as Partial<ServerShardChunnel<unknown>> | undefined;
    if (original?.config === undefined) throw new StackError("shardRaw: the 'shard-server' position is not a serverShard() sharder");
    if (original.config.keyField !== layout.keyField) {
      throw new StackError(`shardRaw: the layout is for key field '${layout.keyField}', the sharder shards by '${original.config.keyField}'`);
    }
    return sharder({ ...original.config, keys: rawKey(layout) }, 'shard-server-raw');
  });
}
