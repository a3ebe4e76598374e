/**
 * The agent's program table: every algorithm's programs compiled once at
 * start and given a uid (global per agent, as INSTALL is global per datapath).
 */
import { InvalidArgumentError } from '@bertha/core';
import { CcpError } from '../errors.js';
import { compile, type CompiledProgramInfo, type ProgramVariable } from '../lang/index.js';
import type { Algorithm } from './algorithm.js';
import { reportLayout, type ReportLayout } from './report.js';

export interface InstalledProgram {
  readonly uid: number;
  readonly algorithm: string;
  readonly name: string;
  readonly compiled: CompiledProgramInfo;
  readonly layout: ReportLayout;
  /** Control variables by name, with and without a `Report.`-free short form (they have none). */
  readonly controls: ReadonlyMap<string, ProgramVariable>;
}

export interface ProgramTable {
  /** By uid (uids start at 1: 0 marks a close on the wire). */
  readonly byUid: ReadonlyMap<number, InstalledProgram>;
  /** Algorithm name → program name → program. */
  readonly byAlgorithm: ReadonlyMap<string, ReadonlyMap<string, InstalledProgram>>;
}

/** Compiles every program of every algorithm; a program that does not compile fails agent start, naming it. */
export function compilePrograms(algorithms: readonly Algorithm[]): ProgramTable {
  const byUid = new Map<number, InstalledProgram>();
  const byAlgorithm = new Map<string, Map<string, InstalledProgram>>();
  // Algorithms often share sources (all built-ins use the generic programs): compile each text once.
  const cache = new Map<string, CompiledProgramInfo>();
  for (const alg of algorithms) {
    if (byAlgorithm.has(alg.name)) throw new InvalidArgumentError(`two algorithms are named '${alg.name}': names must be unique`);
    const mine = new Map<string, InstalledProgram>();
    byAlgorithm.set(alg.name, mine);
    for (const [name, source] of Object.entries<string>(alg.programs)) {
      let compiled = cache.get(source);
      if (compiled === undefined) {
        try {
          compiled = compile(source);
        } catch (err) {
          throw new CcpError(
            (err as CcpError).code ?? 'ERR_CCP_CHECK',
            `program '${name}' of algorithm '${alg.name}' does not compile: ${(err as Error).message}`,
            { cause: err },
          );
        }
        cache.set(source, compiled);
      }
      const uid = byUid.size + 1;
      const controls = new Map(compiled.controls.map((c) => [c.name, c]));
      const program: InstalledProgram = {
        uid,
        algorithm: alg.name,
        name,
        compiled,
        controls,
        layout: reportLayout(
          name,
          uid,
          compiled.reports.map((r) => r.name),
          compiled.controls.map((c) => c.name),
        ),
      };
      byUid.set(uid, program);
      mine.set(name, program);
    }
  }
  return { byUid, byAlgorithm };
}
