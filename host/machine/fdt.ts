/**
 * A Flattened Devicetree writer (DTB format version 17, Devicetree Specification v0.4 §5) and
 * the tree of the `virt` board.
 *
 * Blob layout produced by `Fdt.build()`:
 *
 *   0x00  header, 40 bytes, big-endian u32s: magic 0xd00dfeed, totalsize, off_dt_struct,
 *         off_dt_strings, off_mem_rsvmap, version 17, last_comp_version 16,
 *         boot_cpuid_phys, size_dt_strings, size_dt_struct
 *   0x28  memory reservation block (8-aligned): {u64 address, u64 size}..., {0, 0}
 *         structure block: FDT_BEGIN_NODE name\0 (pad 4) | FDT_PROP len nameoff value (pad 4)
 *         | FDT_END_NODE ... FDT_END
 *         strings block: property names, each once
 */

/** Structure block tokens (DT spec §5.4.1). */
const FDT_MAGIC = 0xd00dfeed;
const FDT_BEGIN_NODE = 0x1;
const FDT_END_NODE = 0x2;
const FDT_PROP = 0x3;
const FDT_END = 0x9;
const FDT_VERSION = 17;
const FDT_LAST_COMP_VERSION = 16;
const HEADER_SIZE = 40;

/** One node of a tree under construction. Properties keep the order they were set in. */
export class FdtNode {
  /** Child nodes in insertion order. */
  readonly children: FdtNode[] = [];
  /** Properties: name -> encoded value (big-endian bytes). */
  readonly props = new Map<string, Uint8Array>();
  /** This node's phandle once `Fdt.phandle()` gave it one. */
  phandleValue?: number;

  /** @param name node name with unit address, e.g. "serial@10000000" ("" for the root) */
  constructor(readonly name: string) {}

  /** Add (or find) a child node by name. */
  child(name: string): FdtNode {
    let c = this.children.find((n) => n.name === name);
    if (!c) {
      c = new FdtNode(name);
      this.children.push(c);
    }
    return c;
  }

  /** A property of 32-bit cells (`<a b c>`). */
  u32(name: string, ...cells: number[]): this {
    const b = new Uint8Array(cells.length * 4);
    const dv = new DataView(b.buffer);
    cells.forEach((c, i) => dv.setUint32(i * 4, c >>> 0));
    return this.bytes(name, b);
  }

  /** A property of 64-bit values, each written as two cells (high, low). */
  u64(name: string, ...values: bigint[]): this {
    const b = new Uint8Array(values.length * 8);
    const dv = new DataView(b.buffer);
    values.forEach((v, i) => dv.setBigUint64(i * 8, BigInt.asUintN(64, v)));
    return this.bytes(name, b);
  }

  /** A string property. */
  str(name: string, value: string): this {
    return this.strs(name, value);
  }

  /** A string-list property (each string NUL-terminated). */
  strs(name: string, ...values: string[]): this {
    return this.bytes(name, new TextEncoder().encode(values.map((s) => s + '\0').join('')));
  }

  /** An empty (boolean) property such as `interrupt-controller;`. */
  flag(name: string): this {
    return this.bytes(name, new Uint8Array(0));
  }

  /** A property with raw bytes. */
  bytes(name: string, value: Uint8Array): this {
    this.props.set(name, value);
    return this;
  }
}

/** A devicetree under construction: the root node, phandles and memory reservations. */
export class Fdt {
  /** The root node "/". */
  readonly root = new FdtNode('');
  /** CPU that boots (header field boot_cpuid_phys). */
  bootCpuidPhys = 0;
  private readonly reservations: Array<{ address: bigint; size: bigint }> = [];
  private nextPhandle = 1;

  /** The node at an absolute path ("/soc/serial@10000000"), created with its parents as needed. */
  node(path: string): FdtNode {
    let n = this.root;
    for (const part of path.split('/').filter((p) => p !== '')) n = n.child(part);
    return n;
  }

  /** The node's phandle, giving it the next free one (and a `phandle` property) if it has none. */
  phandle(node: FdtNode): number {
    if (node.phandleValue === undefined) {
      node.phandleValue = this.nextPhandle++;
      node.u32('phandle', node.phandleValue);
    }
    return node.phandleValue;
  }

  /** Add an entry to the memory reservation block. */
  reserve(address: bigint, size: bigint): void {
    this.reservations.push({ address, size });
  }

