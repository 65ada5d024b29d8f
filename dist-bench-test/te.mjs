const LOAD_ADDR = 0x80000000n;
const CODE_OFFSET = 128;
const CODE = [1049271, 21303, 1431503635, 6463523, 111];
function trivialElf() {
  const size = CODE_OFFSET + CODE.length * 4;
  const buf = new ArrayBuffer(size);
  const v = new DataView(buf);
  const b = new Uint8Array(buf);
  b.set([127, 69, 76, 70, 2, 1, 1, 0], 0);
  v.setUint16(16, 2, true);
  v.setUint16(18, 243, true);
  v.setUint32(20, 1, true);
  v.setBigUint64(24, LOAD_ADDR, true);
  v.setBigUint64(32, 64n, true);
  v.setBigUint64(40, 0n, true);
  v.setUint32(48, 0, true);
  v.setUint16(52, 64, true);
  v.setUint16(54, 56, true);
  v.setUint16(56, 1, true);
  v.setUint16(58, 64, true);
  v.setUint16(60, 0, true);
  v.setUint16(62, 0, true);
  const ph = 64;
  v.setUint32(ph + 0, 1, true);
  v.setUint32(ph + 4, 5, true);
  v.setBigUint64(ph + 8, BigInt(CODE_OFFSET), true);
  v.setBigUint64(ph + 16, LOAD_ADDR, true);
  v.setBigUint64(ph + 24, LOAD_ADDR, true);
  v.setBigUint64(ph + 32, BigInt(CODE.length * 4), true);
  v.setBigUint64(ph + 40, BigInt(CODE.length * 4), true);
  v.setBigUint64(ph + 48, 16n, true);
  CODE.forEach((insn, i) => v.setUint32(CODE_OFFSET + i * 4, insn, true));
  return b;
}
export {
  trivialElf
};
