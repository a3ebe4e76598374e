/**
 * Reports: the values of one MEASURE, bound to the program that produced it,
 * so they are always read with that program's field names and never with
 * those of a program installed later.
 */
import { CcpError } from '../errors.js';
import type { FlowInfo } from './flow-info.js';

export type ReportErrorReason = 'missing-field' | 'not-a-report-field';

/** A report was read with a name its program does not report. */
export class ReportError extends CcpError {
  readonly reason: ReportErrorReason;
  readonly program: string;
  readonly field: string;
  constructor(reason: ReportErrorReason, program: string, field: string, message: string) {
    super('ERR_CCP_REPORT', message);
    this.reason = reason;
    this.program = program;
    this.field = field;
  }
}

/** Names that are members of every report, so fields with these names are read only with `get`. */
const RESERVED = ['get', 'has', 'program', 'uid', 'flow', 'time', 'fields', 'toJSON'] as const;
type Reserved = (typeof RESERVED)[number];

/** Short field name: `Report.acked` → `acked`. */
type Short<F extends string> = F extends `Report.${infer S}` ? S : F;

/** What every report offers; `F` are the field names of its program (short or with `Report.`). */
export interface ReportBase<F extends string = string> {
  /** Name of the program that produced the report. */
  readonly program: string;
  /** Uid of that program on the datapath. */
  readonly uid: number;
  /** The flow that sent it (for aggregates: the member flow). */
  readonly flow: FlowInfo;
  /** Agent clock when the report arrived, µs (monotonic). */
  readonly time: number;
  /** Field names of the producing program, short form, in register order. */
  readonly fields: readonly string[];
  /**
   * The value of field `name` (`'acked'` or `'Report.acked'`); Bools read as 0/1.
   * Throws a `ReportError` if the program has no such Report field.
   */
  get(name: Short<F> | `Report.${Short<F>}`): number;
  has(name: string): boolean;
  toJSON(): Record<string, number>;
}

/**
 * A report. With field names given (`Report<'acked' | 'loss'>`) `get` is
 * checked by tsc and each field is also a property: `report.acked`.
 */
export type Report<F extends string = string> = string extends F
  ? ReportBase
  : ReportBase<F> & { readonly [K in Exclude<Short<F>, Reserved>]: number };

/** Everything needed to read reports of one installed program. */
export interface ReportLayout {
  readonly program: string;
  readonly uid: number;
  /** Short names of Report fields in register order. */
  readonly fields: readonly string[];
  /** Control variable names (for clear errors when one is read as a report field). */
  readonly controls: readonly string[];
  /** Builds a report from MEASURE values (one per field, register order). */
  make(values: ArrayLike<number>, flow: FlowInfo, time: number): ReportBase;
}

const PRIMITIVE_PREFIXES = ['Ack.', 'Flow.'];

abstract class ReportImpl implements ReportBase {
  abstract readonly layout: ReportLayout;
  abstract readonly index: ReadonlyMap<string, number>;
  constructor(
    protected readonly values: ArrayLike<number>,
    readonly flow: FlowInfo,
    readonly time: number,
  ) {}

  get program(): string {
    return this.layout.program;
  }
  get uid(): number {
    return this.layout.uid;
  }
  get fields(): readonly string[] {
    return this.layout.fields;
  }

  get(name: string): number {
    const i = this.index.get(name);
    if (i !== undefined) return this.values[i] ?? 0;
    throw this.missing(name);
  }

  has(name: string): boolean {
    return this.index.has(name);
  }

  toJSON(): Record<string, number> {
    return Object.fromEntries(this.layout.fields.map((f, i) => [f, this.values[i] ?? 0]));
  }

  private missing(name: string): ReportError {
    const { program, controls, fields } = this.layout;
    const short = name.startsWith('Report.') ? name.slice(7) : name;
    if (controls.includes(short) || PRIMITIVE_PREFIXES.some((p) => name.startsWith(p)) || name === 'Cwnd' || name === 'Rate') {
      return new ReportError(
        'not-a-report-field',
        program,
        name,
        `'${name}' is not a Report field of program '${program}': only (Report …) variables are sent in reports; copy it into one, e.g. (:= Report.x ${name})`,
      );
    }
    return new ReportError(
      'missing-field',
      program,
      name,
      `program '${program}' reports no field '${name}'; its fields are: ${fields.join(', ') || '(none)'}`,
    );
  }
}

/**
 * The layout of a program's reports. Each layout gets its own report class
 * with one getter per field, so `report.acked` is a plain property read.
 */
export function reportLayout(program: string, uid: number, fields: readonly string[], controls: readonly string[] = []): ReportLayout {
  const short = fields.map((f) => (f.startsWith('Report.') ? f.slice(7) : f));
  const index = new Map<string, number>();
  short.forEach((f, i) => {
    index.set(f, i);
    index.set(`Report.${f}`, i);
  });
  const ctrl = controls.map((c) => (c.startsWith('Report.') ? c.slice(7) : c));
  class LayoutReport extends ReportImpl {
    get layout(): ReportLayout {
      return layout;
    }
    get index(): ReadonlyMap<string, number> {
      return index;
    }
  }
  short.forEach((f, i) => {
    if ((RESERVED as readonly string[]).includes(f)) return;
    Object.defineProperty(LayoutReport.prototype, f, {
      get(this: { values: ArrayLike<number> }) {
        return this.values[i] ?? 0;
      },
      enumerable: true,
    });
  });
  const layout: ReportLayout = {
    program,
    uid,
    fields: short,
    controls: ctrl,
    make: (values, flow, time) => new LayoutReport(values, flow, time),
  };
  return layout;
}
