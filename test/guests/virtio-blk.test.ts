/**
 * The virtio-blk guest (guests/virtio-blk/blk.c) end to end: `wasmvisor run --bare --disk FILE`
 * must print exactly guests/expected/virtio-blk/blk.txt (written from QEMU) and leave the
 * pattern in the image file; the same ELF on `qemu-system-riscv64 -M virt` with a modern
 * virtio-blk-device must print the same, for a writable and for a read-only disk.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../../host/cli/main';
import { MemoryBackend } from '../../host/devices/virtio/backend';
import { loadImageFile } from '../../host/machine/loader';
import { Machine } from '../../host/machine/machine';
import { QEMU } from '../diff/qemu';
import { oracle } from '../oracles';

const ROOT = join(__dirname, '../..');
const ELF = join(ROOT, 'guests/bin/virtio-blk/blk.elf');
/** The same program as an S-mode kernel for VM mode (guests/vmvirtio/blk.c). */
const VM_ELF = join(ROOT, 'guests/bin/vmvirtio/blk.elf');
const EXPECTED = readFileSync(join(ROOT, 'guests/expected/virtio-blk/blk.txt'), 'latin1');
const DISK_SIZE = 1 << 20;
const SECTORS = DISK_SIZE / 512;

const dir = mkdtempSync(join(tmpdir(), 'wasmvisor-vblk-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A fresh zeroed 1 MiB disk image file. */
function diskFile(name: string): string {
  const p = join(dir, name);
  writeFileSync(p, new Uint8Array(DISK_SIZE));
  return p;
}

/** `wasmvisor ARGS` in this process: console text, stderr, exit status. */
async function wasmvisor(args: string[]): Promise<{ out: string; err: string; code: number }> {
  const out: string[] = [];
  const err: string[] = [];
  const stdin = new PassThrough();
  stdin.end();
  const code = await runCli(args, {
    stdout: (b) => out.push(typeof b === 'string' ? b : Buffer.from(b).toString('latin1')),
    stderr: (t) => err.push(t),
    stdin: stdin as unknown as NodeJS.ReadStream,
    onStdoutClosed: () => {},
  });
  return { out: out.join(''), err: err.join(''), code };
}

/** The same image under QEMU virt with the disk on a modern virtio-mmio transport. */
function qemu(disk: string, readOnly: boolean): Promise<{ out: string; code: number | null }> {
  const args = [
    '-M', 'virt', '-bios', 'none', '-m', '128M', '-nographic', '-kernel', ELF,
    '-global', 'virtio-mmio.force-legacy=false',
    '-drive', `if=none,file=${disk},format=raw,id=d0${readOnly ? ',readonly=on' : ''}`,
    '-device', 'virtio-blk-device,drive=d0',
  ];
  return new Promise((resolve, reject) => {
    const child = spawn(QEMU, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.stdout.on('data', (b: Buffer) => chunks.push(b));
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ out: Buffer.concat(chunks).toString('latin1'), code });
    });
  });
}

/** The byte the guest writes at offset i of sector s (guests/virtio-blk/blk.c pattern()). */
function pattern(s: number, i: number): number {
  return (s * 131 + i * 7 + (i >> 8) + 0x5a) & 0xff;
}

/** The guest's output on a read-only disk: no write, the OUT refused. */
function expectedReadOnly(): string {
  const lines = EXPECTED.split('\r\n');
  const at = (prefix: string) => lines.findIndex((l) => l.startsWith(prefix));
  lines[at('virtio-blk: features accepted')] = 'virtio-blk: features accepted 0x0000000100000224';
  lines[at('virtio-blk: capacity')] += ', read-only';
  lines.splice(at('virtio-blk: wrote'), 2, 'virtio-blk: write to read-only disk: IOERR');
  return lines.join('\r\n');
}

