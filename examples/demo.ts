/**
 * `pnpm demo`: every example end to end, on embedded defaults (in-memory
 * rendezvous, in-process servers), no configuration. Each example runs in its
 * own process so one cannot leak state into the next; the demo stops at the
 * first failure with that example's exit code.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const examples: ReadonlyArray<readonly [title: string, file: string, args?: readonly string[]]> = [
  ['Typed stacks over a lossy network and UDP (@bertha/core)', 'core/typed-stack.ts'],
  ['Negotiated echo microservice, 1-RTT and 0-RTT (@bertha/negotiate)', 'negotiate/echo.ts'],
  ['Pub/sub with runtime reconfiguration on the SQS emulator (@bertha/chunnels-pubsub, rendezvous)', 'pubsub-reconfig/main.ts'],
  ['CCP agent driving a datapath in one process (@bertha/ccp)', 'ccp/agent-in-process.ts'],
  ['CCP transport in the simulator, with a plot (ccp-sim)', 'ccp/sim-demo.ts'],
];

const root = fileURLToPath(new URL('.', import.meta.url));
const tsx = fileURLToPath(new URL('../node_modules/.bin/tsx', import.meta.url));

for (const [title, file, args = []] of examples) {
  const path = `${root}${file}`;
  if (!existsSync(path)) throw new Error(`example ${file} is listed in examples/demo.ts but does not exist`);
  console.log(`\n━━ ${title}\n   examples/${file}\n`);
  const t0 = performance.now();
  const run = spawnSync(tsx, [path, ...args], { stdio: 'inherit', cwd: fileURLToPath(new URL('..', import.meta.url)) });
  if (run.status !== 0) {
    console.error(`\nexample ${file} failed (exit ${run.status ?? run.signal})`);
    process.exit(run.status ?? 1);
  }
  console.log(`   ✓ ${((performance.now() - t0) / 1000).toFixed(1)} s`);
}
console.log('\nAll examples ran.');
