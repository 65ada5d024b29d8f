/**
 * The Node library: `import { createMachine, createVm, createXenHost } from 'wasmvisor'`
 * (bundled to dist/lib/wasmvisor.mjs, declarations in dist/types/). Everything runs on the
 * calling thread, as the CLI does: no Worker. The browser API is `wasmvisor/web` (host/web/api.ts).
 *
 *   const vm = await createVm({ image: 'guests/bin/minikernel/minikernel.elf', onConsoleOutput: (b) => process.stdout.write(b) });
 *   const r = await vm.run({ timeoutMs: 10_000 });   // { reason: 'exit', exitCode: 0, ... }
 *
 * The core (build/core.wasm) is found relative to this module (the package's build/), or where
 * `core` (or configureCore) says; a core that is missing is an error naming the path it tried.
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { BlockBackend } from '../devices/virtio/backend';
import { FileBackend } from '../devices/virtio/file-backend';
import type { BootOptions } from '../machine/boot-data';
import { setCoreModule } from '../machine/core';
import { readInputFile } from '../machine/input-file';
import { parseImage } from '../machine/loader';
import { Machine } from '../machine/machine';
import type { JitConfig, LoadedImage, RunLimits, RunResult } from '../machine/types';
import { KERNEL_RAW_BASE, Vm, type VmRunResult } from '../vmm/vm';
import type { PagingMode, VirtMode } from '../vmm/virt/technique';
import * as xenDevices from '../xen/devices';
import { XenHypervisor } from '../xen/hypervisor';
import { readDomainCfg } from '../xen/toolstack/cfg';
import { readHostCfg } from '../xen/toolstack/host-cfg';
import { formatXlList, type XlListRow } from '../xen/toolstack/list-format';
import { Toolstack, type DeviceOps, type DomainRecord } from '../xen/toolstack/xl';

export { Machine, Vm, Toolstack, XenHypervisor, formatXlList };
export type { RunLimits, RunResult, VmRunResult, DomainRecord, XlListRow, LoadedImage, BlockBackend, VirtMode, PagingMode };

/** RAM base of QEMU's virt board: raw `--bare` images load here. */
const RAM_BASE = 0x80000000n;
/** Raw images after a firmware (`bios`), as the CLI's --bios. */
const PAYLOAD_BASE = 0x80200000n;

/** Where the core comes from: a file path or file: URL, its bytes, or a compiled module. */
export type CoreSource = string | URL | Uint8Array | ArrayBuffer | WebAssembly.Module;
/** An image: a file path, or its bytes (ELF64 RISC-V or a raw binary). */
export type ImageSource = string | Uint8Array;

/**
 * Use this core for every machine created afterwards, instead of build/core.wasm next to the
 * package. A path that does not exist is an Error naming it.
 */
export function configureCore(core: CoreSource): void {
  if (core instanceof WebAssembly.Module) return setCoreModule(core);
  if (core instanceof Uint8Array || core instanceof ArrayBuffer) return setCoreModule(new WebAssembly.Module(core as BufferSource));
  const path = core instanceof URL || core.startsWith('file:') ? fileURLToPath(core) : core;
  if (!existsSync(path)) throw new Error(`wasmvisor: core not found: ${path} (the core option; build it with \`npm run build\`)`);
  setCoreModule(new WebAssembly.Module(readFileSync(path)));
}

/** Options shared by createMachine and createVm (the CLI's run options). */
export interface GuestOptions extends JitConfig {
  /** The image: for createMachine an M-mode program (or the payload of `bios`), for createVm an S-mode kernel. */
  image: ImageSource;
  /** Name used in messages (default: the path, or "image"). */
  name?: string;
  /** RAM in bytes (default 128 MiB, as the CLI). */
  memSize?: number;
  /** Time derived from retired instructions (reproducible runs); default false (wall clock). */
  deterministic?: boolean;
  /** Bytes the guest writes to its console. */
  onConsoleOutput?: (bytes: Uint8Array) => void;
  /** Kernel command line (/chosen bootargs), as --append. */
  append?: string;
  /** Initial ramdisk, as --initrd. */
  initrd?: ImageSource;
  /** A device tree blob used instead of the generated one, as --dtb. */
  dtb?: ImageSource;
  /** A raw disk for the virtio-blk device in slot 0: a file path (opened read-write unless readOnly) or a backend. */
  disk?: string | { path: string; readOnly?: boolean } | BlockBackend;
  /** The core to use (see configureCore); default build/core.wasm of the package. */
  core?: CoreSource;
}

/** Options of createMachine: the bare board, as `wasmvisor run --bare`. */
export interface MachineOptions extends GuestOptions {
  /** Firmware at 0x80000000 (e.g. OpenSBI fw_dynamic.bin); the image becomes its payload at 0x80200000. */
  bios?: ImageSource;
}

/** Options of createVm: an S-mode kernel in VS-mode under the VMM, as `wasmvisor run`. */
export interface VmOptions extends GuestOptions {
  /** How the CPU is virtualized (--virt): 'hw' (default), 'trap' or 'bt'. */
  virt?: VirtMode;
  /** How guest memory is virtualized (--paging): 'nested' or 'shadow'. */
  paging?: PagingMode;
  /** One line per VM exit (--trace exits). */
  onTraceExit?: (line: string) => void;
}

