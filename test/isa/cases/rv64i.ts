/**
 * RV64I (unprivileged spec ch. 2 and 5) and Zifencei, one instruction at a time from its raw
 * encoding: the exact result, pc, instret + 1, and nothing else changed. rd is t0 (x5), rs1 t1
 * (x6), rs2 t2 (x7) unless a case says otherwise; every other register holds poison(i).
 */
import { expect } from 'vitest';
import * as E from '../../diff/encode';
import { Cases, CODE, DATA, expectIllegal, expectRetired, expectChanges, expectTrap, u64, type Harness } from '../harness';

export const cases = new Cases();

const MIN = 0x8000000000000000n;
const MAX = 0x7fffffffffffffffn;
const ALL = 0xffffffffffffffffn;

/** An R-type op with x6 = a, x7 = b: x5 = want. */
function rr(name: string, a: bigint, b: bigint, want: bigint, title = `${name}(0x${a.toString(16)}, 0x${b.toString(16)})`): void {
  cases.add(name, `${title} = 0x${u64(want).toString(16)}`, (h) => {
    const s = h.exec(E.aluR(name, 5, 6, 7), (h) => { h.hart.setX(6, a); h.hart.setX(7, b); });
    expectRetired(s, 4, { x5: u64(want) });
  });
}
/** An I-type op with x6 = a: x5 = want. */
function ri(name: string, a: bigint, imm: number, want: bigint): void {
  cases.add(name, `${name}(0x${a.toString(16)}, ${imm}) = 0x${u64(want).toString(16)}`, (h) => {
    const s = h.exec(E.aluI(name, 5, 6, imm), (h) => h.hart.setX(6, a));
    expectRetired(s, 4, { x5: u64(want) });
  });
}
/** A shift by immediate with x6 = a. */
function sh(name: 'slli' | 'srli' | 'srai' | 'slliw' | 'srliw' | 'sraiw', a: bigint, shamt: number, want: bigint): void {
  cases.add(name, `${name}(0x${a.toString(16)}, ${shamt}) = 0x${u64(want).toString(16)}`, (h) => {
    const s = h.exec(E.shiftI(name, 5, 6, shamt), (h) => h.hart.setX(6, a));
    expectRetired(s, 4, { x5: u64(want) });
  });
}

// ---- upper immediates ----
cases.add('lui', 'positive immediate', (h) => expectRetired(h.exec(E.lui(5, 0x12345)), 4, { x5: 0x12345000n }));
cases.add('lui', 'bit 31 set: sign-extended to 64 bits', (h) => expectRetired(h.exec(E.lui(5, 0x80000)), 4, { x5: 0xffffffff80000000n }));
cases.add('lui', 'rd = x0 writes nothing', (h) => expectRetired(h.exec(E.lui(0, 0x12345)), 4));
cases.add('auipc', 'pc + positive immediate', (h) => expectRetired(h.exec(E.auipc(5, 0x1)), 4, { x5: CODE + 0x1000n }));
cases.add('auipc', 'pc + negative immediate', (h) => expectRetired(h.exec(E.auipc(5, 0xfffff)), 4, { x5: CODE - 0x1000n }));
cases.add('auipc', 'most negative immediate', (h) => expectRetired(h.exec(E.auipc(5, 0x80000)), 4, { x5: u64(CODE - 0x80000000n) }));

// ---- jumps ----
const jumped = (h: Harness, word: number, setup: (h: Harness) => void, target: bigint, writes: Record<string, bigint>) => {
  const s = h.exec(word, setup);
  expect(s.trapped).toBe(false);
  expectChanges(s, { ...writes, pc: target, instret: 1n });
};
cases.add('jal', 'forward: links pc + 4', (h) => jumped(h, E.jal(1, 0x20), () => {}, CODE + 0x20n, { x1: CODE + 4n }));
cases.add('jal', 'backward, largest negative offset', (h) => jumped(h, E.jal(5, -(1 << 20)), () => {}, CODE - 0x100000n, { x5: CODE + 4n }));
cases.add('jal', 'rd = x0: no link', (h) => jumped(h, E.jal(0, 8), () => {}, CODE + 8n, {}));
cases.add('jalr', 'target rs1 + imm, links pc + 4', (h) =>
  jumped(h, E.jalr(1, 6, 16), (h) => h.hart.setX(6, DATA), DATA + 16n, { x1: CODE + 4n }));
