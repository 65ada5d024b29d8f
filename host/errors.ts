/**
 * An error a person will read: one line that names the file or guest and the offending value.
 * The CLI prints `message` alone (no stack) and exits with `exitCode`.
 */
export class UserError extends Error {
  /** Process exit code for the CLI: 2 for bad input (usage, files, images). */
  readonly exitCode: number;
  constructor(message: string, exitCode = 2) {
    super(message);
    this.name = 'UserError';
    this.exitCode = exitCode;
  }
}
