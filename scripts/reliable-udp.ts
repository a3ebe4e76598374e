/**
 * reliable() over loopback UDP with the kernel's default socket buffers and
 * loss injected in-process (issue 11, item 7): messages per second for one
 * one-way transfer, and what recovery cost.
 *
 *   pnpm tsx scripts/reliable-udp.ts [count] [size] [loss]
 */
import { performance } from 'node:perf_hooks';
import { reliable, udp } from '@bertha/core';
import { lossy } from '../packages/core/test/chunnels/lossy.js';

const [count = 3000, size = 4000, loss = 0] = process.argv.slice(2).map(Number);
const t = udp();
const listener = await t.listen({ host: '127.0.0.1', port: 0 });
const clientBase = await t.connect(listener.address);
await clientBase.send(new Uint8Array([0])); // makes the listener accept
const serverBase = await listener.accept();
await serverBase.recv();
const a = await reliable().connectWrap(lossy(clientBase, loss, 1), { role: 'client' });
const b = await reliable().connectWrap(lossy(serverBase, loss, 2), { role: 'server' });
const msg = new Uint8Array(size);
const start = performance.now();
const receiving = (async () => {
  let got = 0;
  while (got < count) got += (await b.recvBatch(count - got)).length;
})();
for (let i = 0; i < count; i += 64) await a.sendBatch(Array.from({ length: Math.min(64, count - i) }, () => msg));
await receiving;
const s = (performance.now() - start) / 1000;
console.log(JSON.stringify({ count, size, loss, seconds: +s.toFixed(2), msgPerS: Math.round(count / s), ...a.reliableStats }));
await Promise.all([a.close(), b.close()]);
await listener.close();
