/**
 * `npm run bench -- coldstart [--runs 7] [--stack-dir cdktf.out/stacks/wschat-dev] [--cpu-prof-dir DIR]`: per function of the synthesized dev plan, the
 * size of its bundle and the time its Init phase takes (import of the bundle, which constructs what the module
 * constructs at load), as the median of fresh Node processes, beside a minimal handler measured the same way in
 * the same run. Each function is also measured with NODE_OPTIONS=--enable-source-maps, what Lambda would run if
 * the function set it. docs/performance.md describes the method and holds the figures.
 *
 * The bundles are the plan's own zips; each process gets the plan's environment for its function plus what the
 * Lambda service adds (local/lambda/service-environment.ts), and nothing of this process's environment. Init makes
 * no network call, so the endpoints point at a closed port. Processes run one at a time, the functions interleaved
 * round by round, so a neighbour's load drifting during the run weighs on every function alike.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { ATTACHMENT_CORS_VARIABLE, CANARY_VARIABLES, IDENTITY_VARIABLES } from '../infra/config/variables.ts';
import { LOCAL_IDP } from '../local/idp.ts';
import { lambdaServiceEnvironment } from '../local/lambda/service-environment.ts';
import { synthesizedStackDir } from '../local/paths.ts';
import { StackPlan } from '../local/plan.ts';
import { extractZip } from '../local/zip.ts';
import { COLD_START_TARGETS, coldStartRows, type ColdStartSamples, type ImportSample } from './coldstart-report.ts';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    runs: { type: 'string', default: '7' },
    /** Another synthesized stack to measure (e.g. an older commit's, for before/after figures in one sitting). */
    'stack-dir': { type: 'string' },
    /** Where to write one extra, unmeasured import's CPU profile per function (`<function>.cpuprofile`). */
    'cpu-prof-dir': { type: 'string' },
  },
});
if (positionals[0] !== 'coldstart') throw new Error(`unknown benchmark ${positionals[0] ?? '(none)'}; this is coldstart`);
const runs = Number(values.runs);
// Issue #20 asks for the median of at least five fresh processes.
if (!Number.isInteger(runs) || runs < 5) throw new Error('--runs must be a whole number >= 5');
const cpuProfDir = values['cpu-prof-dir'] === undefined ? undefined : path.resolve(values['cpu-prof-dir']);

const STAGE = 'dev';
const stackDir = values['stack-dir'] === undefined ? synthesizedStackDir(STAGE) : path.resolve(values['stack-dir']);
if (!existsSync(path.join(stackDir, 'cdk.tf.json'))) throw new Error(`${stackDir} has no plan: run npm run synth first`);
/** Nothing listens here: Init must not call out, and a call would fail instead of reaching something. */
const CLOSED_ENDPOINT = 'http://127.0.0.1:9';
const PROCESS_TIMEOUT_MS = 60_000;

/**
 * Imports one bundle, as Lambda's runtime does at Init, and prints how long the import took (wall clock and the
 * process's CPU time, all threads) and when the handler was ready after the process started.
 */
const PROBE = `const cpuBefore = process.cpuUsage();
const started = performance.now();
const module = await import(process.argv[2]);
const readyMs = performance.now();
const cpu = process.cpuUsage(cpuBefore);
if (typeof module[process.argv[3]] !== 'function') throw new Error(process.argv[3] + ' is not a function');
process.stdout.write(JSON.stringify({ importMs: readyMs - started, importCpuMs: (cpu.user + cpu.system) / 1000, readyMs }));
`;
/** The smallest handler Lambda can run: what any Node process pays to import an ES module. */
const MINIMAL_HANDLER = 'export const handler = async () => ({ statusCode: 200 });\n';

interface Subject {
  readonly name: string;
  readonly file: string;
  readonly exportName: string;
  readonly env: Readonly<Record<string, string>>;
}

