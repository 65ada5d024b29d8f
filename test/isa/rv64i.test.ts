/** rv64i: the cases of cases/rv64i.ts, one describe per instruction. */
import { runCases } from './harness';
import { cases } from './cases/rv64i';

runCases(cases);
