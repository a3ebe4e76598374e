import { describe, expect, expectTypeOf, it } from 'vitest';
import { ReportError, reportLayout, type Report } from '../../src/agent/report.js';
import { flowInfo, makeReport } from '../../src/agent/testing.js';

describe('Report', () => {
  const layout = reportLayout('prog', 3, ['Report.acked', 'Report.loss', 'Report.get'], ['gain']);
  const r = layout.make([10, 2, 7], flowInfo(), 42) as Report<'acked' | 'loss' | 'get'>;

  it('reads fields by short or full name, and as properties', () => {
    expect(r.get('acked')).toBe(10);
    expect(r.get('Report.loss')).toBe(2);
    expect(r.acked).toBe(10);
    expect(r.loss).toBe(2);
    expect(r.program).toBe('prog');
    expect(r.uid).toBe(3);
    expect(r.time).toBe(42);
    expect(r.fields).toEqual(['acked', 'loss', 'get']);
    expect(r.toJSON()).toEqual({ acked: 10, loss: 2, get: 7 });
  });

  it('keeps a field named like a member readable through get()', () => {
    expect(r.get('get')).toBe(7);
    expect(typeof r.get).toBe('function');
  });

  it('fails clearly for a missing field, naming the program and its fields', () => {
    const err = (() => {
      try {
        (r as Report).get('rtt');
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(ReportError);
    expect(err).toMatchObject({ code: 'ERR_CCP_REPORT', reason: 'missing-field', program: 'prog', field: 'rtt' });
    expect((err as Error).message).toMatch(/acked, loss, get/);
  });

  it('fails clearly for a control variable or a primitive read as a report field', () => {
    expect(() => (r as Report).get('gain')).toThrow(expect.objectContaining({ reason: 'not-a-report-field' }));
    expect(() => (r as Report).get('Flow.rtt_sample_us')).toThrow(/copy it into one/);
  });

  it('types field names when given', () => {
    const t = makeReport<'acked'>('p', { acked: 1 });
    expectTypeOf(t.acked).toBeNumber();
    // @ts-expect-error: 'loss' is not a field of this report type
    expect(() => t.get('loss')).toThrow(ReportError);
  });
});
