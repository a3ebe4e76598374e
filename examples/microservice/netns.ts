/**
 * Two throw-away network namespaces joined by a veth pair, for running the
 * back end "on another host": A has 10.200.77.1/24, B 10.200.77.2/24,
 * nothing is configured in the caller's namespace. Needs root and iproute2.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';

export interface Namespaces {
  readonly a: string;
  readonly b: string;
  readonly addressA: string;
  readonly addressB: string;
  /** Starts `argv` inside namespace `ns`. */
  run(ns: string, argv: readonly string[]): ChildProcess;
  /** Deletes both namespaces (and with them the veth pair). */
  remove(): void;
}

const ip = (...args: string[]): void => void execFileSync('ip', args, { stdio: 'pipe' });

export function createNamespaces(tag = `${process.pid}`): Namespaces {
  const a = `bt-${tag}-a`;
  const b = `bt-${tag}-b`;
  const remove = (): void => {
    for (const ns of [a, b]) {
      try {
        ip('netns', 'del', ns);
      } catch {
        // Not there (never created, or already removed).
      }
    }
  };
  try {
    ip('netns', 'add', a);
    ip('netns', 'add', b);
    ip('link', 'add', `vbt${tag}a`, 'netns', a, 'type', 'veth', 'peer', 'name', `vbt${tag}b`, 'netns', b);
    ip('-n', a, 'addr', 'add', '10.200.77.1/24', 'dev', `vbt${tag}a`);
    ip('-n', b, 'addr', 'add', '10.200.77.2/24', 'dev', `vbt${tag}b`);
    for (const [ns, dev] of [[a, `vbt${tag}a`], [b, `vbt${tag}b`]] as const) {
      ip('-n', ns, 'link', 'set', 'lo', 'up');
      ip('-n', ns, 'link', 'set', dev, 'up');
    }
  } catch (err) {
    remove();
    throw new Error(`could not create network namespaces (root and iproute2 are needed): ${(err as Error).message}`, { cause: err });
  }
  return {
    a,
    b,
    addressA: '10.200.77.1',
    addressB: '10.200.77.2',
    run: (ns, argv) => spawn('ip', ['netns', 'exec', ns, ...argv], { stdio: ['ignore', 'pipe', 'inherit'] }),
    remove,
  };
}
