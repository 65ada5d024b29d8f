/** h: the cases of cases/h.ts (the H extension), one describe per instruction. */
import { runCases } from './harness';
import { cases } from './cases/h';

runCases(cases);
