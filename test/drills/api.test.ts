import { drillSuite } from './drill-suite.ts';

export const API_DRILLS = ['api-integration-errors', 'api-execution-errors', 'api-client-errors', 'api-integration-latency'];
drillSuite(API_DRILLS);
