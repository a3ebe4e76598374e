/**
 * A negotiated echo microservice over UDP. The server offers reliable() or
 * ordered() below its serializer and prefers reliable(); clients offer their
 * own alternatives, and negotiation picks what both can run — explaining
 * every choice. A repeat connection uses 0-RTT; an incompatible client gets a
 * NegotiationError that names what did not match.
 *
 *   pnpm tsx examples/negotiate/echo.ts
 */
import { atMostOnce, makeStack, ordered, reliable, select, serialize, transport } from '@bertha/core';
import { confirmed, connect, listen, negotiated, NegotiationError } from '@bertha/negotiate';

interface Echo {
  seq: number;
  text: string;
}

const udp = transport('udp');
// onError sees every negotiation the server refused (a listener without it warns once).
const server = await listen(makeStack(serialize<Echo>(), select(reliable(), ordered())), udp, { host: '127.0.0.1', port: 0 }, {
  onError: (err, peer) => console.log(`server refused ${peer}: ${err instanceof NegotiationError ? err.code : err.message}`),
});
void (async () => {
  for await (const conn of server) {
    void (async () => {
      for await (const msg of conn) await conn.send({ ...msg, text: msg.text.toUpperCase() });
    })().catch(() => undefined);
  }
})();

// The client prefers ordered(); the server's preference for reliable() wins.
const clientStack = makeStack(serialize<Echo>(), select(ordered(), reliable()));
const conn = await connect(clientStack, udp, server.address);
await conn.send({ seq: 1, text: 'hello, bertha' });
console.log('echo:', (await conn.recv()).text);
const how = negotiated(conn);
console.log(`1-RTT picked [${how?.stack.join(', ')}]`);
for (const d of how?.decisions ?? []) console.log(`  ${d.side} select: took '${d.taken}' over '${d.rejected}': ${d.reason}`);
await conn.close();

// The pick is cached per (server, stack): the next connection sends it with its first data.
const fast = await connect(clientStack, udp, server.address, { zeroRtt: true });
await fast.send({ seq: 2, text: 'zero round trips' });
console.log('echo:', (await fast.recv()).text, `(mode ${(await confirmed(fast)).mode})`);
await fast.close();

// A client whose stack the server cannot run fails on both ends, with reasons.
try {
  await connect(makeStack(serialize<Echo>(), atMostOnce()), udp, server.address, { timeoutMs: 2000 });
} catch (err) {
  if (!(err instanceof NegotiationError)) throw err;
  console.log(`incompatible client: ${err.code}\n  ${err.message}`);
}
await server.close();
