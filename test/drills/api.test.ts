import { drillSuite } from './drill-suite.ts';

// The send-availability SLO's fast tier: the messages table fails every send, the budget burns at over 14.4x, and it pages.
export const API_DRILLS = ['api-integration-errors', 'api-execution-errors', 'api-client-errors', 'api-integration-latency', 'slo-send-availability-fast'];
drillSuite(API_DRILLS);
