/** zicsr: the cases of cases/zicsr.ts, one describe per instruction. */
import { runCases } from './harness';
import { cases } from './cases/zicsr';

runCases(cases);
