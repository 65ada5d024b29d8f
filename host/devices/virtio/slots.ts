/**
 * The virtio devices of the `virt` board, the same set on the bare machine (host/machine) and
 * in a VM (host/vmm, where each register access is an MMIO exit): each device kind has a fixed
 * virtio-mmio slot, and the slots without a device hold an empty transport (device ID 0), as
 * QEMU's. Every slot is in the device tree whatever it holds (host/machine/fdt.ts), so the
 * tree does not change with the command line.
 *
 * ```
 *  slot  address      PLIC IRQ  device            option
 *  0     0x10001000   1         virtio-blk        --disk FILE[,ro]
 *  1     0x10002000   2         virtio-net        --net socket,listen=|connect=HOST:PORT[,mac=]
 *  2     0x10003000   3         virtio-console    --virtio-console
 *  3     0x10004000   4         virtio-rng        --virtio-rng
 *  4..7  0x10005000-  5..8      (empty)
 * ```
 * (QEMU's virt gives `-device virtio-*-device` the slots from the top down in command-line
 * order; fixed slots keep /dev/vda, eth0 and hvc0 where they are whatever else is attached.)
 */
import type { GuestMemory, IrqLine, MmioDevice } from '../device';
import { VirtioMmioEmpty } from '../virtio-mmio-empty';
import type { BlockBackend } from './backend';
import { VirtioBlk } from './blk';
import { VirtioConsole } from './console';
import { VirtioMmio } from './mmio';
import type { NetBackend } from './net-backend';
import { VirtioNet } from './net';
import { VirtioRng, type EntropySource } from './rng';

export const VIRTIO_SLOT_BLK = 0;
export const VIRTIO_SLOT_NET = 1;
export const VIRTIO_SLOT_CONSOLE = 2;
export const VIRTIO_SLOT_RNG = 3;

/** Which virtio devices a machine or VM has (all optional; none by default, as QEMU's virt). */
export interface VirtioDevicesConfig {
  /** A disk for virtio-blk (slot 0). A backend, not a path: the CLI opens files, a page uses memory. */
  disk?: BlockBackend;
  /** A network link for virtio-net (slot 1), with its MAC (default 52:54:00:12:34:56). */
  net?: { backend: NetBackend; mac?: Uint8Array };
  /** A virtio console (slot 2) on the machine's console: output joins the UART's. */
  virtioConsole?: boolean;
  /** A virtio entropy device (slot 3); a function replaces the host's crypto as the source. */
  virtioRng?: boolean | EntropySource;
  /**
   * Where typed input goes at start: the UART (default) or the virtio console (with
   * virtioConsole). The machine has one keyboard for two consoles (docs/board.md).
   */
  consoleInput?: 'uart' | 'virtio';
}

/** The virtio slots of one board. */
export class VirtioSlots {
  readonly blk: VirtioMmio | undefined;
  readonly net: VirtioMmio | undefined;
  readonly console: VirtioMmio | undefined;
  readonly rng: VirtioMmio | undefined;
  /** The device in each slot, empty transports included. */
  readonly slots: MmioDevice[] = [];

  /**
   * @param irq the interrupt line of slot i (PLIC source 1 + i)
   * @param output where the virtio console's output goes (the UART's sink)
   * @param wake called after a device served a queue on its own (input arrived): wakes a halted hart
   */
  constructor(cfg: VirtioDevicesConfig, mem: GuestMemory, base: number, count: number, irq: (slot: number) => IrqLine, output: (bytes: Uint8Array) => void, wake: () => void) {
    const make = (slot: number, device: ConstructorParameters<typeof VirtioMmio>[0]) => {
      const t = new VirtioMmio(device, mem, irq(slot), `${device.name}@${(base + slot * 0x1000).toString(16)}`);
      t.onDeviceEvent = wake;
      return t;
    };
    if (cfg.disk) this.blk = make(VIRTIO_SLOT_BLK, new VirtioBlk(cfg.disk));
    if (cfg.net) this.net = make(VIRTIO_SLOT_NET, new VirtioNet(cfg.net.backend, { mac: cfg.net.mac }));
    if (cfg.virtioConsole) this.console = make(VIRTIO_SLOT_CONSOLE, new VirtioConsole(output));
    if (cfg.virtioRng) this.rng = make(VIRTIO_SLOT_RNG, new VirtioRng(typeof cfg.virtioRng === 'function' ? cfg.virtioRng : undefined));
    const bySlot = new Map<number, VirtioMmio | undefined>([
      [VIRTIO_SLOT_BLK, this.blk], [VIRTIO_SLOT_NET, this.net], [VIRTIO_SLOT_CONSOLE, this.console], [VIRTIO_SLOT_RNG, this.rng],
    ]);
    for (let i = 0; i < count; i++) {
      this.slots.push(bySlot.get(i) ?? new VirtioMmioEmpty(`virtio-mmio@${(base + i * 0x1000).toString(16)}`));
    }
  }

  /** The transports with a device behind them. */
  get attached(): VirtioMmio[] {
    return [this.blk, this.net, this.console, this.rng].filter((t): t is VirtioMmio => t !== undefined);
  }

  /** Reset every device (a machine reset or guest reboot). */
  reset(): void {
    for (const t of this.attached) t.reset();
  }

  /** The virtio console's device model, when there is one. */
  get consoleDevice(): VirtioConsole | undefined {
    return this.console?.device as VirtioConsole | undefined;
  }

  /** The network device model, when there is one. */
  get netDevice(): VirtioNet | undefined {
    return this.net?.device as VirtioNet | undefined;
  }
}