  /** Encode the tree as a DTB (version 17). */
  build(): Uint8Array {
    // Strings block: each property name once, in first-use order.
    const strings = new Map<string, number>();
    const stringBytes: number[] = [];
    const enc = new TextEncoder();
    const nameOffset = (name: string): number => {
      let off = strings.get(name);
      if (off === undefined) {
        off = stringBytes.length;
        strings.set(name, off);
        stringBytes.push(...enc.encode(name), 0);
      }
      return off;
    };

    // Structure block.
    const struct: number[] = [];
    const u32 = (v: number) => struct.push((v >>> 24) & 0xff, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff);
    const pad = () => {
      while (struct.length % 4) struct.push(0);
    };
    const emit = (node: FdtNode) => {
      u32(FDT_BEGIN_NODE);
      struct.push(...enc.encode(node.name), 0);
      pad();
      for (const [name, value] of node.props) {
        u32(FDT_PROP);
        u32(value.length);
        u32(nameOffset(name));
        for (const b of value) struct.push(b); // (not push(...value): props may be large)
        pad();
      }
      node.children.forEach(emit);
      u32(FDT_END_NODE);
    };
    emit(this.root);
    u32(FDT_END);

    const rsvOff = HEADER_SIZE + ((8 - (HEADER_SIZE % 8)) % 8);
    const rsvSize = (this.reservations.length + 1) * 16;
    const structOff = rsvOff + rsvSize;
    const stringsOff = structOff + struct.length;
    const total = stringsOff + stringBytes.length;

    const out = new Uint8Array(total);
    const dv = new DataView(out.buffer);
    const header = [
      FDT_MAGIC,
      total,
      structOff,
      stringsOff,
      rsvOff,
      FDT_VERSION,
      FDT_LAST_COMP_VERSION,
      this.bootCpuidPhys,
      stringBytes.length,
      struct.length,
    ];
    header.forEach((v, i) => dv.setUint32(i * 4, v));
    this.reservations.forEach((r, i) => {
      dv.setBigUint64(rsvOff + i * 16, r.address);
      dv.setBigUint64(rsvOff + i * 16 + 8, r.size);
    });
    out.set(struct, structOff);
    out.set(stringBytes, stringsOff);
    return out;
  }
}

/** Options of the `virt` board's tree. */
export interface VirtBoardOptions {
  /** RAM size in bytes (RAM starts at 0x80000000). */
  memSize: number;
  /** The hart's riscv,isa string, e.g. "rv64imac_zicsr_zifencei_zicntr". */
  hartIsa: string;
  /** Kernel command line (/chosen bootargs), when given. */
  bootargs?: string;
  /**
   * The tree a virtual machine's guest gets, as QEMU builds it for a KVM guest: no CLINT (the
   * guest has no M-mode; its timer and IPIs go through SBI and Sstc), and the PLIC lists only
   * the hart's S-mode external interrupt, so PLIC context 0 is the guest's S context.
   */
  virtualMachine?: boolean;
  /** Called with the finished tree before it is encoded, to add nodes (e.g. host/xen's /hypervisor). */
  extra?: (fdt: Fdt) => void;
}

/** Where the devices of the `virt` board live (QEMU's hw/riscv/virt.c memmap). */
export const VIRT_TEST_BASE = 0x100000;
export const VIRT_CLINT_BASE = 0x2000000;
export const VIRT_PLIC_BASE = 0xc000000;
export const VIRT_PLIC_SIZE = 0x600000;
export const VIRT_UART0_BASE = 0x10000000;
export const VIRT_UART0_IRQ = 10;
export const VIRT_VIRTIO_BASE = 0x10001000;
export const VIRT_VIRTIO_COUNT = 8;
export const VIRT_VIRTIO_IRQ = 1;
export const VIRT_DRAM_BASE = 0x80000000;
/** mtime frequency (10 MHz). */
export const VIRT_TIMEBASE_FREQUENCY = 10_000_000;
/** The 16550's input clock, as QEMU declares it. */
export const VIRT_UART_CLOCK = 3686400;

// Local interrupt numbers of the hart's interrupt controller (mcause codes).
const IRQ_M_SOFT = 3;
const IRQ_M_TIMER = 7;
const IRQ_S_EXT = 9;
const IRQ_M_EXT = 11;

/**
 * The device tree QEMU 7.2 generates for `-M virt` with one hart, restricted to the devices
 * this board has (no PCI, flash, RTC, fw-cfg, platform bus or PMU node; no random rng-seed),
 * as a DTB. Node names, addresses, properties and phandle numbers match QEMU's, except:
 * riscv,ndev is 95 (sources 1..95; QEMU 7.2 says 96) and the cpu interrupt controller has
 * `#address-cells = <0>` (so dtc does not warn; the binding allows it).
 */