cases.add('jalr', 'clears bit 0 of the target', (h) =>
  jumped(h, E.jalr(1, 6, 3), (h) => h.hart.setX(6, DATA), DATA + 2n, { x1: CODE + 4n }));
cases.add('jalr', 'negative immediate', (h) =>
  jumped(h, E.jalr(5, 6, -2048), (h) => h.hart.setX(6, DATA), DATA - 2048n, { x5: CODE + 4n }));
cases.add('jalr', 'rd = rs1: the target uses the old rs1', (h) =>
  jumped(h, E.jalr(6, 6, 4), (h) => h.hart.setX(6, DATA), DATA + 4n, { x6: CODE + 4n }));

// ---- branches: taken and not taken, operands of both signs ----
function br(name: keyof typeof E.BRANCHES, a: bigint, b: bigint, taken: boolean, off = 0x40): void {
  cases.add(name, `${name}(0x${a.toString(16)}, 0x${b.toString(16)}) ${taken ? 'taken' : 'not taken'}${off < 0 ? ' backward' : ''}`, (h) => {
    const s = h.exec(E.branch(name, 6, 7, off), (h) => { h.hart.setX(6, a); h.hart.setX(7, b); });
    expect(s.trapped).toBe(false);
    expectChanges(s, { pc: taken ? CODE + BigInt(off) : CODE + 4n, instret: 1n });
  });
}
br('beq', 5n, 5n, true); br('beq', 5n, 6n, false); br('beq', ALL, ALL, true, -4096); br('beq', ALL, 1n, false);
br('bne', 5n, 6n, true); br('bne', 5n, 5n, false); br('bne', MIN, MAX, true, -2);
br('blt', ALL, 1n, true); br('blt', 1n, ALL, false); br('blt', MIN, MAX, true); br('blt', 3n, 3n, false);
br('bge', 3n, 3n, true); br('bge', 1n, ALL, true, -8); br('bge', ALL, 1n, false); br('bge', MIN, MAX, false);
br('bltu', 1n, ALL, true); br('bltu', ALL, 1n, false); br('bltu', 0n, 0n, false);
br('bgeu', ALL, 1n, true, 4094); br('bgeu', 1n, ALL, false); br('bgeu', 0n, 0n, true);

// ---- loads: sign and zero extension, negative offset, misaligned ----
function ld(name: keyof typeof E.LOADS, bytes: number[], want: bigint, off = 0, base = DATA): void {
  cases.add(name, `${name} of [${bytes.map((b) => b.toString(16)).join(' ')}] at base${off ? ` ${off >= 0 ? '+' : '-'} ${Math.abs(off)}` : ''}${Number(base % 8n) ? ' (misaligned)' : ''} = 0x${want.toString(16)}`, (h) => {
    const s = h.exec(E.load(name, 5, 6, off), (h) => {
      bytes.forEach((b, i) => h.write8(base + BigInt(i), b));
      h.hart.setX(6, base - BigInt(off));
    });
    expectRetired(s, 4, { x5: want });
  });
}
ld('lb', [0x80], 0xffffffffffffff80n); ld('lb', [0x7f], 0x7fn, -1);
ld('lbu', [0x80], 0x80n); ld('lbu', [0xff], 0xffn, 2047);
ld('lh', [0x00, 0x80], 0xffffffffffff8000n); ld('lh', [0xff, 0x7f], 0x7fffn); ld('lh', [0x34, 0x92], 0xffffffffffff9234n, 0, DATA + 1n);
ld('lhu', [0x00, 0x80], 0x8000n); ld('lhu', [0x34, 0x92], 0x9234n, -2048, DATA + 3n);
ld('lw', [0, 0, 0, 0x80], 0xffffffff80000000n); ld('lw', [0xff, 0xff, 0xff, 0x7f], 0x7fffffffn, 4);
ld('lw', [1, 2, 3, 0x84], 0xffffffff84030201n, 0, DATA + 2n);
ld('lwu', [0, 0, 0, 0x80], 0x80000000n); ld('lwu', [1, 2, 3, 0x84], 0x84030201n, 0, DATA + 1n);
ld('ld', [1, 2, 3, 4, 5, 6, 7, 0x88], 0x8807060504030201n); ld('ld', [1, 2, 3, 4, 5, 6, 7, 0x88], 0x8807060504030201n, 8, DATA + 5n);
// Misaligned across a page boundary: RAM on both sides, so it succeeds (QEMU splits it too).
ld('ld', [1, 2, 3, 4, 5, 6, 7, 8], 0x0807060504030201n, 0, DATA + 0xffcn);
cases.add('lw', 'rd = x0: the load happens, nothing is written', (h) => {
  const s = h.exec(E.load('lw', 0, 6, 0), (h) => { h.write32(DATA, 0x12345678); h.hart.setX(6, DATA); });
  expectRetired(s, 4);
});

