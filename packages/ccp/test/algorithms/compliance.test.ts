import { describe } from 'vitest';
import type { Algorithm } from '../../src/agent/algorithm.js';
import { fairShare } from '../../src/agent/aggregate.js';
import { bbr, copa, cubic, dctcp, reno, vegas, type ReportMode, type SlowStartMode, type WindowOptions } from '../../src/algorithms/index.js';
import { describeAlgorithmCompliance, type CongestionSignal } from '@bertha/ccp/testing';

const reports: ReportMode[] = ['rtt', 'ack', { intervalUs: 10_000 }];
const slowStarts: SlowStartMode[] = ['agent', 'datapath-window', 'datapath-rate'];
const label = (r: ReportMode): string => (typeof r === 'string' ? r : `every ${r.intervalUs} µs`);

const windowed: Record<string, (o: WindowOptions) => Algorithm> = {
  reno,
  cubic,
  vegas,
  dctcp,
  'aggregate-reno': (o) => fairShare(reno(o)),
};
const others: Record<string, [(o: { report: ReportMode }) => Algorithm, CongestionSignal]> = {
  bbr: [bbr, 'bandwidth'],
  copa: [copa, 'delay'],
};

describe('every built-in algorithm passes the compliance suite', () => {
  for (const report of reports) {
    for (const [name, make] of Object.entries(windowed)) {
      for (const slowStart of slowStarts) {
        describeAlgorithmCompliance({ title: `${name} (report ${label(report)}, slow start ${slowStart})`, algorithm: () => make({ report, slowStart }), signal: 'loss' });
      }
    }
    for (const [name, [make, signal]] of Object.entries(others)) {
      describeAlgorithmCompliance({ title: `${name} (report ${label(report)})`, algorithm: () => make({ report }), signal });
    }
  }
});
