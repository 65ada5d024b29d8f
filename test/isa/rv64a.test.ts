/** rv64a: the cases of cases/rv64a.ts, one describe per instruction. */
import { runCases } from './harness';
import { cases } from './cases/rv64a';

runCases(cases);
