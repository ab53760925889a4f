import { drillSuite } from './drill-suite.ts';

/**
 * With no user traffic at all: only the canary notices that every $connect fails. At 10x its runs are 6 s
 * apart, so each compressed minute holds one run, as on AWS (at 60x a run's own duration is most of a period).
 */
export const CANARY_DRILLS = ['canary-failing'];
drillSuite(CANARY_DRILLS, { timeScale: 10, runSchedules: true });
