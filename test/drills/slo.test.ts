import { drillSuite } from './drill-suite.ts';

// The send-availability SLO's fast tier: the messages table fails every send, the budget burns at over 14.4x, and
// it pages. Its own file and stack: a compressed hour's window takes minutes, beside the other drill files.
export const SLO_DRILLS = ['slo-send-availability-fast'];
drillSuite(SLO_DRILLS);