describe('virtio-blk guest on wasmvisor run --bare --disk', () => {
  it('prints the expected report and stores the pattern in the image file', async () => {
    const disk = diskFile('rw.img');
    const r = await wasmvisor(['run', '--bare', '--deterministic', '--disk', disk, ELF]);
    expect(r.err).toBe('');
    expect(r.out).toBe(EXPECTED);
    expect(r.code).toBe(0);
    const bytes = readFileSync(disk);
    for (const start of [0, SECTORS / 2, SECTORS - 8]) {
      const want = Uint8Array.from({ length: 8 * 512 }, (_, i) => pattern(start + (i >> 9), i & 511));
      expect(Buffer.compare(bytes.subarray(start * 512, (start + 8) * 512), want)).toBe(0);
    }
    expect(bytes.subarray(8 * 512, 16 * 512).every((b) => b === 0)).toBe(true); // nothing else written
  }, 30_000);

  it('on a read-only disk (FILE,ro) the write is refused with IOERR and the file is untouched', async () => {
    const disk = diskFile('ro.img');
    const r = await wasmvisor(['run', '--bare', '--deterministic', '--disk', `${disk},ro`, ELF]);
    expect(r.out).toBe(expectedReadOnly());
    expect(r.code).toBe(0);
    expect(readFileSync(disk).every((b) => b === 0)).toBe(true);
  }, 30_000);

  it('costs one MMIO exit per request (the notify), one per batch', async () => {
    const m = await Machine.create({
      memSize: 128 << 20,
      kernel: loadImageFile(ELF, 0x80000000n),
      deterministic: true,
      disk: new MemoryBackend(DISK_SIZE),
    });
    const r = await m.run({ timeoutMs: 20_000 });
    expect([r.reason, r.exitCode]).toEqual(['exit', 0]);
    const blk = m.blk!;
    const device = blk.device as unknown as { counters: { requests: number } };
    // 10 requests: GET_ID, 3 OUT, FLUSH, a batch of 3 IN, 2 refused; 8 notifies.
    expect(device.counters.requests).toBe(10);
    expect(blk.counters.notifies).toBe(8);
    expect(blk.counters.interrupts).toBe(0); // the guest polls (VIRTQ_AVAIL_F_NO_INTERRUPT)
    // Probe 3 (magic, version, device id) + vendor 1 + initialisation 25 (§3.1.1: 6 status,
    // 8 feature, 11 queue accesses) + config 3 (capacity low/high, seg_max), then 8 notifies.
    expect(blk.counters.registerAccesses).toBe(3 + 1 + 25 + 3 + 8);
  }, 30_000);

  it('a missing disk image is one line naming the file, exit 2', async () => {
    const missing = join(dir, 'nope.img');
    const r = await wasmvisor(['run', '--bare', '--disk', missing, ELF]);
    expect([r.out, r.err, r.code]).toEqual(['', `${missing}: cannot open disk image: ENOENT\n`, 2]);
  });

  it('a directory is not a disk image', async () => {
    const r = await wasmvisor(['run', '--bare', '--disk', dir, ELF]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(new RegExp(`^${dir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: (disk image is not a regular file|cannot open disk image: EISDIR)\n$`));
  });

  it('--disk needs a FILE, and is given once', async () => {
    const missing = join(dir, 'vm-nope.img');
    expect(await wasmvisor(['run', '--disk', missing, VM_ELF])).toEqual({ out: '', err: `${missing}: cannot open disk image: ENOENT\n`, code: 2 });
    expect((await wasmvisor(['run', '--bare', '--disk', ',ro', ELF])).err).toBe("wasmvisor: --disk: missing FILE in ',ro' (expected FILE or FILE,ro)\n");
    expect((await wasmvisor(['run', '--bare', '--disk', 'a', '--disk', 'b', ELF])).err).toBe('wasmvisor: --disk given twice (one disk only so far)\n');
  });
});

// issue 12: the same device model in a VM, every register access an MMIO exit to the VMM.
describe('virtio-blk guest in VM mode: wasmvisor run --disk', () => {
  it('prints the same report as on the bare machine and stores the pattern in the image file', async () => {
    const disk = diskFile('vm-rw.img');
    const r = await wasmvisor(['run', '--deterministic', '--disk', disk, VM_ELF]);
    expect(r.err).toBe('');
    expect(r.out).toBe(EXPECTED);
    expect(r.code).toBe(0);
    const bytes = readFileSync(disk);
    for (const start of [0, SECTORS / 2, SECTORS - 8]) {
      const want = Uint8Array.from({ length: 8 * 512 }, (_, i) => pattern(start + (i >> 9), i & 511));
      expect(Buffer.compare(bytes.subarray(start * 512, (start + 8) * 512), want)).toBe(0);
    }
    expect(bytes.subarray(8 * 512, 16 * 512).every((b) => b === 0)).toBe(true);
  }, 30_000);

  it('a read-only disk refuses the write with IOERR and the file stays zero', async () => {
    const disk = diskFile('vm-ro.img');
    const r = await wasmvisor(['run', '--deterministic', '--disk', `${disk},ro`, VM_ELF]);
    expect([r.out, r.err, r.code]).toEqual([expectedReadOnly(), '', 0]);
    expect(readFileSync(disk).every((b) => b === 0)).toBe(true);
  }, 30_000);

  it('without --disk the guest finds no block device in slot 0 (exit 2)', async () => {
    const r = await wasmvisor(['run', '--deterministic', VM_ELF]);
    expect([r.out, r.code]).toEqual(['virtio-blk: 8 slots probed: 0 block device(s), 0 other device(s)\r\nvirtio-blk: no block device (attach a disk)\r\n', 2]);
  }, 30_000);

  it('--virtio-console and --virtio-rng are two other devices in the slots the guest probes, in both modes', async () => {
    const want = 'virtio-blk: 8 slots probed: 0 block device(s), 2 other device(s)\r\nvirtio-blk: no block device (attach a disk)\r\n';
    const vm = await wasmvisor(['run', '--deterministic', '--virtio-console', '--virtio-rng', VM_ELF]);
    const bare = await wasmvisor(['run', '--bare', '--deterministic', '--virtio-console', '--virtio-rng', ELF]);
    expect([vm.out, vm.code]).toEqual([want, 2]);
    expect([bare.out, bare.code]).toEqual([want, 2]);
  }, 30_000);
});

describe.skipIf(!oracle('qemu', 'test/guests/virtio-blk.test.ts'))('the same ELF on qemu-system-riscv64 -M virt -device virtio-blk-device', () => {
  it.each([false, true])('read-only %s: the same console output', async (readOnly) => {
    const [ours, theirs] = await Promise.all([
      wasmvisor(['run', '--bare', '--deterministic', '--disk', diskFile(`ours-${readOnly}.img`) + (readOnly ? ',ro' : ''), ELF]),
      qemu(diskFile(`qemu-${readOnly}.img`), readOnly),
    ]);
    // QEMU may exit on the finisher before its UART's last bytes reach stdout (see boot.test.ts).
    expect(ours.out.trimEnd()).toBe(theirs.out.trimEnd());
    expect([ours.code, theirs.code]).toEqual([0, 0]);
    expect(ours.out).toBe(readOnly ? expectedReadOnly() : EXPECTED);
  }, 60_000);
});
