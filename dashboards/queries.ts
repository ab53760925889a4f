/**
 * Logs Insights queries on-call engineers run: saved as `aws_cloudwatch_query_definition`, shown in the logs
 * section of the dashboard, cited by the runbooks. Fields are the Powertools keys every handler log carries.
 */
export interface SavedQuery {
  readonly id: string;
  readonly title: string;
  /** Which log groups it reads: the functions' or the API stage's access log. */
  readonly logGroups: 'functions' | 'access';
  readonly query: string;
}

export const QUERIES = [
  {
    id: 'errors-by-route',
    title: 'Errors by route',
    logGroups: 'functions',
    query: [
      'fields @timestamp, routeKey, errorCode, message, connectionId, requestId',
      // Timeouts and crashed runtimes are plain-text lines from Lambda itself, without a level.
      'filter level = "ERROR" or level = "WARN" or @message like /Task timed out|Runtime exited/',
      'stats count(*) as errors by routeKey, level',
      'sort errors desc',
    ].join('\n| '),
  },
  {
    id: 'connection-story',
    title: "One connection's story (replace the connectionId)",
    logGroups: 'functions',
    query: [
      'fields @timestamp, routeKey, level, message, errorCode, requestId',
      'filter connectionId = "REPLACE_WITH_CONNECTION_ID"',
      'sort @timestamp asc',
    ].join('\n| '),
  },
  {
    id: 'slow-fanouts',
    title: 'Slow fan-outs (over 1 s)',
    logGroups: 'functions',
    // The metric lines (EMF): FanoutDuration carries its room and recipients (the room's, or a shard's) as metadata;
    // @log names the function that fanned out (send inline, fanout for a large room's shards).
    query: ['fields @timestamp, @log, room, recipients, FanoutDuration', 'filter FanoutDuration > 1000', 'sort FanoutDuration desc', 'limit 50'].join('\n| '),
  },
  {
    id: 'auth-failures',
    title: 'Authorization failures by reason',
    logGroups: 'functions',
    query: ['fields @timestamp, reason, connectionId', 'filter message like /connection (unauthorized|denied)/', 'stats count(*) as failures by reason', 'sort failures desc'].join('\n| '),
  },
] as const satisfies readonly SavedQuery[];
