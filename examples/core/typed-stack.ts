/**
 * @bertha/core in one file: a typed stack (serialize → ordered → reliable)
 * over a lossy in-memory network and over UDP, built with `wrap` (no
 * negotiation), plus an optimization pass.
 *
 *   pnpm tsx examples/core/typed-stack.ts
 */
import { applyPass, makeStack, memNetwork, noop, ordered, reliable, serialize, subst, transport, wrap, type Transport } from '@bertha/core';

interface Order {
  id: number;
  item: string;
}

const stack = makeStack(serialize<Order>(), ordered(), reliable({ minRtoMs: 5, ackDelayMs: 1 }));

async function roundTrip<A>(name: string, base: Transport<A>, addr: A): Promise<void> {
  const listener = await base.listen(addr);
  const client = await wrap(stack, await base.connect(listener.address));
  await client.sendBatch(Array.from({ length: 100 }, (_, id) => ({ id, item: `widget-${id}` })));
  const server = await wrap(stack, await listener.accept(), { role: 'server' });
  const got: Order[] = [];
  while (got.length < 100) got.push(...(await server.recvBatch(100)));
  const inOrder = got.every((o, i) => o.id === i);
  console.log(`${name}: received ${got.length} orders, in order: ${inOrder}`);
  await client.close();
  await server.close();
  await listener.close();
}

// 10 % loss, 10 % duplication and reordering: reliable() and ordered() hide all of it.
await roundTrip('mem (lossy)', transport('mem', memNetwork({ seed: 7, loss: 0.1, duplicate: 0.1, reorder: 0.1 })), { name: '' });
await roundTrip('udp', transport('udp'), { host: '127.0.0.1', port: 0 });

// An optimization pass: a plain value that rewrites stacks by Chunnel name.
const dropNoop = subst(['*', 'noop', '*'], noop());
console.log('pass result:', applyPass(makeStack(serialize<Order>(), noop(), reliable()), dropNoop).names.join(' → '));
