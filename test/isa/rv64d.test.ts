/** rv64d: the cases of cases/rv64d.ts, one describe per instruction. */
import { runCases } from './harness';
import { cases } from './cases/rv64d';

runCases(cases);
