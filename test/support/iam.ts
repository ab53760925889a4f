/**
 * IAM checks shared by the infra suite (documents in the synthesized plan, with Terraform references) and the
 * terraform suite (trust policies and attachments in the real plan). Each returns violations instead of failing, so
 * it is tested against bad documents too (test/infra/iam-checks.test.ts).
 */
import type { TableGrant } from '../../functions/catalog/functions.ts';
import { TABLES, type TableKey, type TableSchema } from '../../functions/catalog/tables.ts';

export function asArray<T>(value: T | readonly T[] | undefined): T[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? [...(value as T[])] : [value as T];
}

export interface Statement {
  Effect?: string;
  Principal?: unknown;
  Action?: string | string[];
  NotAction?: string | string[];
  Resource?: string | string[];
  NotResource?: string | string[];
}

export function statementsOf(document: unknown): Statement[] {
  const statement = (document as { Statement?: Statement | Statement[] } | null)?.Statement;
  return asArray(statement);
}

/** No action contains `*` (service:* or `*`), and no NotAction (which allows everything else). */
export function wildcardActionViolations(document: unknown): string[] {
  const violations: string[] = [];
  for (const st of statementsOf(document)) {
    if (st.NotAction !== undefined) violations.push(`NotAction ${JSON.stringify(st.NotAction)}`);
    if (asArray(st.Action).length === 0) violations.push(`statement without Action: ${JSON.stringify(st)}`);
    for (const action of asArray(st.Action)) if (action.includes('*')) violations.push(`wildcard action ${action}`);
  }
  return violations;
}

/** Resource "*" only on the X-Ray statement (its trace APIs have no resource-level permissions); no NotResource. */
export function wildcardResourceViolations(document: unknown): string[] {
  const violations: string[] = [];
  for (const st of statementsOf(document)) {
    if (st.NotResource !== undefined) violations.push(`NotResource ${JSON.stringify(st.NotResource)}`);
    if (asArray(st.Resource).length === 0) violations.push(`statement without Resource: ${JSON.stringify(st)}`);
    if (!asArray(st.Resource).includes('*')) continue;
    const nonXray = asArray(st.Action).filter((action) => !action.startsWith('xray:'));
    if (nonXray.length > 0) violations.push(`Resource "*" for ${nonXray.join(', ')}`);
  }
  return violations;
}

/**
 * execute-api: only ManageConnections, only on `<api execution_arn>/<stage>/POST/@connections/*`, and only
 * (and always) when the catalog says the function manages connections.
 */
/** `expected`: exactly the resources ManageConnections must be granted on, or undefined for none. */
export function manageConnectionsViolations(document: unknown, expected: readonly string[] | undefined): string[] {
  const violations: string[] = [];
  let granted = false;
  for (const st of statementsOf(document)) {
    const actions = asArray(st.Action).filter((a) => a.toLowerCase().startsWith('execute-api:'));
    if (actions.length === 0) continue;
    if (actions.length !== asArray(st.Action).length) violations.push(`execute-api mixed with other actions: ${asArray(st.Action).join(', ')}`);
    for (const action of actions) if (action !== 'execute-api:ManageConnections') violations.push(`unexpected ${action}`);
    const resources = asArray(st.Resource);
    if (JSON.stringify(resources) !== JSON.stringify(expected)) {
      violations.push(`ManageConnections on ${JSON.stringify(st.Resource)}, not ${JSON.stringify(expected)}`);
    }
    granted = true;
  }
  if (granted !== (expected !== undefined)) violations.push(expected ? 'ManageConnections missing' : 'ManageConnections granted but not in the catalog');
  return violations;
}

/**
 * DynamoDB: per granted table, the actions on the table ARN are exactly the catalog grant; index ARNs only for the
 * grant's indexes (which must exist on the table), with actions within the grant; nothing on any other resource.
 */
