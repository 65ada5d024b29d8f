/**
 * `wasmvisor help COMMAND` and `wasmvisor COMMAND --help`: each command's part of USAGE
 * (args.ts; the one source of the usage text, cut here at its section markers, so that an option
 * added there shows in both), or the lab's own LAB_USAGE.
 */
import { UserError } from '../errors';
import { LAB_USAGE } from '../lab/run';
import { USAGE } from './args';

/** The commands with their own help. */
export const HELP_COMMANDS = ['run', 'xl', 'up', 'lab'] as const;
export type HelpCommand = (typeof HELP_COMMANDS)[number];

/** USAGE from the line starting with `from` up to (not including) the line starting with `to`. */
function section(from: string, to: string): string {
  const a = USAGE.indexOf(`\n${from}`);
  const b = USAGE.indexOf(`\n${to}`, a + 1);
  if (a < 0 || b < 0) throw new Error(`help: USAGE has no section '${from}'..'${to}'`);
  return USAGE.slice(a + 1, b + 1);
}

/** The synopsis lines of USAGE that begin with `wasmvisor WORD`. */
function synopsis(word: string): string {
  const lines = USAGE.split('\n').filter((l) => new RegExp(`^(usage:|\\s+) *wasmvisor ${word} `).test(l));
  return lines.map((l, i) => (i === 0 ? 'usage: ' : '       ') + l.replace(/^(usage:)?\s*/, '')).join('\n') + '\n';
}

/** The help text of one command; an unknown name is a UserError listing the known ones. */
export function commandHelp(name: string): string {
  switch (name as HelpCommand) {
    case 'run':
      return `${synopsis('run')}\n${section('Run a RISC-V', 'lab runs')}\n${section('console:', 'exit status:')}\n${USAGE.slice(USAGE.indexOf('\nexit status:') + 1)}`;
    case 'xl':
    case 'up':
      return `${synopsis(name)}\n${section('xl create runs', 'console:')}`;
    case 'lab':
      return LAB_USAGE;
  }
  throw new UserError(`wasmvisor: help: unknown command '${name}' (expected ${HELP_COMMANDS.join(', ')})`);
}
