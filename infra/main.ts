/** The cdktf app: one stack per stage. `npm run synth` (or `cdktf synth`) writes cdktf.out/stacks/<stack>/. */
import { App } from 'cdktf';
import path from 'node:path';
import { REPO_ROOT } from './bundle.ts';
import { STAGES, stackName, type StageName } from './config/stages.ts';
import { ChatStack } from './stack.ts';

export function synthesize(outdir = process.env.CDKTF_OUTDIR ?? path.join(REPO_ROOT, 'cdktf.out')): string {
  const app = new App({ outdir, skipValidation: false });
  // Next to the output, so concurrent syntheses into different directories never share bundle files.
  const buildDir = path.join(path.dirname(outdir), '.build', 'functions');
  for (const stage of Object.keys(STAGES) as StageName[]) {
    new ChatStack(app, stackName(stage), { stage: STAGES[stage], buildDir });
  }
  app.synth();
  return outdir;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const outdir = synthesize();
  console.log(`synthesized ${(Object.keys(STAGES) as StageName[]).map(stackName).join(', ')} into ${outdir}`);
}