export function dynamodbViolations(document: unknown, grants: readonly TableGrant[], tableArns: Record<TableKey, string>): string[] {
  const violations: string[] = [];
  const keyByArn = new Map(Object.entries(tableArns).map(([key, arn]) => [arn, key as TableKey]));
  const grantByKey = new Map(grants.map((grant) => [grant.table, grant]));
  const actionsOn = new Map<string, Set<string>>();
  for (const st of statementsOf(document)) {
    const actions = asArray(st.Action);
    const dynamo = actions.filter((a) => a.toLowerCase().startsWith('dynamodb:'));
    if (dynamo.length === 0) continue;
    if (dynamo.length !== actions.length) violations.push(`dynamodb mixed with other actions: ${actions.join(', ')}`);
    for (const resource of asArray(st.Resource)) {
      const set = actionsOn.get(resource) ?? new Set<string>();
      for (const action of dynamo) set.add(action);
      actionsOn.set(resource, set);
    }
  }
  for (const [resource, actions] of actionsOn) {
    const match = /^(\$\{aws_dynamodb_table\.[^}]+\.arn\})(?:\/index\/([^/]+))?$/.exec(resource);
    const key = match ? keyByArn.get(match[1]!) : undefined;
    if (!match || !key) {
      violations.push(`dynamodb ${[...actions].join(', ')} on ${resource}, which is no table of this stack`);
      continue;
    }
    const grant = grantByKey.get(key);
    if (!grant) {
      violations.push(`dynamodb ${[...actions].join(', ')} on table ${key}, which the catalog does not grant`);
      continue;
    }
    const allowed = new Set(grant.actions.map((a) => `dynamodb:${a}`));
    const index = match[2];
    if (index === undefined) {
      const got = [...actions].sort();
      const want = [...allowed].sort();
      if (got.join() !== want.join()) violations.push(`table ${key}: ${got.join(', ')} instead of ${want.join(', ')}`);
    } else {
      if (!(grant.indexes ?? []).includes(index)) violations.push(`index ${key}/${index} is not granted`);
      const schema: TableSchema = TABLES[key];
      if (!(schema.indexes ?? []).some((i) => i.name === index)) violations.push(`index ${key}/${index} does not exist`);
      for (const action of actions) if (!allowed.has(action)) violations.push(`index ${key}/${index}: ${action} is not granted`);
    }
  }
  for (const grant of grants) {
    const tableArn = tableArns[grant.table];
    if (!actionsOn.has(tableArn)) violations.push(`granted table ${grant.table} has no statement`);
    for (const index of grant.indexes ?? []) {
      const onIndex = actionsOn.get(`${tableArn}/index/${index}`);
      if (!onIndex) violations.push(`granted index ${grant.table}/${index} has no statement`);
      else if (grant.actions.includes('Query') && !onIndex.has('dynamodb:Query')) violations.push(`no Query on ${grant.table}/${index}`);
    }
  }
  return violations;
}

/**
 * AWS managed policies a role of the stack may carry, each with the one service whose roles may carry it. Anything
 * else (customer-managed policies, broad AWS ones such as AdministratorAccess) is a violation.
 */
export const ALLOWED_MANAGED_POLICIES: Readonly<Record<string, string>> = {
  // The account's API Gateway logging role: exactly what API Gateway needs to write access logs.
  'arn:aws:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs': 'apigateway.amazonaws.com',
};

/** A role's trust policy lets exactly one AWS service assume it, and nothing else. */
export function trustPolicyViolations(document: unknown, service: string): string[] {
  if ((document as { Version?: string } | null)?.Version !== '2012-10-17') return ['trust policy is not a 2012-10-17 document'];
  const statements = statementsOf(document);
  if (statements.length !== 1) return [`trust policy has ${statements.length} statements, not 1`];
  const st = statements[0]!;
  const violations: string[] = [];
  if (st.Effect !== 'Allow') violations.push(`trust statement Effect ${st.Effect}`);
  if (JSON.stringify(asArray(st.Action)) !== JSON.stringify(['sts:AssumeRole'])) violations.push(`trust Action ${JSON.stringify(st.Action)}`);
  if (JSON.stringify(st.Principal) !== JSON.stringify({ Service: service })) violations.push(`trusts ${JSON.stringify(st.Principal)}, not only ${service}`);
  return violations;
}

/** The service a trust policy names (its one Service principal), for matching roles to allowed policies. */
export function trustedService(document: unknown): string | undefined {
  const statements = statementsOf(document);
  const service = (statements[0]?.Principal as { Service?: unknown } | undefined)?.Service;
  return statements.length === 1 && typeof service === 'string' ? service : undefined;
}

/** A managed policy attachment is an allowed AWS managed policy, on a role trusted by that policy's service. */
export function managedPolicyViolations(policyArn: string, roleService: string | undefined): string[] {
  const service = ALLOWED_MANAGED_POLICIES[policyArn];
  if (!service) return [`${policyArn} is not an allowed AWS managed policy`];
  if (roleService !== service) return [`${policyArn} is attached to a role trusted by ${roleService ?? 'no single service'}, not ${service}`];
  return [];
}
