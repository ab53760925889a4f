import { drillSuite } from './drill-suite.ts';

export const LAMBDA_DRILLS = ['lambda-errors', 'lambda-throttles', 'lambda-duration', 'fanout-dead-letters', 'fanout-dead-letter-age', 'lambda-destination-failures'];
drillSuite(LAMBDA_DRILLS);
