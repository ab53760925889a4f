/**
 * Where each stack keeps its Terraform state, chosen at synth time from the environment so pipelines configure it
 * without editing code:
 *   WSCHAT_STATE_BUCKET  S3 bucket for the state of every stage (unset: local state in the stack directory)
 *   WSCHAT_STATE_REGION  the bucket's Region (required with the bucket)
 */
import { REGION_CODE } from './stages.ts';

export const STATE_ENV = {
  bucket: 'WSCHAT_STATE_BUCKET',
  region: 'WSCHAT_STATE_REGION',
} as const;

export type StateBackend =
  | { readonly kind: 'local' }
  | { readonly kind: 's3'; readonly bucket: string; readonly region: string };

/** The state object of one stage in the bucket. */
export function stateKey(stage: string): string {
  return `wschat/${stage}/terraform.tfstate`;
}

// S3 bucket naming rules: 3-63 lowercase letters, digits, dots and hyphens, starting and ending with a letter or digit.
const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

export class StateBackendError extends Error {
  constructor(message: string) {
    super(`invalid state backend settings: ${message}`);
    this.name = 'StateBackendError';
  }
}

export function stateBackendFromEnv(env: NodeJS.ProcessEnv): StateBackend {
  const bucket = env[STATE_ENV.bucket];
  const region = env[STATE_ENV.region];
  if (!bucket) {
    if (region) throw new StateBackendError(`${STATE_ENV.region} is set but ${STATE_ENV.bucket} is not; set both for S3 state, or neither for local state`);
    return { kind: 'local' };
  }
  if (!BUCKET.test(bucket)) throw new StateBackendError(`${STATE_ENV.bucket} "${bucket}" is not a valid S3 bucket name`);
  if (!region) throw new StateBackendError(`${STATE_ENV.bucket} is set but ${STATE_ENV.region} is not; set it to the bucket's Region`);
  if (!REGION_CODE.test(region)) throw new StateBackendError(`${STATE_ENV.region} "${region}" is not an AWS Region code such as us-east-1`);
  return { kind: 's3', bucket, region };
}
