/** The cdktf app: one stack per stage. `npm run synth` (or `cdktf synth`) writes cdktf.out/stacks/<stack>/. */
import { App } from 'cdktf';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from './bundle.ts';
import { StateBackendError, stateBackendFromEnv } from './config/state-backend.ts';
import { StageConfigError, STAGES, stackName, validateStages } from './config/stages.ts';
import { ChatStack } from './stack.ts';

export interface SynthOptions {
  readonly outdir?: string;
  /** Where the state backend settings (WSCHAT_STATE_*) are read from. */
  readonly env?: NodeJS.ProcessEnv;
  /** The stage configuration to synthesize; tests pass broken ones. */
  readonly stages?: Record<string, unknown>;
}

/** Validates the configuration (before any bundle is built), then writes every stage's stack into `outdir`. */
export function synthesize(options: SynthOptions = {}): string {
  const env = options.env ?? process.env;
  const outdir = options.outdir ?? env.CDKTF_OUTDIR ?? path.join(REPO_ROOT, 'cdktf.out');
  const stages = validateStages(options.stages ?? STAGES);
  const stateBackend = stateBackendFromEnv(env);
  // cdktf creates only the last directory of outdir; a pipeline may point it anywhere.
  mkdirSync(outdir, { recursive: true });
  const app = new App({ outdir, skipValidation: false });
  // Next to the output, so concurrent syntheses into different directories never share bundle files.
  const buildDir = path.join(path.dirname(outdir), '.build', 'functions');
  for (const [name, stage] of Object.entries(stages)) {
    new ChatStack(app, stackName(name), { stage, stateBackend, buildDir });
  }
  app.synth();
  return outdir;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  try {
    const outdir = synthesize();
    console.log(`synthesized ${Object.keys(STAGES).map(stackName).join(', ')} into ${outdir}`);
  } catch (error) {
    // Configuration mistakes are the operator's to fix: say what is wrong, without a stack trace.
    if (!(error instanceof StageConfigError || error instanceof StateBackendError)) throw error;
    console.error(error.message);
    process.exit(1);
  }
}
