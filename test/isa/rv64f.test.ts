/** rv64f: the cases of cases/rv64f.ts, one describe per instruction. */
import { runCases } from './harness';
import { cases } from './cases/rv64f';

runCases(cases);