// ---- stores: exactly the bytes of the width, nothing in the hart state ----
function st(name: keyof typeof E.STORES, width: number, at: bigint): void {
  cases.add(name, `${name} writes ${width} byte(s)${Number(at % BigInt(width)) ? ' misaligned' : ''}${(at & 0xfffn) + BigInt(width) > 0x1000n ? ' across a page' : ''}`, (h) => {
    const base = at - 8n;
    const s = h.exec(E.store(name, 7, 6, 8), (h) => {
      for (let i = -8; i < 16; i++) h.write8(at + BigInt(i), 0xcc);
      h.hart.setX(6, base);
      h.hart.setX(7, 0x8877665544332211n);
    });
    expectRetired(s, 4);
    const want = [...Array(24)].map((_, i) => (i >= 8 && i < 8 + width ? 0x11 * (i - 7) : 0xcc));
    expect([...h.bytes(at - 8n, 24)]).toEqual(want);
  });
}
st('sb', 1, DATA); st('sb', 1, DATA + 7n);
st('sh', 2, DATA); st('sh', 2, DATA + 1n);
st('sw', 4, DATA); st('sw', 4, DATA + 2n);
st('sd', 8, DATA); st('sd', 8, DATA + 3n); st('sd', 8, DATA + 0xffan);

// ---- register-immediate ----
ri('addi', 5n, 1, 6n); ri('addi', 5n, -6, ALL); ri('addi', MAX, 1, MIN); ri('addi', 0n, -2048, -2048n); ri('addi', 0n, 2047, 2047n);
ri('slti', ALL, 0, 1n); ri('slti', 0n, -1, 0n); ri('slti', MIN, -2048, 1n); ri('slti', 5n, 5, 0n);
ri('sltiu', 5n, -1, 1n); ri('sltiu', ALL, -1, 0n); ri('sltiu', 0n, 1, 1n); ri('sltiu', 1n, 0, 0n);
ri('xori', 0x0fn, -1, 0xfffffffffffffff0n); ri('xori', 0xf0n, 0x0f, 0xffn);
ri('ori', 0xf0n, -2048, 0xfffffffffffff8f0n); ri('ori', 0n, 0x7ff, 0x7ffn);
ri('andi', ALL, -2048, 0xfffffffffffff800n); ri('andi', 0x1234n, 0xff, 0x34n);
sh('slli', 1n, 63, MIN); sh('slli', 0x1234n, 0, 0x1234n); sh('slli', ALL, 32, 0xffffffff00000000n);
sh('srli', MIN, 63, 1n); sh('srli', ALL, 32, 0xffffffffn);
sh('srai', MIN, 63, ALL); sh('srai', MAX, 63, 0n); sh('srai', 0x8000000000000010n, 4, 0xf800000000000001n);

