// A WebAssembly binary writer (WebAssembly core spec 2.0, chapter 5 "Binary Format"): the
// bytes of one module are appended at JIT_BUF. Only what the emitter needs: LEB128 numbers,
// opcodes, memory arguments, and sections whose size is patched when they end.

import { JIT_BUF, JIT_BUF_SIZE } from '../abi';

// ---- opcodes (spec §5.4) ----
export const BLOCK: u8 = 0x02;
export const LOOP: u8 = 0x03;
export const IF: u8 = 0x04;
export const ELSE: u8 = 0x05;
export const END: u8 = 0x0b;
export const BR: u8 = 0x0c;
export const BR_IF: u8 = 0x0d;
export const BR_TABLE: u8 = 0x0e;
export const CALL: u8 = 0x10;
export const DROP: u8 = 0x1a;
export const LOCAL_GET: u8 = 0x20;
export const LOCAL_SET: u8 = 0x21;
export const LOCAL_TEE: u8 = 0x22;
export const GLOBAL_GET: u8 = 0x23;
export const GLOBAL_SET: u8 = 0x24;
export const I32_LOAD: u8 = 0x28;
export const I64_LOAD: u8 = 0x29;
export const I64_LOAD8_S: u8 = 0x30;
export const I64_LOAD8_U: u8 = 0x31;
export const I64_LOAD16_S: u8 = 0x32;
export const I64_LOAD16_U: u8 = 0x33;
export const I64_LOAD32_S: u8 = 0x34;
export const I64_LOAD32_U: u8 = 0x35;
export const I64_STORE: u8 = 0x37;
export const I64_STORE8: u8 = 0x3c;
export const I64_STORE16: u8 = 0x3d;
export const I64_STORE32: u8 = 0x3e;
export const I32_CONST: u8 = 0x41;
export const I64_CONST: u8 = 0x42;
export const I32_EQZ: u8 = 0x45;
export const I64_EQZ: u8 = 0x50;
export const I64_DIV_S: u8 = 0x7f;
export const I64_DIV_U: u8 = 0x80;
export const I64_REM_S: u8 = 0x81;
export const I64_REM_U: u8 = 0x82;
export const I32_NE: u8 = 0x47;
export const I64_EQ: u8 = 0x51;
export const I64_NE: u8 = 0x52;
export const I64_LT_S: u8 = 0x53;
export const I64_LT_U: u8 = 0x54;
export const I64_GE_S: u8 = 0x59;
export const I64_GE_U: u8 = 0x5a;
export const I32_ADD: u8 = 0x6a;
export const I32_AND: u8 = 0x71;
export const I32_OR: u8 = 0x72;
export const I32_SHL: u8 = 0x74;
export const I32_SHR_S: u8 = 0x75;
export const I32_SHR_U: u8 = 0x76;
export const I64_ADD: u8 = 0x7c;
export const I64_SUB: u8 = 0x7d;
export const I64_MUL: u8 = 0x7e;
export const I64_AND: u8 = 0x83;
export const I64_OR: u8 = 0x84;
export const I64_XOR: u8 = 0x85;
export const I32_ROTL: u8 = 0x77;
export const I64_SHL: u8 = 0x86;
export const I64_SHR_S: u8 = 0x87;
export const I64_SHR_U: u8 = 0x88;
export const I64_ROTL: u8 = 0x89;
export const I32_WRAP_I64: u8 = 0xa7;
export const I64_EXTEND_I32_S: u8 = 0xac;
export const I64_EXTEND_I32_U: u8 = 0xad;
export const I64_EXTEND32_S: u8 = 0xc4; // sign-extension operators (Wasm 2.0)

// ---- types (spec §5.3) ----
export const T_I32: u8 = 0x7f;
export const T_I64: u8 = 0x7e;
export const T_VOID: u8 = 0x40; // empty block type
export const T_FUNC: u8 = 0x60;

// ---- sections (spec §5.5) ----
export const SEC_TYPE: u8 = 1;
export const SEC_IMPORT: u8 = 2;
export const SEC_FUNCTION: u8 = 3;
export const SEC_EXPORT: u8 = 7;
export const SEC_CODE: u8 = 10;
export const KIND_FUNC: u8 = 0;
export const KIND_MEMORY: u8 = 2;
export const KIND_GLOBAL: u8 = 3;

