/**
 * Issue 11, defects 3, 5 and 6 through the built CLI: sizes that cannot fit are refused when the
 * command line or the xl.cfg is read (`memory = 2048` used to overflow `memoryMiB << 20` to
 * -2147483648 bytes; a VM with --mem 2G failed mid-run "out of host memory"); the bare machine
 * refuses an image its device tree would overwrite (VM mode already did); an ELF whose tohost
 * crosses the end of RAM is refused at load (it was "internal error", exit 70), while one in the
 * last 8 bytes of RAM works. Each refusal: one line, exit 2, no stack trace, within a few seconds.
 * Needs dist/cli.mjs (`node scripts/build.mjs`).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runCliSync, expectRefused } from './cli';
import { afterAll, describe, expect, it } from 'vitest';
import { loadImageFile } from '../../host/machine/loader';
import { memSizeLimit, sizeText } from '../../host/machine/mem-size';
import { vmMemSizeLimit } from '../../host/vmm/vm';
import * as E from '../diff/encode';
import { buildElf } from '../host/elf-writer';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const HELLO = join(ROOT, 'guests/bin/demo/hello.elf');


const dir = mkdtempSync(join(tmpdir(), 'wasmvisor-admission-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, bytes: Uint8Array | string): string {
  const p = join(dir, name);
  writeFileSync(p, bytes);
  return p;
}

const hex = (v: bigint | number) => '0x' + v.toString(16);
const RAM = 0x8000_0000n;

/** M-mode guest: `sw` of 7 (HTIF exit, code 3) to `tohost`, then spin. */
function tohostElf(tohost: bigint): Uint8Array {
  const T0 = 5;
  const T1 = 6;
  const off = tohost - RAM;
  const words = [
    E.uType(0x17, T0, Number((off + 0x800n) >> 12n)), // auipc t0, %hi(tohost)
    E.aluI('addi', T0, T0, Number(BigInt.asIntN(12, off))),
    E.aluI('addi', T1, 0, 7),
    E.store('sw', T1, T0, 0),
    E.jal(0, 0),
  ];
  const code = new Uint8Array(words.length * 4);
  words.forEach((w, i) => new DataView(code.buffer).setUint32(i * 4, w, true));
  return buildElf({ entry: RAM, segments: [{ paddr: RAM, data: code }], symbols: [{ name: 'tohost', value: tohost, shndx: 1 }] }).bytes;
}

describe('memory sizes are admitted when the command line or the xl.cfg is read', { timeout: 60_000 }, () => {
  const vmMax = sizeText(vmMemSizeLimit());

  it('a VM with more memory than it can hold next to its G-stage tables (2043M with 2 GiB RAM_SIZE_MAX)', () => {
    expectRefused(['run', `--mem=${vmMemSizeLimit() / 2 ** 20 + 1}M`, HELLO],
      `wasmvisor: --mem: ${vmMemSizeLimit() / 2 ** 20 + 1}M is above the maximum of ${vmMax} for a VM (--bare allows ${sizeText(memSizeLimit())})`);
  });

  it('a bare machine beyond the Wasm memory', () => {
    expectRefused(['run', '--bare', '--mem', '4G', HELLO], `wasmvisor: --mem: 4G is above the maximum of ${sizeText(memSizeLimit())}`);
  });

  it('memory = 2048 in an xl.cfg (it overflowed to -2147483648 bytes), for xl create and for up', () => {
    const mib = Math.max(2048, vmMemSizeLimit() / 2 ** 20 + 1);
    const cfg = file('big.cfg', `name = 'big'\nkernel = '${HELLO}'\nmemory = ${mib}\n`);
    const message = `${cfg}:3: memory = ${mib}: expected 4..${vmMemSizeLimit() / 2 ** 20} (MiB)`;
    expectRefused(['xl', 'create', cfg], message);
    expectRefused(['up', file('host.cfg', `domains = [ '${cfg}' ]\n`)], message);
  });
});

describe('RAM is allocated when the guest is created', { timeout: 60_000 }, () => {
  it('a host that cannot give it (ulimit -v 3.5 GB, --mem 2G) gets one line, not "internal error"', () => {
    const t0 = performance.now();
    const r = spawnSync('sh', ['-c', `ulimit -v 3500000 && exec "${process.execPath}" bin/wasmvisor.mjs run --bare --mem 2G "${HELLO}"`], {
      cwd: ROOT, input: '', encoding: 'latin1', timeout: 30_000, killSignal: 'SIGKILL', env: { ...process.env, WASMVISOR_DEBUG: '' },
    });
    expect(r.stderr).toMatch(new RegExp(`^wasmvisor: ${HELLO.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: cannot allocate 2G of host memory for its RAM \\([^\n]*\\); give it less memory \\(--mem\\)\n$`));
    expect([r.stdout, r.status]).toEqual(['', 2]);
    expect(performance.now() - t0).toBeLessThan(10_000);
  });
});

describe('the bare machine refuses an image under its device tree (issue 11, defect 5)', { timeout: 60_000 }, () => {
  it('--mem 1M: the DTB goes to 0x80000000, over the image', () => {
    const seg = loadImageFile(HELLO, RAM).segments[0];
    const size = Math.max(seg.memSize, seg.data.length);
    expectRefused(['run', '--bare', '--mem', '1M', HELLO],
      `${HELLO}: segment at ${hex(seg.paddr)} (size ${hex(size)}) overlaps the device tree at 0x80000000 in a 1 MiB machine; give the machine more memory (--mem)`);
  });

  it('a raw image that fills RAM', () => {
    const raw = file('fill.bin', new Uint8Array((4 << 20) - 4096)); // zeros: an illegal-instruction storm if it ran
    expectRefused(['run', '--bare', '--mem', '4M', raw],
      `${raw}: segment at 0x80000000 (size 0x3ff000) overlaps the device tree at 0x80200000 in a 4 MiB machine; give the machine more memory (--mem)`);
  });
});

describe('HTIF tohost at the end of RAM (issue 11, defect 6)', { timeout: 60_000 }, () => {
  const END = RAM + (4n << 20n);

  it('in the last 8 bytes of RAM: works (the guest exits with code 3 through it)', () => {
    const r = runCliSync(['run', '--bare', '--mem', '4M', file('end.elf', tohostElf(END - 8n))]);
    expect([r.signal, r.stderr, r.stdout, r.status]).toEqual([null, '', '', 3]);
  });

  it('crossing the end of RAM: refused at load (it was "internal error", exit 70)', () => {
    const p = file('cross.elf', tohostElf(END - 4n));
    expectRefused(['run', '--bare', '--mem', '4M', p], `${p}: tohost at ${hex(END - 4n)} (8 bytes) is outside RAM 0x80000000-${hex(END - 1n)}`);
  });
});
