/**
 * Typed configuration of every stage, in one place. Values that differ per deployment (the identity
 * provider) are Terraform variables, not literals; see infra/constructs/identity.ts.
 */
export interface ThrottleSettings {
  /** Steady-state requests per second. */
  readonly rateLimit: number;
  readonly burstLimit: number;
}

export interface ObservabilitySettings {
  /** Alarm descriptions link `<runbookBaseUrl>/dashboards/runbooks/<alarm>.md`. */
  readonly runbookBaseUrl: string;
  /** Per-stage thresholds replacing the catalog's defaults (dashboards/alarms.ts). */
  readonly alarmThresholds?: Readonly<Partial<Record<string, number>>>;
  /** Share of requests X-Ray samples beyond the first one each second. */
  readonly traceSampleRate: number;
}

export interface StageConfig {
  readonly name: string;
  readonly region: string;
  readonly logRetentionDays: number;
  readonly logLevel: 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';
  readonly throttle: ThrottleSettings;
  readonly deletionProtection: boolean;
  readonly tags: Readonly<Record<string, string>>;
  readonly observability: ObservabilitySettings;
}

const RUNBOOKS = 'https://github.com/wschat/wschat/blob/main';

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
    observability: { runbookBaseUrl: RUNBOOKS, traceSampleRate: 1, alarmThresholds: { 'auth-failures': 20 } },
  },
  prod: {
    name: 'prod',
    region: 'us-east-1',
    logRetentionDays: 90,
    logLevel: 'INFO',
    throttle: { rateLimit: 1000, burstLimit: 2000 },
    deletionProtection: true,
    tags: { owner: 'chat-team', 'cost-center': 'chat-prod' },
    observability: { runbookBaseUrl: RUNBOOKS, traceSampleRate: 0.05 },
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