const BUF_END: usize = <usize>JIT_BUF + <usize>JIT_BUF_SIZE;
/** Room kept free at the end of the buffer: the emitter stops adding code before it. */
export const BUF_SLACK: usize = 0x4000;

/** The write position in JIT_BUF. */
export let pos: usize = <usize>JIT_BUF;

export function resetBuf(): void { pos = <usize>JIT_BUF; }
/** Bytes written so far. */
@inline export function length(): u32 { return <u32>(pos - <usize>JIT_BUF); }
/** True when the module is close to filling the buffer (the emitter then ends the region). */
@inline export function nearlyFull(): bool { return pos + BUF_SLACK > BUF_END; }

@inline export function byte(b: u8): void {
  store<u8>(pos, b);
  pos++;
}

/** Unsigned LEB128 (spec §5.2.2). */
export function u32leb(v: u32): void {
  do {
    let b = <u8>(v & 0x7f);
    v >>= 7;
    if (v != 0) b |= 0x80;
    byte(b);
  } while (v != 0);
}

/** Signed LEB128 of a 32-bit value (i32.const). */
export function s32leb(v: i32): void {
  while (true) {
    const b = <u8>(v & 0x7f);
    v >>= 7;
    if ((v == 0 && (b & 0x40) == 0) || (v == -1 && (b & 0x40) != 0)) { byte(b); return; }
    byte(b | 0x80);
  }
}

/** Signed LEB128 of a 64-bit value (i64.const). */
export function s64leb(v: i64): void {
  while (true) {
    const b = <u8>(v & 0x7f);
    v >>= 7;
    if ((v == 0 && (b & 0x40) == 0) || (v == -1 && (b & 0x40) != 0)) { byte(b); return; }
    byte(b | 0x80);
  }
}

/** A name: its length, then its UTF-8 bytes (ASCII here). */
export function name(s: string): void {
  u32leb(<u32>s.length);
  for (let i = 0; i < s.length; i++) byte(<u8>s.charCodeAt(i));
}

/** Start a section or a function body whose byte size is patched by endSized. */
export function beginSized(): usize {
  const at = pos;
  pos += 5; // a padded 5-byte LEB128 (spec §5.2.2 allows non-minimal encodings)
  return at;
}

export function endSized(at: usize): void {
  let v = <u32>(pos - at - 5);
  for (let i: usize = 0; i < 4; i++) {
    store<u8>(at + i, <u8>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  store<u8>(at + 4, <u8>(v & 0x7f));
}

// ---- instructions with immediates ----
@inline export function op(o: u8): void { byte(o); }
export function i32c(v: i32): void { byte(I32_CONST); s32leb(v); }
export function i64c(v: i64): void { byte(I64_CONST); s64leb(v); }
export function localGet(i: u32): void { byte(LOCAL_GET); u32leb(i); }
export function localSet(i: u32): void { byte(LOCAL_SET); u32leb(i); }
export function localTee(i: u32): void { byte(LOCAL_TEE); u32leb(i); }
export function globalGet(i: u32): void { byte(GLOBAL_GET); u32leb(i); }
export function globalSet(i: u32): void { byte(GLOBAL_SET); u32leb(i); }
export function br(depth: u32): void { byte(BR); u32leb(depth); }
export function brIf(depth: u32): void { byte(BR_IF); u32leb(depth); }
export function call(f: u32): void { byte(CALL); u32leb(f); }
/** A load or store with its memory argument: alignment (log2 bytes) and constant offset. */
export function mem(o: u8, alignLog2: u32, offset: u32): void {
  byte(o);
  u32leb(alignLog2);
  u32leb(offset);
}
/** block / loop / if with a block type. */
export function structured(o: u8, t: u8): void {
  byte(o);
  byte(t);
}

/** True when nothing has been written past the buffer (the emitter checks before handing it out). */
export function fits(): bool { return pos <= BUF_END; }
