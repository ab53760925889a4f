import { drillSuite } from './drill-suite.ts';

export const LAMBDA_DRILLS = ['lambda-errors', 'lambda-throttles', 'lambda-duration', 'lambda-destination-failures'];
drillSuite(LAMBDA_DRILLS);
