import { drillSuite } from './drill-suite.ts';

export const DEPENDENCY_DRILLS = ['dynamodb-throttles', 'dynamodb-system-errors', 'delivery-failures', 'stale-connections', 'auth-failures', 'connections-refused', 'fanout-duration', 'dynamodb-latency'];
drillSuite(DEPENDENCY_DRILLS);
