import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// Tests import packages by name; resolve them to their sources so no build is
// needed. Every entry of a package's `exports` map (`.`, `./redis`, `./testing`
// …) maps `./dist/<file>.js` to `./src/<file>.ts`.
const packagesDir = fileURLToPath(new URL('./packages/', import.meta.url));
const alias = readdirSync(packagesDir).flatMap((dir) => {
  const manifest = JSON.parse(readFileSync(`${packagesDir}${dir}/package.json`, 'utf8')) as {
    name: string;
    exports?: Record<string, string | { default?: string }>;
  };
  const entries = Object.entries(manifest.exports ?? { '.': './dist/index.js' });
  return entries.flatMap(([subpath, target]) => {
    const file = typeof target === 'string' ? target : target.default;
    if (file === undefined || !file.endsWith('.js')) return [];
    const source = `${packagesDir}${dir}/${file.replace(/^\.\/dist\//, 'src/').replace(/\.js$/, '.ts')}`;
    const name = subpath === '.' ? manifest.name : `${manifest.name}/${subpath.slice(2)}`;
    // Exact-match regexes, so `@bertha/core` does not also capture `@bertha/core/testing`.
    return [{ find: new RegExp(`^${name.replace(/[/]/g, '\\/')}$`), replacement: source }];
  });
});

export default defineConfig({
  resolve: { alias },
  test: {
    include: ['packages/*/test/**/*.test.ts', 'examples/**/*.test.ts', 'test/**/*.test.ts'],
    globalSetup: ['./scripts/test-global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    reporters: ['default', './scripts/summary-reporter.ts'],
    typecheck: {
      enabled: true,
      only: false,
      include: ['packages/*/test/**/*.test-d.ts'],
      tsconfig: './tsconfig.json',
    },
  },
});
