import { mulberry32, type Conn } from '@bertha/core';
import { keyFirst } from '@bertha/chunnels-shard';

/** A request of the sharded store's shape; keys of 0 to 31 UTF-8 bytes, some non-ASCII. */
export interface Req {
  key: string;
  op: 'get' | 'put';
  id: number;
  value?: string;
}

const alphabet = ['a', 'b', 'k', 'Z', '0', '9', '-', 'é', '中', '😀'];

export function randomRequests(n: number, seed: number): Req[] {
  const rand = mulberry32(seed);
  const out: Req[] = [];
  while (out.length < n) {
    let key = '';
    const len = Math.floor(rand() * 24);
    for (let i = 0; i < len; i++) key += alphabet[Math.floor(rand() * alphabet.length)];
    if (Buffer.byteLength(key) > 31) continue;
    const put = rand() < 0.5;
    const r: Req = put ? { key, op: 'put', id: out.length, value: 'v'.repeat(Math.floor(rand() * 120)) } : { key, op: 'get', id: out.length };
    out.push(r);
  }
  return out;
}

/** The encoder of `keyFirst(field)`, taken from the Chunnel itself (its connection's codec). */
export async function keyFirstEncoder(field: string): Promise<(r: Req) => Uint8Array> {
  let sent: Uint8Array | undefined;
  const sink = { send: async (m: Uint8Array) => void (sent = m), closed: false } as unknown as Conn<Uint8Array>;
  const conn = await keyFirst<Req>(field).connectWrap(sink, { role: 'client' });
  return (r) => {
    void conn.send(r);
    return sent!;
  };
}
