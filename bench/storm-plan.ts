/**
 * The plan a storm with provisioned concurrency runs: the dev plan (what the local stack can boot: its own
 * issuer, no Cognito, no custom domain) with the prod plan's provisioned concurrency. Each of prod's Lambda
 * scalable targets is copied as it is (min and max capacity) onto the dev alias of the same catalog function,
 * so nothing about provisioning is re-typed here and the rest of the dev plan (throttles, reservations) stays.
 * The copy shares the dev plan's bundles through a symlink.
 */
import { mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

type Resource = Record<string, unknown>;
interface PlanJson {
  resource: Record<string, Record<string, Resource>>;
}

const readPlan = (dir: string) => JSON.parse(readFileSync(path.join(dir, 'cdk.tf.json'), 'utf8')) as PlanJson;
const ALIAS_REFERENCE = /^function:\$\{aws_lambda_alias\.([^.}]+)\.function_name\}:\$\{aws_lambda_alias\.\1\.name\}$/;
const FUNCTION_REFERENCE = /^\$\{aws_lambda_function\.([^.}]+)\.function_name\}$/;

/** The catalog name (tag `function`) of the function an alias of `plan` belongs to. */
function catalogNameOfAlias(plan: PlanJson, aliasKey: string): string {
  const alias = plan.resource.aws_lambda_alias?.[aliasKey];
  const functionKey = FUNCTION_REFERENCE.exec(String(alias?.function_name))?.[1];
  const tags = functionKey ? (plan.resource.aws_lambda_function?.[functionKey]?.tags as Record<string, string> | undefined) : undefined;
  if (!tags?.function) throw new Error(`alias ${aliasKey} does not name a catalog function of the plan`);
  return tags.function;
}

/** The key of `plan`'s alias of the catalog function `name`. */
function aliasKeyOf(plan: PlanJson, name: string): string {
  const keys = Object.keys(plan.resource.aws_lambda_alias ?? {}).filter((key) => catalogNameOfAlias(plan, key) === name);
  if (keys.length !== 1) throw new Error(`the plan has ${keys.length} aliases of ${name}, not one`);
  return keys[0] as string;
}

/** The Lambda scalable targets of the plan in `prodDir`, by catalog function name: `function:<alias>` references only. */
export function provisionedTargetsOf(prodDir: string): Map<string, Resource> {
  const prod = readPlan(prodDir);
  const targets = new Map<string, Resource>();
  for (const [key, target] of Object.entries(prod.resource.aws_appautoscaling_target ?? {})) {
    if (target.service_namespace !== 'lambda') continue;
    const aliasKey = ALIAS_REFERENCE.exec(String(target.resource_id))?.[1];
    if (!aliasKey) throw new Error(`${key}: resource_id ${String(target.resource_id)} does not reference an alias of the plan`);
    targets.set(catalogNameOfAlias(prod, aliasKey), target);
  }
  return targets;
}

/**
 * Writes the dev plan with the prod plan's provisioned concurrency into a new directory and returns it. Fails when
 * prod provisions nothing: a storm "with provisioned concurrency" would silently be one without.
 */
export function provisionedPlanDir(devDir: string, prodDir: string): string {
  const targets = provisionedTargetsOf(prodDir);
  if (targets.size === 0) throw new Error(`${prodDir} provisions no function: nothing to copy`);
  const dev = readPlan(devDir);
  dev.resource.aws_appautoscaling_target ??= {};
  for (const [name, target] of targets) {
    const aliasKey = aliasKeyOf(dev, name);
    dev.resource.aws_appautoscaling_target[`storm_provisioned_${name}`] = {
      service_namespace: target.service_namespace,
      scalable_dimension: target.scalable_dimension,
      min_capacity: target.min_capacity,
      max_capacity: target.max_capacity,
      resource_id: `function:\${aws_lambda_alias.${aliasKey}.function_name}:\${aws_lambda_alias.${aliasKey}.name}`,
    };
  }
  const dir = path.join(mkdtempSync(path.join(tmpdir(), 'wschat-storm-plan-')), path.basename(devDir));
  mkdirSync(dir);
  symlinkSync(path.join(devDir, 'assets'), path.join(dir, 'assets'));
  writeFileSync(path.join(dir, 'cdk.tf.json'), JSON.stringify(dev));
  return dir;
}
