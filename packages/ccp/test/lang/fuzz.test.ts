/**
 * Fuzzes parse → check → compile → encode with seeded random programs. Each
 * case has its own seed (printed on failure); rerun one with
 * `CCP_FUZZ_SEED=<base seed>` or by calling the generator with the case seed.
 */
import { describe, expect, it } from 'vitest';
import { CheckError, LimitError, ParseError } from '../../src/errors.js';
import { compile, decodeProgramBody, encodeProgramBody, programBodySize, type CompiledProgramInfo } from '../../src/lang/index.js';
import { createRng, generateProgram, mutateProgram, randomSource, type Rng } from './program-generator.js';

const BASE_SEED = Number(process.env.CCP_FUZZ_SEED ?? 0x5eed);
const VALID_CASES = 40_000;
const MUTATED_CASES = 40_000;
const RANDOM_CASES = 20_000;
/** Smaller than the generator's defaults to keep the run CI-sized; limits have their own tests. */
const SHAPE = { maxEvents: 3, maxStatements: 4 };

interface Failure {
  readonly seed: number;
  readonly source: string;
  readonly error: string;
}

const isTypedRejection = (err: unknown): boolean => err instanceof ParseError || err instanceof CheckError || err instanceof LimitError;

/** Whatever compile accepts must encode, and decode to itself. */
function roundTrip(p: CompiledProgramInfo): void {
  const view = new DataView(new ArrayBuffer(programBodySize(p)));
  encodeProgramBody(p, view, 0);
  const back = decodeProgramBody(view, 0, p.events.length, p.instructions.length);
  if (back.instructions.length !== p.instructions.length || back.events.length !== p.events.length) throw new Error('round trip changed the program');
}

/** Runs `cases` cases; `makeSource` builds each from its own seeded Rng. */
function fuzz(cases: number, seedOffset: number, makeSource: (rng: Rng) => string, mustCompile: boolean): { failures: Failure[]; accepted: number } {
  const failures: Failure[] = [];
  let accepted = 0;
  for (let i = 0; i < cases; i++) {
    const seed = (BASE_SEED + seedOffset + i) >>> 0;
    const source = makeSource(createRng(seed));
    try {
      roundTrip(compile(source));
      accepted++;
    } catch (err) {
      if (mustCompile || !isTypedRejection(err)) failures.push({ seed, source, error: String(err) });
    }
  }
  return { failures, accepted };
}

describe(`compiler fuzzing (base seed ${BASE_SEED})`, () => {
  it(`compiles ${VALID_CASES} generated valid programs`, () => {
    const { failures } = fuzz(VALID_CASES, 0, (rng) => generateProgram(rng, SHAPE), true);
    expect(failures.slice(0, 3)).toEqual([]);
  });

  it(`accepts or cleanly rejects ${MUTATED_CASES} mutated programs`, () => {
    const { failures, accepted } = fuzz(MUTATED_CASES, 1_000_000, (rng) => mutateProgram(rng, generateProgram(rng, SHAPE)), false);
    expect(failures.slice(0, 3)).toEqual([]);
    // Both outcomes must be exercised for the run to mean anything (most mutations break a program).
    expect(accepted).toBeGreaterThan(MUTATED_CASES / 100);
    expect(accepted).toBeLessThan(MUTATED_CASES / 2);
  });

  it(`cleanly rejects ${RANDOM_CASES} random sources`, () => {
    const { failures } = fuzz(RANDOM_CASES, 2_000_000, randomSource, false);
    expect(failures.slice(0, 3)).toEqual([]);
  });
});
