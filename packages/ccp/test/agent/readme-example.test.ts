// The "five minutes" example of the README, run against the agent with a fake datapath.
import { describe, expect, it } from 'vitest';
import type { Algorithm, DatapathHandle, Flow } from '../../src/agent/algorithm.js';
import type { FlowInfo } from '../../src/agent/flow-info.js';
import type { Report } from '../../src/agent/report.js';
import { core, FakeDatapath } from './fake-datapath.js';

const programs = {
  perRtt: `
    (def (Report (volatile acked 0) (volatile lost 0)))
    (when true
      (:= Report.acked (+ Report.acked Ack.bytes_acked))
      (:= Report.lost (+ Report.lost Ack.lost_pkts_sample))
      (fallthrough))
    (when (> Report.lost 0) (report))
    (when (> Micros Flow.rtt_sample_us) (report) (:= Micros 0))`,
};

class Aimd implements Flow {
  private cwnd: number;
  constructor(
    private readonly dp: DatapathHandle<keyof typeof programs>,
    private readonly info: FlowInfo,
  ) {
    this.cwnd = info.initCwnd;
    dp.setProgram('perRtt');
  }

  onReport(r: Report<'acked' | 'lost'>): void {
    if (r.lost > 0) this.cwnd = Math.max(this.cwnd / 2, 2 * this.info.mss);
    else this.cwnd += (this.info.mss * r.acked) / this.cwnd;
    this.dp.updateField({ cwnd: Math.round(this.cwnd) });
  }
}

const aimd: Algorithm<Aimd, keyof typeof programs> = {
  name: 'aimd',
  programs,
  newFlow: (dp, info) => new Aimd(dp, info),
};

describe('README example', () => {
  it('installs its program and sets cwnd from reports', () => {
    const agent = core({ algorithms: [aimd] });
    const dp = new FakeDatapath(agent);
    dp.create(1, 'aimd', { initCwnd: 10_000, mss: 1000 });
    const uid = dp.take('changeProg')[0]!.programUid;
    dp.measure(1, uid, [10_000, 0]);
    dp.measure(1, uid, [0, 1]);
    expect(dp.take('updateFields').map((m) => m.updates[0]!.value)).toEqual([11_000, 5_500]);
  });
});
