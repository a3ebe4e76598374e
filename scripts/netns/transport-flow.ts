/** A bulk flow over the CCP transport Chunnel on UDP, measured from its per-ACK samples. */
import { udp } from '@bertha/core';
import { ccpTransport, type CongestionControlOptions, type TransportSample } from '@bertha/ccp';
import type { BulkFlow } from './flow.js';

export async function startTransportFlow(host: string, port: number, cc: CongestionControlOptions, mss: number): Promise<BulkFlow> {
  let latest: TransportSample | undefined;
  let minRttUs = Infinity;
  const onSample = (s: TransportSample): void => {
    latest = s;
    if (s.rttUs > 0 && s.rttUs < minRttUs) minRttUs = s.rttUs;
  };
  const base = await udp({ recvBufferSize: 4 << 20, sendBufferSize: 4 << 20 }).connect({ host, port });
  const conn = await ccpTransport({ cc, mss, onSample, sendBufferBytes: 1 << 20, lingerUs: 0 }).connectWrap(base, { role: 'client' });
  const batch = Array.from({ length: 64 }, () => new Uint8Array(mss));
  let closed = false;
  let failure: Error | undefined;
  const pump = (async () => {
    while (!closed) await conn.sendBatch(batch);
  })().catch((e: unknown) => {
    if (!closed) failure = e instanceof Error ? e : new Error(String(e));
  });
  const algorithm = `${cc.kind} ${cc.algorithm ?? 'reno'}`;
  return {
    async probe() {
      if (failure !== undefined) throw failure;
      return {
        ackedBytes: latest?.deliveredBytes ?? 0,
        srttUs: latest?.srttUs ?? 0,
        minRttUs: Number.isFinite(minRttUs) ? minRttUs : 0,
        lossEvents: latest?.lostPackets ?? 0,
        cwndBytes: latest?.cwnd ?? 0,
        algorithm: latest?.fallback === true ? `${algorithm} (fell back to native reno)` : algorithm,
      };
    },
    async close() {
      closed = true;
      await conn.close();
      await pump;
    },
  };
}
