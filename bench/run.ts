/**
 * `pnpm bench <name> [args…]` runs bench/<name>.ts. Each benchmark measures
 * its figure side by side with its baseline in one run, prints a table and
 * writes bench-results/<name>.json.
 */
import { existsSync, readdirSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';

const dir = fileURLToPath(new URL('.', import.meta.url));
const available = readdirSync(dir)
  .filter((f) => f.endsWith('.ts') && f !== 'run.ts')
  .map((f) => f.slice(0, -3));
const name = process.argv[2];
if (!name || !available.includes(name)) {
  console.error(`usage: pnpm bench <name>\navailable: ${available.join(', ')}`);
  process.exit(name ? 1 : 0);
}
const file = `${dir}${name}.ts`;
if (!existsSync(file)) process.exit(1);
process.argv.splice(2, 1);
await import(pathToFileURL(file).href);