function loadPlan(): StackPlan {
  return StackPlan.load(stackDir, {
    apiId: 'coldstart0',
    variables: {
      [IDENTITY_VARIABLES.issuer]: LOCAL_IDP.issuer,
      [IDENTITY_VARIABLES.audience]: LOCAL_IDP.audience,
      [IDENTITY_VARIABLES.jwksUrl]: `${CLOSED_ENDPOINT}${LOCAL_IDP.jwksPath}`,
      [ATTACHMENT_CORS_VARIABLE]: JSON.stringify([CLOSED_ENDPOINT]),
      [CANARY_VARIABLES.tokenEndpoint]: `${CLOSED_ENDPOINT}${LOCAL_IDP.oauthTokenPath}`,
      [CANARY_VARIABLES.clientId]: LOCAL_IDP.canaryClientId,
      [CANARY_VARIABLES.clientSecret]: 'coldstart',
      [CANARY_VARIABLES.scope]: LOCAL_IDP.canaryScope,
    },
  });
}

function serviceEnvironment(functionName: string, runtime: string, region: string, memoryMb: number, codeDir: string, handler: string) {
  return lambdaServiceEnvironment({
    functionName,
    runtime,
    region,
    memoryMb,
    logGroupName: `/aws/lambda/${functionName}`,
    codeDir,
    handler,
    endpoints: { dynamodb: CLOSED_ENDPOINT, lambda: CLOSED_ENDPOINT, sqs: CLOSED_ENDPOINT, s3: CLOSED_ENDPOINT, secretsManager: CLOSED_ENDPOINT, xrayDaemon: '127.0.0.1:9' },
  });
}

/** Each function's bundle unpacked from the plan's zip, with the environment Lambda would give it. */
function functionSubjects(plan: StackPlan, workDir: string): Subject[] {
  return plan.resources('aws_lambda_function').map((fn) => {
    const config = plan.resolve(fn.config);
    const name = String((config.tags as Record<string, string> | undefined)?.function ?? config.function_name);
    const codeDir = path.join(workDir, name);
    extractZip(path.join(stackDir, String(config.filename)), codeDir);
    const handler = String(config.handler);
    const dot = handler.lastIndexOf('.');
    const variables = (config.environment as { variables?: Record<string, string> } | undefined)?.variables ?? {};
    const memoryMb = Number(config.memory_size ?? 128);
    return {
      name,
      file: path.join(codeDir, `${handler.slice(0, dot)}.mjs`),
      exportName: handler.slice(dot + 1),
      env: { ...variables, ...serviceEnvironment(String(config.function_name), String(config.runtime), plan.region, memoryMb, codeDir, handler) },
    };
  });
}

function baselineSubject(plan: StackPlan, workDir: string): Subject {
  const codeDir = path.join(workDir, 'minimal-handler');
  mkdirSync(codeDir);
  writeFileSync(path.join(codeDir, 'index.mjs'), MINIMAL_HANDLER);
  return {
    name: 'minimal handler',
    file: path.join(codeDir, 'index.mjs'),
    exportName: 'handler',
    env: serviceEnvironment('minimal-handler', 'nodejs22.x', plan.region, 128, codeDir, 'index.handler'),
  };
}

/** One fresh process importing the subject's bundle. */
function importOnce(probe: string, subject: Subject, nodeOptions: readonly string[]): ImportSample {
  const result = spawnSync(process.execPath, [...nodeOptions, probe, pathToFileURL(subject.file).href, subject.exportName], {
    env: { ...subject.env, PATH: process.env.PATH ?? '' },
    encoding: 'utf8',
    timeout: PROCESS_TIMEOUT_MS,
  });
  if (result.status !== 0) {
    throw new Error(`${subject.name}: the import failed (exit ${result.status ?? result.signal}): ${result.stderr || result.error?.message}`);
  }
  return JSON.parse(result.stdout) as ImportSample;
}

const SOURCE_MAPS = ['--enable-source-maps'];

