/**
 * M extension (unprivileged spec ch. 13): products, high halves of every signedness, and the
 * division corner cases of table 13.1 (divide by zero, signed overflow) for every width.
 * x5 = op(x6, x7); nothing else but pc and instret may change.
 */
import * as E from '../../diff/encode';
import { Cases, expectRetired, u64 } from '../harness';

export const cases = new Cases();

const MIN = 0x8000000000000000n;
const MAX = 0x7fffffffffffffffn;
const ALL = 0xffffffffffffffffn;
const W_MIN = 0xffffffff80000000n; // -2^31 sign-extended

function rr(name: string, a: bigint, b: bigint, want: bigint, note = ''): void {
  cases.add(name, `${name}(0x${a.toString(16)}, 0x${b.toString(16)}) = 0x${want.toString(16)}${note ? ` (${note})` : ''}`, (h) => {
    const s = h.exec(E.aluR(name, 5, 6, 7), (h) => { h.hart.setX(6, a); h.hart.setX(7, b); });
    expectRetired(s, 4, { x5: u64(want) });
  });
}

rr('mul', 7n, 6n, 42n); rr('mul', ALL, 5n, u64(-5)); rr('mul', MIN, ALL, MIN, 'overflow wraps');
rr('mul', 0x123456789abcdef0n, 0x0fedcba987654321n, 0x2236d88fe5618cf0n);
rr('mulh', MIN, MIN, 0x4000000000000000n); rr('mulh', ALL, ALL, 0n); rr('mulh', MAX, MAX, 0x3fffffffffffffffn);
rr('mulh', 0x123456789abcdef0n, 0xfedcba9876543210n, 0xffeb49923cc09532n);
rr('mulhsu', ALL, ALL, ALL, '-1 x (2^64 - 1)'); rr('mulhsu', MIN, ALL, MIN); rr('mulhsu', 2n, ALL, 1n);
rr('mulhsu', 0xfedcba9876543210n, 0x123456789abcdef0n, 0xffeb49923cc09532n);
rr('mulhu', ALL, ALL, 0xfffffffffffffffen); rr('mulhu', 0x123456789abcdef0n, 0xfedcba9876543210n, 0x121fa00ad77d7422n);
rr('mulhu', MIN, 2n, 1n);

rr('div', 7n, 2n, 3n); rr('div', u64(-7), 2n, u64(-3), 'rounds toward zero'); rr('div', 7n, u64(-2), u64(-3));
rr('div', 5n, 0n, ALL, 'by zero: all ones'); rr('div', MIN, ALL, MIN, 'overflow: the dividend');
rr('divu', 7n, 2n, 3n); rr('divu', ALL, 2n, MAX); rr('divu', 5n, 0n, ALL, 'by zero: all ones'); rr('divu', MIN, ALL, 0n);
rr('rem', 7n, 2n, 1n); rr('rem', u64(-7), 2n, ALL, 'sign of the dividend'); rr('rem', 7n, u64(-2), 1n);
rr('rem', 5n, 0n, 5n, 'by zero: the dividend'); rr('rem', MIN, ALL, 0n, 'overflow: zero');
rr('remu', 7n, 2n, 1n); rr('remu', ALL, 10n, 5n); rr('remu', u64(-5), 0n, u64(-5), 'by zero: the dividend');

rr('mulw', 0x10000n, 0x8000n, W_MIN, 'sign-extended'); rr('mulw', 0x1_00000003n, 0x2_00000005n, 15n, 'upper halves ignored');
rr('mulw', ALL, ALL, 1n);
rr('divw', 7n, 2n, 3n); rr('divw', u64(-7), 2n, u64(-3)); rr('divw', 0x1_00000007n, 0x2n, 3n, 'upper halves ignored');
rr('divw', 5n, 0x1_00000000n, ALL, 'by zero (low word zero)'); rr('divw', 0x80000000n, 0xffffffffn, W_MIN, 'overflow: the dividend, sign-extended');
rr('divuw', 0xffffffffn, 1n, ALL, 'result sign-extended'); rr('divuw', 0xffffffff00000007n, 2n, 3n);
rr('divuw', 5n, 0n, ALL, 'by zero: all ones'); rr('divuw', 0x80000000n, 0xffffffffn, 0n);
rr('remw', u64(-7), 2n, ALL); rr('remw', 0x1_80000005n, 0n, 0xffffffff80000005n, 'by zero: the dividend word, sign-extended');
rr('remw', 0x80000000n, 0xffffffffn, 0n, 'overflow: zero');
rr('remuw', 0xffffffffn, 10n, 5n); rr('remuw', 0x1_80000005n, 0n, 0xffffffff80000005n, 'by zero: the dividend word, sign-extended');
rr('remuw', 0x80000007n, 0x80000000n, 7n);
