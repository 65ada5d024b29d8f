/** rvc: the cases of cases/rvc.ts, one describe per instruction. */
import { runCases } from './harness';
import { cases } from './cases/rvc';

runCases(cases);
