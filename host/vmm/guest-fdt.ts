/**
 * The device tree a VM guest receives: the `virt` board as a KVM guest sees it under QEMU
 * (`-M virt -accel kvm`), with one hart. Differences from the bare board's tree
 * (host/machine/fdt.ts):
 *   - no CLINT: the guest has no M-mode; its timer is SBI TIME / Sstc (vstimecmp) and its IPIs
 *     are SBI IPI;
 *   - the PLIC lists only the hart's S-mode external interrupt, so PLIC context 0 is the
 *     guest's S context (QEMU does the same when KVM is on); the VMM routes that context's
 *     output to hvip.VSEIP.
 * Node names, properties and phandles otherwise follow the bare tree (and QEMU 7.2).
 */
import { Fdt } from '../machine/fdt';
import {
  VIRT_DRAM_BASE, VIRT_PLIC_BASE, VIRT_PLIC_SIZE, VIRT_TEST_BASE, VIRT_TIMEBASE_FREQUENCY, VIRT_UART0_BASE,
  VIRT_UART0_IRQ, VIRT_UART_CLOCK, VIRT_VIRTIO_BASE, VIRT_VIRTIO_COUNT, VIRT_VIRTIO_IRQ,
} from '../machine/fdt';

/** The supervisor external interrupt number (scause code 9). */
const IRQ_S_EXT = 9;

/** Options of the guest's tree. */
export interface GuestFdtOptions {
  /** Guest RAM size in bytes (guest RAM starts at GPA 0x80000000). */
  memSize: number;
  /** riscv,isa of the virtual hart. */
  hartIsa: string;
  /** /chosen bootargs, when given. */
  bootargs?: string;
}

const hex = (n: number) => n.toString(16);

/** The guest's DTB. */
export function guestFdt(opts: GuestFdtOptions): Uint8Array {
  const fdt = new Fdt();
  const root = fdt.root;
  root.u32('#address-cells', 2).u32('#size-cells', 2);
  root.str('compatible', 'riscv-virtio').str('model', 'riscv-virtio,qemu');

  const cpus = fdt.node('/cpus');
  cpus.u32('#address-cells', 1).u32('#size-cells', 0).u32('timebase-frequency', VIRT_TIMEBASE_FREQUENCY);
  const cpu = cpus.child('cpu@0');
  fdt.phandle(cpu);
  cpu.str('device_type', 'cpu').u32('reg', 0).str('status', 'okay').str('compatible', 'riscv');
  cpu.str('riscv,isa', opts.hartIsa).str('mmu-type', 'riscv,sv48');
  const intc = cpu.child('interrupt-controller');
  intc.u32('#address-cells', 0).u32('#interrupt-cells', 1).flag('interrupt-controller');
  intc.str('compatible', 'riscv,cpu-intc');
  const intcPh = fdt.phandle(intc);
  cpus.child('cpu-map').child('cluster0').child('core0').u32('cpu', cpu.phandleValue as number);

  fdt.node(`/memory@${hex(VIRT_DRAM_BASE)}`).str('device_type', 'memory').u64('reg', BigInt(VIRT_DRAM_BASE), BigInt(opts.memSize));

  const soc = fdt.node('/soc');
  soc.u32('#address-cells', 2).u32('#size-cells', 2).str('compatible', 'simple-bus').flag('ranges');
  const plic = soc.child(`plic@${hex(VIRT_PLIC_BASE)}`);
  const plicPh = fdt.phandle(plic);
  plic.u32('#interrupt-cells', 1).u32('#address-cells', 0);
  plic.strs('compatible', 'sifive,plic-1.0.0', 'riscv,plic0').flag('interrupt-controller');
  plic.u32('interrupts-extended', intcPh, IRQ_S_EXT);
  plic.u64('reg', BigInt(VIRT_PLIC_BASE), BigInt(VIRT_PLIC_SIZE));
  plic.u32('riscv,ndev', 95);

  const test = soc.child(`test@${hex(VIRT_TEST_BASE)}`);
  const testPh = fdt.phandle(test);
  test.strs('compatible', 'sifive,test1', 'sifive,test0', 'syscon').u64('reg', BigInt(VIRT_TEST_BASE), 0x1000n);

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
  fdt.node('/poweroff').str('compatible', 'syscon-poweroff').u32('regmap', testPh).u32('offset', 0).u32('value', 0x5555);
  fdt.node('/reboot').str('compatible', 'syscon-reboot').u32('regmap', testPh).u32('offset', 0).u32('value', 0x7777);
  const chosen = fdt.node('/chosen');
  chosen.str('stdout-path', `/soc/serial@${hex(VIRT_UART0_BASE)}`);
  if (opts.bootargs !== undefined) chosen.str('bootargs', opts.bootargs);
  return fdt.build();
}
