/** system: the cases of cases/system.ts, one describe per instruction. */
import { runCases } from './harness';
import { cases } from './cases/system';

runCases(cases);
