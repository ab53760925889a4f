import { drillSuite } from './drill-suite.ts';

export const DEPENDENCY_DRILLS = ['dynamodb-throttles', 'dynamodb-system-errors', 'delivery-failures', 'stale-connections', 'auth-failures', 'fanout-duration', 'dynamodb-latency'];
drillSuite(DEPENDENCY_DRILLS);
