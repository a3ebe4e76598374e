// Global test setup: servers that tests share are started here, on free loopback
// ports, and stopped in the returned teardown. Packages register their servers
// in scripts/servers/*.ts as they need them.
export default async function setup(): Promise<() => Promise<void>> {
  const teardowns: Array<() => Promise<void>> = [];
  return async () => {
    for (const t of teardowns.reverse()) await t();
  };
}
