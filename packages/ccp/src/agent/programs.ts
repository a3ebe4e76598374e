/**
 * The agent's program table: every algorithm's programs compiled once at
 * start. Programs with the same source share one uid (most built-ins use the
 * same generic programs), so a datapath installs each distinct program once.
 */
import { InvalidArgumentError } from '@bertha/core';
import { CcpError } from '../errors.js';
import { compile, type CompiledProgramInfo, type ProgramVariable } from '../lang/index.js';
import type { Algorithm } from './algorithm.js';
import { reportLayout, type ReportLayout } from './report.js';

/** One distinct program: what INSTALL carries. */
export interface DistinctProgram {
  /** Its uid on every datapath (uids start at 1: 0 marks a close on the wire). */
  readonly uid: number;
  readonly compiled: CompiledProgramInfo;
}

/** A program as one algorithm names it. */
export interface InstalledProgram extends DistinctProgram {
  readonly algorithm: string;
  readonly name: string;
  readonly layout: ReportLayout;
  /** Control variables by name. */
  readonly controls: ReadonlyMap<string, ProgramVariable>;
}

export interface ProgramTable {
  /** Distinct programs by uid. */
  readonly byUid: ReadonlyMap<number, DistinctProgram>;
  /** Algorithm name → program name → program. */
  readonly byAlgorithm: ReadonlyMap<string, ReadonlyMap<string, InstalledProgram>>;
  /** Algorithm name → uids of the distinct programs it may select: what a datapath needs installed for its flows. */
  readonly uidsOf: ReadonlyMap<string, readonly number[]>;
}

/**
 * Compiled programs by source, and their report layouts by uid and name,
 * shared by the agents of a process (both are immutable): a simulation starts
 * an agent per run, and compiling the built-ins' programs and building their
 * layouts again was most of the 5 ms a run's set-up took. Cleared when full,
 * so programs generated on the fly cannot grow them without bound.
 */
const CACHE_LIMIT = 512;
const compiledBySource = new Map<string, CompiledProgramInfo>();
const layouts = new WeakMap<CompiledProgramInfo, Map<string, ReportLayout>>();

function cached<V>(cache: Map<string, V>, key: string, make: () => V): V {
  let v = cache.get(key);
  if (v === undefined) {
    v = make();
    if (cache.size >= CACHE_LIMIT) cache.clear();
    cache.set(key, v);
  }
  return v;
}

function layoutsOf(compiled: CompiledProgramInfo): Map<string, ReportLayout> {
  let m = layouts.get(compiled);
  if (m === undefined) layouts.set(compiled, (m = new Map<string, ReportLayout>()));
  return m;
}

/** Compiles every program of every algorithm; a program that does not compile fails agent start, naming it. */
export function compilePrograms(algorithms: readonly Algorithm[]): ProgramTable {
  const byUid = new Map<number, DistinctProgram>();
  const bySource = new Map<string, DistinctProgram>();
  const byAlgorithm = new Map<string, Map<string, InstalledProgram>>();
  const uidsOf = new Map<string, number[]>();
  for (const alg of algorithms) {
    if (byAlgorithm.has(alg.name)) throw new InvalidArgumentError(`two algorithms are named '${alg.name}': names must be unique`);
    const mine = new Map<string, InstalledProgram>();
    byAlgorithm.set(alg.name, mine);
    const uids = new Set<number>();
    for (const [name, source] of Object.entries<string>(alg.programs)) {
      let distinct = bySource.get(source);
      if (distinct === undefined) {
        let compiled: CompiledProgramInfo;
        try {
          compiled = cached(compiledBySource, source, () => compile(source));
        } catch (err) {
          throw new CcpError(
            (err as CcpError).code ?? 'ERR_CCP_CHECK',
            `program '${name}' of algorithm '${alg.name}' does not compile: ${(err as Error).message}`,
            { cause: err },
          );
        }
        distinct = { uid: byUid.size + 1, compiled };
        bySource.set(source, distinct);
        byUid.set(distinct.uid, distinct);
      }
      const { uid, compiled } = distinct;
      uids.add(uid);
      mine.set(name, {
        uid,
        compiled,
        algorithm: alg.name,
        name,
        controls: new Map(compiled.controls.map((c) => [c.name, c])),
        layout: cached(layoutsOf(compiled), `${uid}\n${name}`, () =>
          reportLayout(
            name,
            uid,
            compiled.reports.map((r) => r.name),
            compiled.controls.map((c) => c.name),
          ),
        ),
      });
    }
    uidsOf.set(alg.name, [...uids]);
  }
  return { byUid, byAlgorithm, uidsOf };
}
