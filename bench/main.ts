/**
 * `npm run bench -- <name> [flags]`: runs one benchmark by name. Each benchmark parses its own flags and checks
 * its own name (the first argument), so it is imported unchanged.
 */
const BENCHMARKS: Readonly<Record<string, () => Promise<unknown>>> = {
  coldstart: () => import('./coldstart.ts'),
  connections: () => import('./connections.ts'),
  fanout: () => import('./fanout.ts'),
  start: () => import('./start.ts'),
  storm: () => import('./storm.ts'),
};

const name = process.argv[2];
if (name !== undefined && Object.hasOwn(BENCHMARKS, name)) {
  await (BENCHMARKS[name] as () => Promise<unknown>)();
} else {
  console.error(`usage: npm run bench -- <name> [flags]; unknown benchmark ${name ?? '(none)'}; available: ${Object.keys(BENCHMARKS).join(', ')}`);
  process.exitCode = 2;
}