// ---- register-register ----
rr('add', MAX, 1n, MIN); rr('add', ALL, 1n, 0n); rr('add', 2n, 3n, 5n);
rr('sub', 0n, 1n, ALL); rr('sub', MIN, 1n, MAX); rr('sub', 5n, 3n, 2n);
rr('sll', 1n, 63n, MIN); rr('sll', 1n, 64n, 1n, 'sll by 64 is masked to 0'); rr('sll', 3n, 0xffffffffffffff41n, 6n, 'sll uses rs2[5:0]');
rr('slt', MIN, MAX, 1n); rr('slt', MAX, MIN, 0n); rr('slt', ALL, 0n, 1n); rr('slt', 4n, 4n, 0n);
rr('sltu', 0n, ALL, 1n); rr('sltu', ALL, 0n, 0n); rr('sltu', MIN, MAX, 0n); rr('sltu', 4n, 4n, 0n);
rr('xor', 0xff00n, 0x0ff0n, 0xf0f0n); rr('xor', ALL, ALL, 0n);
rr('srl', MIN, 63n, 1n); rr('srl', MIN, 64n, MIN, 'srl by 64 is masked to 0'); rr('srl', ALL, 65n, MAX, 'srl by 65 shifts 1');
rr('sra', MIN, 63n, ALL); rr('sra', MIN, 64n, MIN, 'sra by 64 is masked to 0'); rr('sra', 0x8000000000000010n, 4n, 0xf800000000000001n);
rr('or', 0xf0n, 0x0fn, 0xffn); rr('or', MIN, 1n, MIN + 1n);
rr('and', 0xf0n, 0x3cn, 0x30n); rr('and', ALL, MIN, MIN);
cases.add('add', 'rd = x0 changes no register', (h) => {
  const s = h.exec(E.aluR('add', 0, 6, 7), (h) => { h.hart.setX(6, 1n); h.hart.setX(7, 2n); });
  expectRetired(s, 4);
  expect(h.hart.x(0)).toBe(0n);
});
cases.add('add', 'x0 reads as zero', (h) => expectRetired(h.exec(E.aluR('add', 5, 0, 7), (h) => h.hart.setX(7, 9n)), 4, { x5: 9n }));

// ---- RV64I word operations: 32-bit results sign-extended (§5.2) ----
ri('addiw', 0x7fffffffn, 1, 0xffffffff80000000n); ri('addiw', 0xffffffff00000001n, -2, ALL); ri('addiw', 0x123456789n, 0, 0x23456789n);
sh('slliw', 1n, 31, 0xffffffff80000000n); sh('slliw', 0xffffffff00000003n, 1, 6n); sh('slliw', 0x80000001n, 0, 0xffffffff80000001n);
sh('srliw', 0xffffffff80000000n, 31, 1n); sh('srliw', 0x80000000n, 0, 0xffffffff80000000n); sh('srliw', 0xffffffff00000010n, 4, 1n);
sh('sraiw', 0x80000000n, 31, ALL); sh('sraiw', 0xffffffff7fffffffn, 31, 0n); sh('sraiw', 0x80000000n, 4, 0xfffffffff8000000n);
rr('addw', 0x7fffffffn, 1n, 0xffffffff80000000n); rr('addw', 0xffffffff00000005n, 0x1_00000003n, 8n);
rr('subw', 0n, 1n, ALL); rr('subw', 0x80000000n, 1n, 0x7fffffffn);
rr('sllw', 1n, 31n, 0xffffffff80000000n); rr('sllw', 1n, 32n, 1n, 'sllw by 32 is masked to 0'); rr('sllw', 3n, 33n, 6n, 'sllw uses rs2[4:0]');
rr('srlw', 0x80000000n, 31n, 1n); rr('srlw', 0xffffffff80000000n, 32n, 0xffffffff80000000n, 'srlw by 32 is masked to 0'); rr('srlw', ALL, 4n, 0x0fffffffn);
rr('sraw', 0x80000000n, 31n, ALL); rr('sraw', 0x80000000n, 32n, 0xffffffff80000000n, 'sraw by 32 is masked to 0'); rr('sraw', 0x7fffffff00000000n, 4n, 0n);

// ---- fences: no-ops on one hart ----
cases.add('fence', 'fence iorw, iorw is a no-op', (h) => expectRetired(h.exec(0x0ff0000f), 4));
cases.add('fence', 'fence.tso (fm = 1000) is a no-op', (h) => expectRetired(h.exec(0x8330000f), 4));
cases.add('fence.i', 'is a no-op for the state', (h) => expectRetired(h.exec(0x0000100f), 4));
cases.add('fence.i', 'code stored before it runs: the new instruction executes', (h) => {
  h.reset();
  h.put(E.store('sw', 7, 6, 8));
  h.put(0x0000100f, CODE + 4n);
  h.hart.setX(6, CODE);
  h.hart.setX(7, BigInt(E.aluI('addi', 5, 0, 42)));
  h.step(); // sw: CODE + 8 = addi t0, zero, 42
  h.step(); // fence.i
  expectRetired(h.step(), 4, { x5: 42n });
});

