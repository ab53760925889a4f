/**
 * Typed configuration of every stage, in one place. Values that differ per deployment (the identity
 * provider) are Terraform variables, not literals; see infra/constructs/identity.ts.
 */
export interface ThrottleSettings {
  /** Steady-state requests per second. */
  readonly rateLimit: number;
  readonly burstLimit: number;
}

export interface StageConfig {
  readonly name: string;
  readonly region: string;
  readonly logRetentionDays: number;
  readonly logLevel: 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';
  readonly throttle: ThrottleSettings;
  readonly deletionProtection: boolean;
  readonly tags: Readonly<Record<string, string>>;
}

export const SERVICE = 'wschat';

export const STAGES = {
  dev: {
    name: 'dev',
    region: 'us-east-1',
    logRetentionDays: 14,
    logLevel: 'DEBUG',
    throttle: { rateLimit: 100, burstLimit: 200 },
    deletionProtection: false,
    tags: { owner: 'chat-team', 'cost-center': 'chat-dev' },
  },
  prod: {
    name: 'prod',
    region: 'us-east-1',
    logRetentionDays: 90,
    logLevel: 'INFO',
    throttle: { rateLimit: 1000, burstLimit: 2000 },
    deletionProtection: true,
    tags: { owner: 'chat-team', 'cost-center': 'chat-prod' },
  },
} as const satisfies Record<string, StageConfig>;

export type StageName = keyof typeof STAGES;

/** `wschat-dev`, the stack directory under cdktf.out/stacks/ and the prefix of every resource name. */
export function stackName(stage: StageName): string {
  return `${SERVICE}-${stage}`;
}

/** The one naming convention: `<service>-<stage>-<part>`. */
export function resourceName(stage: StageConfig, part: string): string {
  return `${SERVICE}-${stage.name}-${part}`;
}
