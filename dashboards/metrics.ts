/**
 * The catalog of custom metrics the handlers emit (CloudWatch EMF). Handlers, dashboards, alarms and docs
 * import these names; nobody re-types them.
 */
export const METRICS_NAMESPACE = 'WsChat';

export type MetricUnit = 'Count' | 'Milliseconds' | 'Bytes';

export interface CustomMetric {
  readonly unit: MetricUnit;
  readonly meaning: string;
}

export const CUSTOM_METRICS = {
  ConnectionsOpened: { unit: 'Count', meaning: 'A $connect was accepted and recorded.' },
  ConnectionsRefused: { unit: 'Count', meaning: "A $connect was refused: the user already held the stage's connections per user." },
  ConnectionsClosed: { unit: 'Count', meaning: 'A $disconnect removed a connection.' },
  ConnectAuthFailed: { unit: 'Count', meaning: 'The authorizer rejected a token.' },
  MessagesReceived: { unit: 'Count', meaning: 'A send was stored (first time for its clientMsgId).' },
  IdempotentReplay: { unit: 'Count', meaning: 'A send repeated a clientMsgId and got the original ack back.' },
  SendsFailed: {
    unit: 'Count',
    meaning: 'A send was answered with an INTERNAL error frame: a dependency failed or a bug (refusals of bad requests are not counted).',
  },
  MessagesDelivered: { unit: 'Count', meaning: 'A message frame was posted to a connection.' },
  DeliveryFailed: {
    unit: 'Count',
    meaning: 'Recipients a frame never reached: a post failed for good, or stayed throttled or failing through every retry.',
  },
  StaleConnectionsPruned: { unit: 'Count', meaning: 'A post answered 410 Gone and the connection was removed.' },
  FanoutRecipients: { unit: 'Count', meaning: 'Connections one message was fanned out to.' },
  FanoutDuration: {
    unit: 'Milliseconds',
    meaning: 'Time to post one message to its recipients: the whole room, or one shard of a large room.',
  },
  FanoutShards: {
    unit: 'Count',
    meaning: 'Shards of a large room fan-out handed to the fan-out function (continuations included).',
  },
  MessageValidationFailed: { unit: 'Count', meaning: 'A frame was rejected with BAD_REQUEST or UNKNOWN_ACTION.' },
  MessagePayloadBytes: { unit: 'Bytes', meaning: 'UTF-8 size of a stored message text.' },
  EventsDelivered: { unit: 'Count', meaning: 'A presence or typing frame was posted to a connection.' },
  RateLimited: { unit: 'Count', meaning: 'A send was refused with RATE_LIMITED (its connection exceeded the send rate).' },
  JwksRefreshFailed: {
    unit: 'Count',
    meaning: "The authorizer could not refresh the identity provider's key set and verified with the last good one (at most 1 h old).",
  },
  SessionsExpired: {
    unit: 'Count',
    meaning: 'A connection whose token expired over 5 minutes before was closed: refused with SESSION_EXPIRED, or by a fan-out instead of a post.',
  },
  RepliesTooLarge: {
    unit: 'Count',
    meaning: 'A reply was over the 128 KB a WebSocket message may carry and was replaced by a TOO_LARGE error (a bug: pages are cut to fit).',
  },
  RouteRateLimited: {
    unit: 'Count',
    meaning: 'A request other than send was refused with RATE_LIMITED (its connection ran out of tokens for the route).',
  },
  AttachmentUploadsPresigned: { unit: 'Count', meaning: 'An upload request was answered with a presigned POST.' },
  AttachmentsAttached: { unit: 'Count', meaning: 'Uploads a stored message took as its attachments.' },
  AttachmentBytes: { unit: 'Bytes', meaning: 'Size of each upload a stored message took as an attachment.' },
  AttachmentDownloads: { unit: 'Count', meaning: 'A download request was answered with a presigned GET.' },
  AttachmentsRefusedNotFound: {
    unit: 'Count',
    meaning: "A send named an upload that is not the sender's in that room, or never completed, or expired (NOT_FOUND).",
  },
  AttachmentsRefusedTooLarge: { unit: 'Count', meaning: "An upload or attachment was over the stage's size limit (TOO_LARGE)." },
  AttachmentsRefusedUnsupportedType: {
    unit: 'Count',
    meaning: "An upload or attachment had a content type off the stage's allowlist (UNSUPPORTED_TYPE).",
  },
  AttachmentsRefusedAlreadyAttached: { unit: 'Count', meaning: 'A send named an upload another message already carries (BAD_REQUEST).' },
  TypingDropped: { unit: 'Count', meaning: 'A typing event was dropped: its connection sent one for the room < 2 s before.' },
  TypingNotRelayed: { unit: 'Count', meaning: "A typing event was not relayed: its room has more users than the stage's typingMaxMembers." },
} as const satisfies Record<string, CustomMetric>;

/**
 * The canary's metrics (dashboards/runbooks/canary-failing.md), apart from CUSTOM_METRICS: every function bundle
 * carries CUSTOM_METRICS through the shared telemetry, and only the canary publishes these.
 */
export const CANARY_METRICS = {
  CanarySuccess: { unit: 'Count', meaning: 'Canary run: 1 if every step succeeded, else 0.' },
  CanaryTokenLatency: { unit: 'Milliseconds', meaning: 'Canary: token.' },
  CanaryConnectLatency: { unit: 'Milliseconds', meaning: 'Canary: connect.' },
  CanaryJoinLatency: { unit: 'Milliseconds', meaning: 'Canary: join.' },
  CanaryAckLatency: { unit: 'Milliseconds', meaning: 'Canary: send to ack.' },
  CanaryDeliveryLatency: { unit: 'Milliseconds', meaning: 'Canary: send to its message back.' },
  CanaryHistoryLatency: { unit: 'Milliseconds', meaning: 'Canary: history.' },
  CanaryDisconnectLatency: { unit: 'Milliseconds', meaning: 'Canary: disconnect.' },
} as const satisfies Record<string, CustomMetric>;

/** Metrics the chat functions publish through the Telemetry port. */
export type CustomMetricName = keyof typeof CUSTOM_METRICS;
export type CanaryMetricName = keyof typeof CANARY_METRICS;
/** Every metric of the namespace: what alarms and the dashboard may name. */
export type MetricName = CustomMetricName | CanaryMetricName;

/** A metric's unit, whichever catalog holds it. */
export function metricUnit(name: MetricName): MetricUnit {
  return (name in CUSTOM_METRICS ? CUSTOM_METRICS[name as CustomMetricName] : CANARY_METRICS[name as CanaryMetricName]).unit;
}