// ---- illegal 32-bit encodings ----
cases.add('illegal', '0xffffffff', (h) => expectIllegal(h, 0xffffffff));
cases.add('illegal', 'opcode 0x7f class with no row (0x0000007f)', (h) => expectIllegal(h, 0x0000007f));
cases.add('illegal', 'OP with funct7 = 0x02 (add pattern)', (h) => expectIllegal(h, E.rType(0x33, 0, 0x02, 5, 6, 7)));
cases.add('illegal', 'OP-IMM-32 funct3 = 2', (h) => expectIllegal(h, E.iType(0x1b, 2, 5, 6, 0)));
cases.add('illegal', 'LOAD funct3 = 7', (h) => expectIllegal(h, E.iType(0x03, 7, 5, 6, 0)));
cases.add('illegal', 'STORE funct3 = 4', (h) => expectIllegal(h, E.sType(0x23, 4, 6, 7, 0)));
cases.add('illegal', 'BRANCH funct3 = 2', (h) => expectIllegal(h, E.bType(2, 6, 7, 8)));
cases.add('illegal', 'JALR funct3 = 1', (h) => expectIllegal(h, E.iType(0x67, 1, 5, 6, 0)));
cases.add('illegal', 'slli with imm[11:6] = 0x01', (h) => expectIllegal(h, E.iType(0x13, 1, 5, 6, 0x40)));
cases.add('illegal', 'slliw with shamt[5] set (RV64: reserved)', (h) => expectIllegal(h, E.iType(0x1b, 1, 5, 6, 0x20)));
cases.add('illegal', 'OP-32 with funct7 = 0x20 and funct3 = 1', (h) => expectIllegal(h, E.rType(0x3b, 1, 0x20, 5, 6, 7)));
cases.add('illegal', 'ecall pattern with rd != 0', (h) => expectIllegal(h, 0x000002f3));
cases.add('illegal', 'SYSTEM funct3 = 4', (h) => expectIllegal(h, 0x00004073));
cases.add('illegal', '48-bit encoding prefix (bits 5:0 = 011111)', (h) => expectIllegal(h, 0x0000001f));

cases.add('fence.i', 'code already executed and then rewritten: the new instruction executes', (h) => {
  h.reset();
  h.put(E.store('sw', 7, 6, 8)); // CODE:     sw t2, 8(t1)
  h.put(0x0000100f, CODE + 4n); // CODE + 4: fence.i
  h.put(E.aluI('addi', 5, 0, 1), CODE + 8n); // CODE + 8: addi t0, zero, 1 (to be replaced)
  h.hart.setX(6, CODE);
  h.hart.setX(7, BigInt(E.aluI('addi', 5, 0, 42)));
  h.hart.pc = CODE + 8n;
  expectRetired(h.step(), 4, { x5: 1n }); // decoded and cached
  h.hart.pc = CODE;
  h.step(); // the store rewrites CODE + 8
  expect(h.read32(CODE + 8n)).toBe(E.aluI('addi', 5, 0, 42));
  h.step(); // fence.i
  expectRetired(h.step(), 4, { x5: 42n });
});

// ---- fetch (privileged spec §3.1.16, §3.7) ----
cases.add('addi', 'a 32-bit instruction straddling two pages executes', (h) => {
  h.reset();
  h.put(E.aluI('addi', 5, 0, 7), CODE + 0xffen);
  h.hart.pc = CODE + 0xffen;
  expectRetired(h.step(), 4, { x5: 7n });
});
cases.add('addi', 'fetch from a non-RAM address: instruction access fault (cause 1), mtval = pc', (h) => {
  h.reset();
  h.hart.pc = 0x1000n;
  expectTrap(h.step(), 1n, 0x1000n);
});
cases.add('addi', 'second half beyond the end of RAM: access fault, mepc = pc, mtval = the faulting half', (h) => {
  h.reset();
  const end = 0x80000000n + BigInt(h.ramSize);
  h.write16(end - 2n, E.aluI('addi', 5, 0, 7) & 0xffff);
  h.hart.pc = end - 2n;
  expectTrap(h.step(), 1n, end);
  expect(h.hart.mepc).toBe(end - 2n);
});