export function virtBoardFdt(opts: VirtBoardOptions): Uint8Array {
  const fdt = new Fdt();
  const root = fdt.root;
  root.u32('#address-cells', 2).u32('#size-cells', 2);
  root.str('compatible', 'riscv-virtio').str('model', 'riscv-virtio,qemu');

  // Create the nodes in an order that gives QEMU's phandle numbers: cpu 1, intc 2, plic 3, test 4.
  const cpus = fdt.node('/cpus');
  cpus.u32('#address-cells', 1).u32('#size-cells', 0);
  cpus.u32('timebase-frequency', VIRT_TIMEBASE_FREQUENCY);
  const cpu = cpus.child('cpu@0');
  fdt.phandle(cpu);
  cpu.str('device_type', 'cpu').u32('reg', 0).str('status', 'okay').str('compatible', 'riscv');
  cpu.str('riscv,isa', opts.hartIsa).str('mmu-type', 'riscv,sv48');
  const intc = cpu.child('interrupt-controller');
  intc.u32('#address-cells', 0).u32('#interrupt-cells', 1).flag('interrupt-controller');
  intc.str('compatible', 'riscv,cpu-intc');
  const intcPh = fdt.phandle(intc);
  cpus.child('cpu-map').child('cluster0').child('core0').u32('cpu', cpu.phandleValue as number);

  fdt
    .node(`/memory@${hex(VIRT_DRAM_BASE)}`)
    .str('device_type', 'memory')
    .u64('reg', BigInt(VIRT_DRAM_BASE), BigInt(opts.memSize));

  const soc = fdt.node('/soc');
  soc.u32('#address-cells', 2).u32('#size-cells', 2).str('compatible', 'simple-bus').flag('ranges');

  const plic = soc.child(`plic@${hex(VIRT_PLIC_BASE)}`);
  const plicPh = fdt.phandle(plic);
  plic.u32('#interrupt-cells', 1).u32('#address-cells', 0);
  plic.strs('compatible', 'sifive,plic-1.0.0', 'riscv,plic0').flag('interrupt-controller');
  if (opts.virtualMachine) plic.u32('interrupts-extended', intcPh, IRQ_S_EXT);
  else plic.u32('interrupts-extended', intcPh, IRQ_M_EXT, intcPh, IRQ_S_EXT);
  plic.u64('reg', BigInt(VIRT_PLIC_BASE), BigInt(VIRT_PLIC_SIZE));
  plic.u32('riscv,ndev', 95);

  const test = soc.child(`test@${hex(VIRT_TEST_BASE)}`);
  const testPh = fdt.phandle(test);
  test.strs('compatible', 'sifive,test1', 'sifive,test0', 'syscon');
  test.u64('reg', BigInt(VIRT_TEST_BASE), 0x1000n);

  if (!opts.virtualMachine) {
    soc
      .child(`clint@${hex(VIRT_CLINT_BASE)}`)
      .strs('compatible', 'sifive,clint0', 'riscv,clint0')
      .u64('reg', BigInt(VIRT_CLINT_BASE), 0x10000n)
      .u32('interrupts-extended', intcPh, IRQ_M_SOFT, intcPh, IRQ_M_TIMER);
  }

  soc
    .child(`serial@${hex(VIRT_UART0_BASE)}`)
    .str('compatible', 'ns16550a')
    .u64('reg', BigInt(VIRT_UART0_BASE), 0x100n)
    .u32('clock-frequency', VIRT_UART_CLOCK)
    .u32('interrupt-parent', plicPh)
    .u32('interrupts', VIRT_UART0_IRQ);

  for (let i = 0; i < VIRT_VIRTIO_COUNT; i++) {
    const base = VIRT_VIRTIO_BASE + i * 0x1000;
    soc
      .child(`virtio_mmio@${hex(base)}`)
      .str('compatible', 'virtio,mmio')
      .u64('reg', BigInt(base), 0x1000n)
      .u32('interrupt-parent', plicPh)
      .u32('interrupts', VIRT_VIRTIO_IRQ + i);
  }

  // syscon-poweroff / syscon-reboot: Linux's drivers write `value` to the test device.
  fdt.node('/poweroff').str('compatible', 'syscon-poweroff').u32('regmap', testPh).u32('offset', 0).u32('value', 0x5555);
  fdt.node('/reboot').str('compatible', 'syscon-reboot').u32('regmap', testPh).u32('offset', 0).u32('value', 0x7777);

  const chosen = fdt.node('/chosen');
  chosen.str('stdout-path', `/soc/serial@${hex(VIRT_UART0_BASE)}`);
  if (opts.bootargs !== undefined) chosen.str('bootargs', opts.bootargs);

  opts.extra?.(fdt);
  return fdt.build();
}

/**
 * Where QEMU 7.2 puts the DTB (hw/riscv/boot.c riscv_load_fdt): 2 MiB-aligned, below the end of
 * RAM or 3 GiB, whichever is lower, with room for `fdtSize` bytes.
 */
export function fdtLoadAddress(ramBase: bigint, memSize: number, fdtSize: number): bigint {
  const MiB = 1n << 20n;
  const end = ramBase + BigInt(memSize);
  const limit = ramBase < 3072n * MiB ? (end < 3072n * MiB ? end : 3072n * MiB) : end;
  return ((limit - BigInt(fdtSize)) / (2n * MiB)) * (2n * MiB);
}

function hex(n: number): string {
  return n.toString(16);
}
