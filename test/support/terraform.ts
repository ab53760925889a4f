/**
 * Helpers for suites that run the real terraform CLI against a synthesized stack, offline: the AWS provider
 * comes from a filesystem mirror and the provider is given fake credentials by a test-only override file.
 */
import { execFile } from 'node:child_process';
import { accessSync, constants, cpSync, existsSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const PROVIDER_HOST = 'registry.terraform.io';

/** terraform's name for this machine's platform, e.g. linux_amd64. */
export function terraformPlatform(): string {
  const arch = ({ x64: 'amd64', arm64: 'arm64', ia32: '386', arm: 'arm' } as Record<string, string>)[process.arch] ?? process.arch;
  return `${process.platform}_${arch}`;
}

/** The terraform binary: $TERRAFORM_BIN, else the first executable `terraform` on PATH. */
export function findTerraform(): string | undefined {
  const candidates = [
    process.env.TERRAFORM_BIN,
    ...(process.env.PATH ?? '').split(path.delimiter).filter(Boolean).map((dir) => path.join(dir, 'terraform')),
  ];
  for (const candidate of candidates) {
    if (!candidate) continue;
    try {
      accessSync(candidate, constants.X_OK);
      if (statSync(candidate).isFile()) return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** Places a provider filesystem mirror is looked for, in order: $TF_PROVIDER_MIRROR first, then the usual roots. */
export function mirrorCandidates(): string[] {
  const home = os.homedir();
  const candidates = [
    process.env.TF_PROVIDER_MIRROR,
    '/opt/tf-plugins',
    path.join(home, '.terraform.d', 'plugins'),
    path.join(home, '.local', 'share', 'terraform', 'plugins'),
    '/usr/local/share/terraform/plugins',
    '/usr/share/terraform/plugins',
  ];
  return [...new Set(candidates.filter((c): c is string => Boolean(c)))];
}

/** The directory inside a mirror root that holds one provider version for this platform (unpacked layout). */
export function providerDirIn(root: string, namespace: string, type: string, version: string): string {
  return path.join(root, PROVIDER_HOST, namespace, type, version, terraformPlatform());
}

/** The first mirror root that holds hashicorp/<type> <version> for this platform. */
export function findProviderMirror(type: string, version: string): string | undefined {
  return mirrorCandidates().find((root) => existsSync(providerDirIn(root, 'hashicorp', type, version)));
}

/** A CLI config that installs hashicorp providers from the mirror only and never reaches a registry. */
export function writeCliConfig(dir: string, mirrorRoot: string): string {
  const file = path.join(dir, 'terraform.tfrc');
  writeFileSync(
    file,
    `provider_installation {
  filesystem_mirror {
    path    = ${JSON.stringify(mirrorRoot)}
    include = ["${PROVIDER_HOST}/hashicorp/*"]
  }
  direct {
    exclude = ["${PROVIDER_HOST}/*/*"]
  }
}
`,
  );
  return file;
}

/**
 * Test-only override: fake credentials and no calls to STS/IMDS/region checks, so `plan` runs offline.
 * Terraform merges `*_override.tf.json` into the stack's configuration; it never ships (it only exists in a temp copy).
 */
export const OFFLINE_PROVIDER_OVERRIDE = {
  provider: {
    aws: {
      access_key: 'AKIATESTTESTTESTTEST',
      secret_key: 'test-secret-key-not-real',
      skip_credentials_validation: true,
      skip_requesting_account_id: true,
      skip_metadata_api_check: true,
      skip_region_validation: true,
    },
  },
};

/** Copies a synthesized stack dir into `workRoot/<name>` and adds the offline provider override. */
export function prepareWorkdir(stackDir: string, workRoot: string): string {
  const dir = path.join(workRoot, path.basename(stackDir));
  cpSync(stackDir, dir, { recursive: true });
  writeFileSync(path.join(dir, 'provider_override.tf.json'), JSON.stringify(OFFLINE_PROVIDER_OVERRIDE, null, 2));
  return dir;
}

/** The child environment: hermetic (no AWS credentials/profiles or TF_* settings leak in from the caller). */
export function terraformEnv(cliConfigFile: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (key.startsWith('AWS_')) continue;
    if (key.startsWith('TF_') && key !== 'TF_LOG' && key !== 'TF_LOG_PATH') continue;
    env[key] = value;
  }
  return {
    ...env,
    TF_CLI_CONFIG_FILE: cliConfigFile,
    TF_IN_AUTOMATION: '1',
    TF_INPUT: '0',
    CHECKPOINT_DISABLE: '1',
    AWS_EC2_METADATA_DISABLED: 'true',
    // Go's collector in terraform and the provider it starts (which inherits this env) runs 4x less often: each
    // command decodes the AWS provider's whole schema, and at the default (100) collection is a fifth of its CPU.
    // Off saves about 1 s more a plan but lets one grow to 1.4 GB (docs/engineering.md, "The suite").
    GOGC: '400',
  };
}

export interface TerraformResult {
  readonly args: readonly string[];
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs terraform and resolves with its exit code and output (it never rejects on a non-zero exit). */
export function runTerraform(
  terraform: string,
  args: readonly string[],
  options: { cwd: string; env: NodeJS.ProcessEnv; timeoutMs?: number },
): Promise<TerraformResult> {
  return new Promise((resolve, reject) => {
    execFile(
      terraform,
      [...args],
      { cwd: options.cwd, env: options.env, timeout: options.timeoutMs ?? 120_000, maxBuffer: 512 * 1024 * 1024 },
      (error, stdout, stderr) => {
        if (error && typeof error.code !== 'number') {
          reject(new Error(`terraform ${args.join(' ')} did not run in ${options.cwd}: ${error.message}\n${stderr}`));
          return;
        }
        resolve({ args, code: error ? Number(error.code) : 0, stdout, stderr });
      },
    );
  });
}

/** Like runTerraform, but rejects with the command's output when it exits non-zero. */
export async function mustRun(
  terraform: string,
  args: readonly string[],
  options: { cwd: string; env: NodeJS.ProcessEnv; timeoutMs?: number },
): Promise<TerraformResult> {
  const result = await runTerraform(terraform, args, options);
  if (result.code !== 0) {
    // stderr carries the diagnostics; stdout (a whole plan rendering) is cut to its end.
    const stdout = result.stdout.length > 4000 ? `...${result.stdout.slice(-4000)}` : result.stdout;
    throw new Error(
      `terraform ${args.join(' ')} exited ${result.code} in ${options.cwd}\n--- stderr ---\n${result.stderr}\n--- stdout (end) ---\n${stdout}`,
    );
  }
  return result;
}