function bytesOf(src: ImageSource, what: string, maxBytes: number): { name: string; data: Uint8Array } {
  if (typeof src === 'string') return { name: src, data: readInputFile(src, { what, maxBytes }) };
  return { name: what, data: src };
}

function image(src: ImageSource, name: string | undefined, rawBase: bigint): LoadedImage {
  const f = bytesOf(src, 'image file', 1 << 31 >>> 0);
  return parseImage(f.data, name ?? f.name, rawBase);
}

function bootOptions(o: GuestOptions, memSize: number): BootOptions | undefined {
  if (o.append === undefined && o.initrd === undefined && o.dtb === undefined) return undefined;
  return {
    append: o.append,
    initrd: o.initrd !== undefined ? bytesOf(o.initrd, 'initrd', memSize) : undefined,
    dtb: o.dtb !== undefined ? bytesOf(o.dtb, 'device tree blob', 1 << 20) : undefined,
  };
}

function disk(d: GuestOptions['disk']): BlockBackend | undefined {
  if (d === undefined) return undefined;
  if (typeof d === 'string') return FileBackend.open(d);
  if ('path' in d && typeof d.path === 'string') return FileBackend.open(d.path, { readOnly: d.readOnly ?? false });
  return d as BlockBackend;
}

function jit(o: JitConfig): JitConfig {
  return { jit: o.jit, jitThreshold: o.jitThreshold, jitCodeLimit: o.jitCodeLimit, jitMaxBlocks: o.jitMaxBlocks };
}

/** A bare RV64 machine (QEMU virt board) with `image` loaded, M-mode at its entry. Call run(). */
export async function createMachine(o: MachineOptions): Promise<Machine> {
  if (o.core !== undefined) configureCore(o.core);
  const memSize = o.memSize ?? 128 << 20;
  const bios = o.bios !== undefined ? image(o.bios, undefined, RAM_BASE) : undefined;
  return Machine.create({
    ...jit(o),
    memSize,
    kernel: image(o.image, o.name, bios ? PAYLOAD_BASE : RAM_BASE),
    bios,
    deterministic: o.deterministic,
    onConsoleOutput: o.onConsoleOutput,
    disk: disk(o.disk),
    boot: bootOptions(o, memSize),
  });
}

/** A virtual machine running the S-mode kernel `image` in VS-mode (SBI answered by the VMM). Call run(). */
export async function createVm(o: VmOptions): Promise<Vm> {
  if (o.core !== undefined) configureCore(o.core);
  const memSize = o.memSize ?? 128 << 20;
  return Vm.create({
    ...jit(o),
    memSize,
    kernel: image(o.image, o.name, KERNEL_RAW_BASE),
    deterministic: o.deterministic,
    onConsoleOutput: o.onConsoleOutput,
    onTraceExit: o.onTraceExit,
    virt: o.virt,
    paging: o.paging,
    disk: disk(o.disk),
    boot: bootOptions(o, memSize),
  });
}

/** Options of createXenHost. */
export interface XenHostOptions extends JitConfig {
  /** A HOST.cfg (bridges = [...], domains = [...]) as `wasmvisor up`, or with `domain` one DomU xl.cfg as `xl create`. */
  config: string;
  /** config is a single DomU's xl.cfg (as `wasmvisor xl create`), not a HOST.cfg. */
  domain?: boolean;
  deterministic?: boolean;
  /** Console output of a domain, with its name. */
  onConsoleOutput?: (domain: string, bytes: Uint8Array) => void;
  /** Lifecycle lines ("domu1 (d1): poweroff, exit code 0: destroyed"). */
  onNotice?: (line: string) => void;
  core?: CoreSource;
}

/** A Xen host in this thread: Dom0's toolstack with the domains of its configuration built. */
export interface XenHost {
  /** The toolstack (xl): pause, unpause, destroy, console, records, list. */
  readonly xl: Toolstack;
  /** Run the domains until none is left running, the timeout, or xl.quit(); then destroy the rest. */
  run(limits?: { timeoutMs?: number }): Promise<'done' | 'quit' | 'timeout'>;
  /** `xl list` as text. */
  list(): string;
}

/** Build a Xen host: every domain of `config` is created (not yet run: call run()). */
export async function createXenHost(o: XenHostOptions): Promise<XenHost> {
  if (o.core !== undefined) configureCore(o.core);
  const cfg: { domains: ReturnType<typeof readDomainCfg>[]; bridges?: string[] } = o.domain ? { domains: [readDomainCfg(o.config)] } : readHostCfg(o.config);
  const xl = new Toolstack(new XenHypervisor(), {
    ...jit(o),
    devices: xenDevices as DeviceOps,
    deterministic: o.deterministic,
    bridges: cfg.bridges,
    onConsole: (rec, bytes) => o.onConsoleOutput?.(rec.cfg.name, bytes),
    onNotice: o.onNotice,
  });
  try {
    for (const c of cfg.domains) await xl.create(c);
  } catch (e) {
    for (const r of xl.records()) if (r.state !== 'gone') xl.destroy(r.domid);
    throw e;
  }
  return {
    xl,
    async run(limits = {}) {
      const how = await xl.run(limits);
      for (const r of xl.records()) if (r.state !== 'gone') xl.destroy(r.domid);
      return how;
    },
    list: () => formatXlList(xl.list()),
  };
}
