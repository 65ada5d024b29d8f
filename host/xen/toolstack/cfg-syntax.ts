/**
 * The syntax of an xl.cfg file (xl.cfg(5), "Syntax"), as libxlu reads it: one setting per line
 * or per `;`, `KEY = VALUE`, where VALUE is a number, a string in single or double quotes, or a
 * list `[ VALUE, VALUE, ... ]` of strings and numbers that may span lines and end with a comma.
 * `#` starts a comment that runs to the end of the line.
 *
 *   name   = "domu1"          # a string
 *   memory = 64               # a number (decimal, or 0x hex)
 *   disk   = [ 'format=raw, vdev=xvda, access=rw, target=mem:8M',
 *            ]                # a list
 *
 * This file only splits the text into settings; what a key means is cfg.ts's (and host-cfg.ts's)
 * business. Every mistake is a one-line UserError "FILE:LINE: what, with the text".
 */
import { UserError } from '../../errors';

/** A value as written: a string, a number, or a list of strings and numbers. */
export type XlValue = string | number | (string | number)[];

/** One `KEY = VALUE` setting. */
export interface XlSetting {
  key: string;
  value: XlValue;
  /** The line where the setting starts (1-based). */
  line: number;
  /** The value's source text, for messages (lists abbreviated past 60 characters). */
  text: string;
}

/** Most bytes of a configuration file: xl.cfg files are a few hundred bytes. */
export const CFG_MAX_BYTES = 1 << 20;
/** Most entries in one list. */
export const LIST_MAX = 256;

const KEY = /[A-Za-z_][A-Za-z0-9_]*/y;
const NUMBER = /(?:0[xX][0-9a-fA-F]+|[0-9]+)(?![A-Za-z0-9_.])/y;

/** Split `text` (the contents of `file`) into settings, in order. Duplicate keys are an error. */
export function parseXlSyntax(text: string, file: string): XlSetting[] {
  if (text.length > CFG_MAX_BYTES) throw new UserError(`${file}: configuration file is ${text.length} bytes, more than ${CFG_MAX_BYTES}`);
  const p = new Scanner(text, file);
  const out: XlSetting[] = [];
  const seen = new Map<string, number>();
  for (;;) {
    p.skipBlank(true);
    if (p.done()) return out;
    if (p.peek() === ';') {
      p.pos++;
      continue;
    }
    const line = p.line;
    const key = p.match(KEY);
    if (key === undefined) throw p.error(`expected a setting KEY = VALUE, found '${p.rest()}'`);
    p.skipBlank(false);
    if (p.peek() !== '=') throw p.error(`expected '=' after '${key}', found '${p.rest()}'`);
    p.pos++;
    p.skipBlank(false);
    const start = p.pos;
    const value = p.peek() === '[' ? p.list() : p.scalar(key);
    const raw = text.slice(start, p.pos).replace(/\s+/g, ' ');
    p.skipBlank(false);
    if (!p.done() && p.peek() !== '\n' && p.peek() !== ';') throw p.error(`unexpected '${p.rest()}' after the value of '${key}'`);
    const before = seen.get(key);
    if (before !== undefined) throw new UserError(`${file}:${line}: '${key}' is set twice (first on line ${before})`);
    seen.set(key, line);
    out.push({ key, value, line, text: raw.length > 60 ? raw.slice(0, 57) + '...' : raw });
  }
}

/** A cursor over the text that counts lines. */
class Scanner {
  pos = 0;
  line = 1;
  constructor(private readonly text: string, private readonly file: string) {}

  done(): boolean {
    return this.pos >= this.text.length;
  }

  peek(): string {
    return this.text[this.pos];
  }

  /** The rest of the current line (for messages), at most 40 characters. */
  rest(): string {
    const end = this.text.indexOf('\n', this.pos);
    const s = this.text.slice(this.pos, end < 0 ? undefined : end).trim();
    return s.length > 40 ? s.slice(0, 37) + '...' : s;
  }

  error(what: string): UserError {
    return new UserError(`${this.file}:${this.line}: ${what}`);
  }

  /** Skip spaces, tabs, CRs and comments; newlines too when `newlines`. */
  skipBlank(newlines: boolean): void {
    while (!this.done()) {
      const c = this.peek();
      if (c === ' ' || c === '\t' || c === '\r') this.pos++;
      else if (c === '#') {
        while (!this.done() && this.peek() !== '\n') this.pos++;
      } else if (c === '\n' && newlines) {
        this.pos++;
        this.line++;
      } else return;
    }
  }

  match(re: RegExp): string | undefined {
    re.lastIndex = this.pos;
    const m = re.exec(this.text);
    if (!m) return undefined;
    this.pos += m[0].length;
    return m[0];
  }

  /** A string or a number. */
  scalar(key: string): string | number {
    const c = this.peek();
    if (c === '"' || c === "'") {
      const end = this.text.indexOf(c, this.pos + 1);
      const nl = this.text.indexOf('\n', this.pos + 1);
      if (end < 0 || (nl >= 0 && nl < end)) throw this.error(`unterminated string ${this.rest()} in '${key}'`);
      const s = this.text.slice(this.pos + 1, end);
      this.pos = end + 1;
      return s;
    }
    const n = this.match(NUMBER);
    if (n !== undefined) return Number(n);
    if (this.done() || c === '\n' || c === ';' || c === '#') throw this.error(`'${key}' has no value`);
    throw this.error(`bad value '${this.rest()}' for '${key}' (expected a number, a 'string' or a [ list ])`);
  }

  /** `[ v, v, ... ]`, newlines allowed inside, a trailing comma allowed. */
  list(): (string | number)[] {
    const open = this.line;
    this.pos++; // [
    const items: (string | number)[] = [];
    for (;;) {
      this.skipBlank(true);
      if (this.done()) throw new UserError(`${this.file}:${open}: list opened here is never closed with ']'`);
      if (this.peek() === ']') {
        this.pos++;
        return items;
      }
      if (items.length >= LIST_MAX) throw this.error(`list has more than ${LIST_MAX} entries`);
      if (this.peek() === '[') throw this.error(`lists cannot be nested`);
      items.push(this.scalar('list entry'));
      this.skipBlank(true);
      if (this.done()) throw new UserError(`${this.file}:${open}: list opened here is never closed with ']'`);
      if (this.peek() === ',') this.pos++;
      else if (this.peek() !== ']') throw this.error(`expected ',' or ']' in list, found '${this.rest()}'`);
    }
  }
}
