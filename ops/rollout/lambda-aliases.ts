/** The rollout's Lambda port (rollout.ts) over @aws-sdk/client-lambda, on a function's `live` alias. */
import { GetAliasCommand, LambdaClient, paginateListVersionsByFunction, UpdateAliasCommand } from '@aws-sdk/client-lambda';
import { LIVE_ALIAS } from '../../infra/constructs/functions.ts';
import type { AliasChange, AliasControl, AliasView } from './rollout.ts';

export class LambdaAliases implements AliasControl {
  constructor(private readonly client: LambdaClient) {}

  async listVersions(functionName: string): Promise<string[]> {
    const versions: string[] = [];
    for await (const page of paginateListVersionsByFunction({ client: this.client }, { FunctionName: functionName })) {
      for (const v of page.Versions ?? []) if (v.Version && v.Version !== '$LATEST') versions.push(v.Version);
    }
    return versions;
  }

  async getAlias(functionName: string): Promise<AliasView> {
    const alias = await this.client.send(new GetAliasCommand({ FunctionName: functionName, Name: LIVE_ALIAS }));
    return {
      functionVersion: alias.FunctionVersion as string,
      additionalVersionWeights: alias.RoutingConfig?.AdditionalVersionWeights ?? {},
      description: alias.Description ?? '',
      revisionId: alias.RevisionId as string,
    };
  }

  async updateAlias(functionName: string, change: AliasChange): Promise<void> {
    await this.client.send(
      new UpdateAliasCommand({
        FunctionName: functionName,
        Name: LIVE_ALIAS,
        FunctionVersion: change.functionVersion,
        // An empty map clears the weights: every invocation runs FunctionVersion.
        RoutingConfig: { AdditionalVersionWeights: { ...change.additionalVersionWeights } },
        Description: change.description,
        RevisionId: change.revisionId,
      }),
    );
  }
}
