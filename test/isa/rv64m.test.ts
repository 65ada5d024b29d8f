/** rv64m: the cases of cases/rv64m.ts, one describe per instruction. */
import { runCases } from './harness';
import { cases } from './cases/rv64m';

runCases(cases);
