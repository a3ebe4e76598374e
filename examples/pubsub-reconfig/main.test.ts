// The example end to end, on the SQS emulator and on the in-process queue:
// it exits 0 only if every message arrived exactly once and in per-group order.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));
const tsx = `${root}node_modules/.bin/tsx`;
const main = fileURLToPath(new URL('./main.ts', import.meta.url));

describe('examples/pubsub-reconfig', () => {
  for (const args of [[], ['--memory']]) {
    it(`switches ordering as receivers come and go, nothing lost or duplicated (${args.join(' ') || 'SQS emulator'})`, { timeout: 120_000 }, () => {
      const run = spawnSync(tsx, [main, ...args], { cwd: root, encoding: 'utf8', timeout: 110_000 });
      expect(run.stdout).toContain('each exactly once: true; per-group order kept: true');
      expect(run.stdout).toMatch(/receiver-2: [1-9]\d* messages/);
      expect(run.status).toBe(0);
    });
  }
});
