/**
 * Set properties of /chosen in a user's DTB, as QEMU does for `-dtb` with `-append`/`-initrd`
 * (hw/riscv/virt.c, boot.c: qemu_fdt_setprop on the loaded tree). The blob is rewritten
 * (devicetree spec 0.4, 5.x): the memory reservation block is kept, /chosen's old values of
 * these properties are dropped and the new ones put first in it (a /chosen is added at the end
 * of the root when there is none), new names go at the end of the strings block.
 */
import { UserError } from '../errors';

const FDT_BEGIN_NODE = 1;
const FDT_END_NODE = 2;
const FDT_PROP = 3;
const FDT_NOP = 4;
const FDT_END = 9;

/** One property to set: its name and value bytes. */
export interface FdtProp {
  name: string;
  value: Uint8Array;
}

/** `dtb` (header already checked by checkDtb) with `props` set in /chosen. */
export function patchChosen(name: string, dtb: Uint8Array, props: FdtProp[]): Uint8Array {
  const v = new DataView(dtb.buffer, dtb.byteOffset, dtb.byteLength);
  const offStruct = v.getUint32(8), offStrings = v.getUint32(12), offRsv = v.getUint32(16);
  const sizeStrings = v.getUint32(32), sizeStruct = v.getUint32(36);
  const bad = (what: string) => new UserError(`${name}: bad device tree blob (${what})`);
  if (offStruct + sizeStruct > dtb.length || offStrings + sizeStrings > dtb.length || offRsv > dtb.length) throw bad('a block lies outside the blob');
  if (offStruct % 4 !== 0 || sizeStruct % 4 !== 0 || offRsv % 8 !== 0) throw bad('a misaligned block');
  const strings = dtb.subarray(offStrings, offStrings + sizeStrings);
  const dec = new TextDecoder();
  const stringAt = (off: number) => {
    let end = off;
    while (end < strings.length && strings[end] !== 0) end++;
    return dec.decode(strings.subarray(off, end));
  };
  const drop = new Set(props.map((p) => p.name));
  const words: number[] = []; // the new struct block, as 32-bit words, before props are inserted
  let insertAt = -1; // word index where the props go (after /chosen's BEGIN_NODE and name)
  let rootEnd = -1; // word index of the root's END_NODE
  let depth = 0;
  let chosenDepth = -1;
  let p = offStruct;
  const end = offStruct + sizeStruct;
  const word = () => {
    if (p + 4 > end) throw bad('the structure block ends early');
    const w = v.getUint32(p);
    p += 4;
    return w;
  };
  const copy = (from: number, to: number) => {
    for (let i = from; i < to; i += 4) words.push(i + 4 <= to ? v.getUint32(i) : 0);
  };
  for (;;) {
    const start = p;
    const tok = word();
    if (tok === FDT_BEGIN_NODE) {
      let q = p;
      while (q < end && dtb[q] !== 0) q++;
      const nodeName = dec.decode(dtb.subarray(p, q));
      p = (q + 4) & ~3; // past the NUL, aligned
      depth++;
      words.push(FDT_BEGIN_NODE);
      const padded = new Uint8Array(Math.ceil((q - start - 4 + 1) / 4) * 4);
      padded.set(dtb.subarray(start + 4, q));
      const pv = new DataView(padded.buffer);
      for (let i = 0; i < padded.length; i += 4) words.push(pv.getUint32(i));
      if (depth === 2 && (nodeName === 'chosen' || nodeName.startsWith('chosen@')) && chosenDepth < 0) {
        chosenDepth = depth;
        insertAt = words.length;
      }
    } else if (tok === FDT_END_NODE) {
      if (depth === 1) rootEnd = words.length;
      if (depth === chosenDepth) chosenDepth = -2; // done with /chosen
      depth--;
      words.push(FDT_END_NODE);
    } else if (tok === FDT_PROP) {
      const len = word();
      const nameoff = word();
      const valEnd = p + len;
      if (valEnd > end) throw bad('a property runs past the structure block');
      const skip = depth === chosenDepth && chosenDepth > 0 && drop.has(stringAt(nameoff));
      if (!skip) {
        words.push(FDT_PROP, len, nameoff);
        copy(p, (valEnd + 3) & ~3);
      }
      p = (valEnd + 3) & ~3;
    } else if (tok === FDT_NOP) {
      continue;
    } else if (tok === FDT_END) {
      words.push(FDT_END);
      break;
    } else {
      throw bad(`unknown token 0x${tok.toString(16)} at offset ${start}`);
    }
  }
  if (rootEnd < 0) throw bad('no root node');

  // Names: reuse a string already in the block, else append it.
  const enc = new TextEncoder();
  let extraStrings: number[] = [];
  const offsetOf = (s: string): number => {
    const needle = enc.encode(s + '\0');
    for (let i = 0; i + needle.length <= strings.length; i++) {
      if (needle.every((b, j) => strings[i + j] === b) && (i === 0 || strings[i - 1] === 0)) return i;
    }
    const off = strings.length + extraStrings.length;
    extraStrings = extraStrings.concat([...needle]);
    return off;
  };
  const propWords: number[] = [];
  for (const pr of props) {
    propWords.push(FDT_PROP, pr.value.length, offsetOf(pr.name));
    const padded = new Uint8Array(Math.ceil(pr.value.length / 4) * 4);
    padded.set(pr.value);
    const pv = new DataView(padded.buffer);
    for (let i = 0; i < padded.length; i += 4) propWords.push(pv.getUint32(i));
  }
  if (insertAt >= 0) words.splice(insertAt, 0, ...propWords);
  else words.splice(rootEnd, 0, FDT_BEGIN_NODE, 0x63686f73, 0x656e0000, ...propWords, FDT_END_NODE); // "chosen\0\0"

  // The memory reservation block: 16-byte entries up to the (0, 0) one.
  let r = offRsv;
  while (r + 16 <= dtb.length && (v.getBigUint64(r) !== 0n || v.getBigUint64(r + 8) !== 0n)) r += 16;
  if (r + 16 > dtb.length) throw bad('the memory reservation block has no end');
  const rsv = dtb.subarray(offRsv, r + 16);
  const HEADER = 40;
  const rsvOff = (HEADER + 7) & ~7;
  const structOff = rsvOff + rsv.length;
  const stringsOff = structOff + words.length * 4;
  const newStrings = strings.length + extraStrings.length;
  const out = new Uint8Array(stringsOff + newStrings);
  const o = new DataView(out.buffer);
  o.setUint32(0, 0xd00dfeed);
  o.setUint32(4, out.length);
  o.setUint32(8, structOff);
  o.setUint32(12, stringsOff);
  o.setUint32(16, rsvOff);
  o.setUint32(20, 17);
  o.setUint32(24, 16);
  o.setUint32(28, v.getUint32(28)); // boot_cpuid_phys
  o.setUint32(32, newStrings);
  o.setUint32(36, words.length * 4);
  out.set(rsv, rsvOff);
  words.forEach((w, i) => o.setUint32(structOff + i * 4, w >>> 0));
  out.set(strings, stringsOff);
  out.set(extraStrings, stringsOff + strings.length);
  return out;
}
