import { drillSuite } from './drill-suite.ts';

export const LAMBDA_DRILLS = ['lambda-errors', 'lambda-throttles', 'lambda-duration', 'fanout-dead-letters'];
drillSuite(LAMBDA_DRILLS);