const kb = (bytes: number) => `${(bytes / 1000).toLocaleString('en-US', { maximumFractionDigits: 1 })} KB`;
const ms = (value: number) => `${value.toFixed(1)} ms`;

const workDir = mkdtempSync(path.join(os.tmpdir(), 'wschat-coldstart-'));
try {
  const plan = loadPlan();
  const probe = path.join(workDir, 'probe.mjs');
  writeFileSync(probe, PROBE);
  const functions = functionSubjects(plan, workDir);
  const baseline = baselineSubject(plan, workDir);
  const loadAtStart = os.loadavg()[0] as number;
  console.log(`coldstart: ${functions.length} functions of ${stackDir}, ${runs} fresh processes each (and as many with --enable-source-maps), Node ${process.version}`);

  const samples = new Map([baseline, ...functions].map((s) => [s, { plain: [] as ImportSample[], sourceMaps: [] as ImportSample[] }]));
  for (let run = 0; run < runs; run++) {
    for (const [subject, taken] of samples) {
      taken.plain.push(importOnce(probe, subject, []));
      taken.sourceMaps.push(importOnce(probe, subject, SOURCE_MAPS));
    }
  }
  if (cpuProfDir) {
    mkdirSync(cpuProfDir, { recursive: true });
    for (const subject of samples.keys()) {
      importOnce(probe, subject, ['--cpu-prof', '--cpu-prof-dir', cpuProfDir, '--cpu-prof-name', `${subject.name.replace(/\W+/g, '-')}.cpuprofile`]);
    }
    console.log(`CPU profiles of one import each: ${cpuProfDir}`);
  }

  const bundled = (subject: Subject): ColdStartSamples => ({
    name: subject.name,
    bundleBytes: statSync(subject.file).size,
    imports: samples.get(subject)?.plain ?? [],
    importsWithSourceMaps: samples.get(subject)?.sourceMaps ?? [],
  });
  const baselineSamples = bundled(baseline);
  const rows = coldStartRows(baselineSamples, functions.map(bundled));
  const baselineRow = coldStartRows(baselineSamples, [baselineSamples])[0];
  console.log(`load average ${loadAtStart.toFixed(2)} at the start, ${(os.loadavg()[0] as number).toFixed(2)} at the end (${os.cpus().length} CPUs)\n`);
  console.log('| function | bundle | budget | import + init (median) | its CPU time | process start → handler ready | × minimal handler | import + init with --enable-source-maps | verdict |');
  console.log('|---|---:|---:|---:|---:|---:|---:|---:|---|');
  if (baselineRow) {
    console.log(
      `| ${baselineRow.name} | ${kb(baselineRow.bundleBytes)} | | ${ms(baselineRow.importMs)} | ${ms(baselineRow.importCpuMs)} | ${ms(baselineRow.readyMs)} | 1.00× | ${ms(baselineRow.importWithSourceMapsMs)} | |`,
    );
  }
  for (const row of rows) {
    const misses = [
      ...(row.bundleWithinTarget ? [] : [`bundle over ${kb(row.bundleLimitBytes)}`]),
      ...(row.timeWithinTarget ? [] : [`import + init over ${COLD_START_TARGETS.importInitMs} ms`]),
    ];
    console.log(
      `| ${row.name} | ${kb(row.bundleBytes)} | ${kb(row.bundleLimitBytes)} | ${ms(row.importMs)} | ${ms(row.importCpuMs)} | ${ms(row.readyMs)} | ` +
        `${row.readyRatioToBaseline.toFixed(2)}× | ${ms(row.importWithSourceMapsMs)} | ${misses.length ? `MISS: ${misses.join(', ')}` : 'meets'} |`,
    );
  }
  console.log('\nMedians. CPU time counts every thread of the process; under a neighbour\'s load it moves far less than the wall clock.');
} finally {
  rmSync(workDir, { recursive: true, force: true });
}
