import { drillSuite } from './drill-suite.ts';

// Apart from the other Lambda drills: a dead letter must age an hour (a minute of the drill's time), so this file
// waits most of its run, and on its own stack it waits beside the others instead of after them.
export const DEAD_LETTER_DRILLS = ['fanout-dead-letters', 'fanout-dead-letter-age'];
drillSuite(DEAD_LETTER_DRILLS);
