/**
 * The 16550A UART of the `virt` board (compatible "ns16550a", reg-shift 0, at 0x1000_0000, PLIC
 * source 10), modelled after the National Semiconductor / TI PC16550D datasheet.
 *
 * Register map (one byte each; offsets 8..0xff of the window read 0):
 *
 *   off  DLAB=0 read   DLAB=0 write   DLAB=1
 *   0    RBR           THR            DLL
 *   1    IER           IER            DLM
 *   2    IIR           FCR            (IIR / FCR)
 *   3    LCR           LCR
 *   4    MCR           MCR
 *   5    LSR           (ignored)
 *   6    MSR           (ignored)
 *   7    SCR           SCR
 *
 * Transmission is instant: a THR write hands the byte to the output callback at once, so
 * LSR.THRE and LSR.TEMT are always set. Reception has two stages: the 16-byte receive FIFO
 * the guest sees (1 byte deep when FCR.FIFOE is clear, as in 16450 mode), and behind it a host
 * queue that plays the wire: `receive()` appends to the queue, and bytes move into the FIFO
 * as the guest drains it, so input typed faster than the guest reads is delayed, not lost.
 * Because a character takes no time, the FIFO's "character timeout" (IIR 0xC) is reported as
 * soon as the FIFO holds fewer bytes than the trigger level.
 */

import type { IrqLine, MmioDevice } from './device';
import type { SectionReader, SectionWriter } from '../snapshot/format';

// Register offsets.
const REG_RBR_THR_DLL = 0;
const REG_IER_DLM = 1;
const REG_IIR_FCR = 2;
const REG_LCR = 3;
const REG_MCR = 4;
const REG_LSR = 5;
const REG_MSR = 6;
const REG_SCR = 7;

// IER: interrupt enables (datasheet table "Interrupt Enable Register").
const IER_ERBFI = 0x01; // received data available (and character timeout)
const IER_ETBEI = 0x02; // transmitter holding register empty
const IER_ELSI = 0x04; // receiver line status
const IER_EDSSI = 0x08; // modem status

// IIR interrupt identification, highest priority first. Bit 0 set = no interrupt pending.
const IIR_NONE = 0x01;
const IIR_RLS = 0x06; // receiver line status (priority 1)
const IIR_RDA = 0x04; // received data available (priority 2)
const IIR_CTI = 0x0c; // character timeout (priority 2)
const IIR_THRE = 0x02; // THR empty (priority 3)
const IIR_MSI = 0x00; // modem status (priority 4)
const IIR_FIFOS_ENABLED = 0xc0; // IIR bits 7:6 mirror FCR.FIFOE

// FCR
const FCR_FIFOE = 0x01;
const FCR_RX_RESET = 0x02;
const FCR_WRITABLE = 0xc9; // FIFOE, DMA mode, trigger level; bits 1 and 2 self-clear

/** RX trigger level selected by FCR bits 7:6. */
const RX_TRIGGER = [1, 4, 8, 14];

// LCR
const LCR_DLAB = 0x80;

// LSR
const LSR_DR = 0x01;
const LSR_OE = 0x02;
const LSR_THRE = 0x20;
const LSR_TEMT = 0x40;

// MCR
const MCR_DTR = 0x01;
const MCR_RTS = 0x02;
const MCR_OUT1 = 0x04;
const MCR_OUT2 = 0x08;
const MCR_LOOP = 0x10;
const MCR_WRITABLE = 0x1f;

// MSR: status in bits 7:4, "changed since last read" deltas in bits 3:0.
const MSR_DCTS = 0x01;
const MSR_DDSR = 0x02;
const MSR_TERI = 0x04;
const MSR_DDCD = 0x08;
const MSR_CTS = 0x10;
const MSR_DSR = 0x20;
const MSR_RI = 0x40;
const MSR_DCD = 0x80;
const MSR_DELTAS = 0x0f;
/** Modem inputs when not in loopback: the (virtual) peer asserts CTS, DSR and DCD, as in QEMU. */
const MSR_LINES_IDLE = MSR_CTS | MSR_DSR | MSR_DCD;

/** Receive FIFO depth when FCR.FIFOE is set. */
export const UART_FIFO_SIZE = 16;
/** Bytes the host queue holds before `receive()` drops input (counted in `droppedInput`). */
export const UART_HOST_QUEUE_LIMIT = 1 << 20;

/** A UART's complete state as plain data (for snapshots and migration). */
export interface Uart16550State {
  ier: number;
  lcr: number;
  mcr: number;
  fcr: number;
  scr: number;
  dll: number;
  dlm: number;
  /** MSR including the delta bits not yet read. */
  msr: number;
  /** LSR.OE (only loopback can overrun: host input waits in the host queue instead). */
  overrun: boolean;
  /** THRE interrupt armed (THR emptied and IIR not yet read with THRE as the source). */
  thrIpending: boolean;
  /** Receive FIFO contents, oldest first. */
  rx: number[];
  /** Host input not yet moved into the FIFO, oldest first. */
  hostQueue: number[];
}

/** The 16550A UART model; see the file comment for what is and is not emulated. */
export class Uart16550 implements MmioDevice {
  readonly name: string;
  /** Host input bytes dropped because the host queue was full. */
  droppedInput = 0;

  private ier = 0;
  private lcr = 0;
  private mcr = 0;
  private fcr = 0;
  private scr = 0;
  private dll = 0;
  private dlm = 0;
  private msr = MSR_LINES_IDLE;
  private overrun = false;
  private thrIpending = false;
  private rx: number[] = [];
  private hostQueue: number[] = [];
  /** Index of the oldest byte in hostQueue (the array is compacted lazily). */
  private hostHead = 0;
  private irqLevel = false;

  /**
   * @param output called with each byte the guest transmits
   * @param irq the interrupt line (PLIC source 10 on `virt`)
   */
  constructor(
    private readonly output: (byte: number) => void,
    private readonly irq: IrqLine,
    name = 'uart0',
  ) {
    this.name = name;
  }

  /** Host input (keys typed by the user): queued, then fed into the RX FIFO as it drains. */
  receive(bytes: Uint8Array): void {
    for (const b of bytes) {
      if (this.hostQueue.length - this.hostHead >= UART_HOST_QUEUE_LIMIT) {
        this.droppedInput++;
      } else {
        this.hostQueue.push(b);
      }
    }
    this.refill();
    this.updateIrq();
  }

  /** Bytes waiting for the guest: in the RX FIFO plus in the host queue. */
  pendingInput(): number {
    return this.rx.length + this.hostQueue.length - this.hostHead;
  }

  read(offset: number, _size: number): bigint {
    return BigInt(this.readReg(offset));
  }

  write(offset: number, _size: number, value: bigint): void {
    this.writeReg(offset, Number(value & 0xffn));
  }

  /** Hardware reset (MR pin): registers to their datasheet reset values; host input is kept. */
  reset(): void {
    this.ier = this.lcr = this.mcr = this.fcr = this.scr = this.dll = this.dlm = 0;
    this.msr = MSR_LINES_IDLE;
    this.overrun = false;
    this.thrIpending = false;
    this.rx = [];
    this.refill();
    this.updateIrq();
  }

  /** The state as plain data. */
  snapshot(): Uart16550State {
    return {
      ier: this.ier,
      lcr: this.lcr,
      mcr: this.mcr,
      fcr: this.fcr,
      scr: this.scr,
      dll: this.dll,
      dlm: this.dlm,
      msr: this.msr,
      overrun: this.overrun,
      thrIpending: this.thrIpending,
      rx: [...this.rx],
      hostQueue: this.hostQueue.slice(this.hostHead),
    };
  }

  /** Snapshots (host/snapshot): the plain-data state as JSON. */
  saveState(w: SectionWriter): void {
    w.json(this.snapshot());
  }
  loadState(r: SectionReader): void {
    this.restore(r.json<Uart16550State>());
  }

  /** Load a state from `snapshot()`; drives the IRQ line to the restored level. */
  restore(s: Uart16550State): void {
    this.ier = s.ier & 0x0f;
    this.lcr = s.lcr & 0xff;
    this.mcr = s.mcr & MCR_WRITABLE;
    this.fcr = s.fcr & FCR_WRITABLE;
    this.scr = s.scr & 0xff;
    this.dll = s.dll & 0xff;
    this.dlm = s.dlm & 0xff;
    this.msr = s.msr & 0xff;
    this.overrun = s.overrun;
    this.thrIpending = s.thrIpending;
    this.rx = s.rx.slice(0, this.rxCapacity()).map((b) => b & 0xff);
    this.hostQueue = s.hostQueue.map((b) => b & 0xff);
    this.hostHead = 0;
    this.irqLevel = this.interruptId() !== IIR_NONE;
    this.irq.set(this.irqLevel);
  }

  // ---- registers ----

  private readReg(offset: number): number {
    const dlab = (this.lcr & LCR_DLAB) !== 0;
    switch (offset) {
      case REG_RBR_THR_DLL:
        return dlab ? this.dll : this.readRbr();
      case REG_IER_DLM:
        return dlab ? this.dlm : this.ier;
      case REG_IIR_FCR:
        return this.readIir();
      case REG_LCR:
        return this.lcr;
      case REG_MCR:
        return this.mcr;
      case REG_LSR:
        return this.readLsr();
      case REG_MSR: {
        // Reading MSR clears the delta bits (and with them the modem-status interrupt).
        const v = this.msr;
        if (v & MSR_DELTAS) {
          this.msr &= ~MSR_DELTAS;
          this.updateIrq();
        }
        return v;
      }
      case REG_SCR:
        return this.scr;
      default:
        return 0;
    }
  }

  private writeReg(offset: number, v: number): void {
    const dlab = (this.lcr & LCR_DLAB) !== 0;
    switch (offset) {
      case REG_RBR_THR_DLL:
        if (dlab) this.dll = v;
        else this.writeThr(v);
        break;
      case REG_IER_DLM:
        if (dlab) {
          this.dlm = v;
        } else {
          const changed = (v ^ this.ier) & 0x0f;
          this.ier = v & 0x0f;
          // Enabling ETBEI while THR is empty (always, here) raises the THRE interrupt: the
          // usual way a driver kicks off transmission (Linux's 8250 relies on it). As QEMU,
          // disabling it drops a THRE interrupt not yet acknowledged, and an IER write that
          // changes nothing makes no new request.
          if (changed & IER_ETBEI) this.thrIpending = (this.ier & IER_ETBEI) !== 0;
          if (changed) this.updateIrq();
        }
        break;
      case REG_IIR_FCR:
        this.writeFcr(v);
        break;
      case REG_LCR:
        this.lcr = v;
        break;
      case REG_MCR:
        this.writeMcr(v);
        break;
      case REG_SCR:
        this.scr = v;
        break;
      default:
        // LSR and MSR writes (factory test only) and offsets past the registers are ignored.
        break;
    }
  }

  private readRbr(): number {
    const byte = this.rx.length > 0 ? (this.rx.shift() as number) : 0;
    this.refill();
    this.updateIrq();
    return byte;
  }

  private writeThr(byte: number): void {
    if (this.mcr & MCR_LOOP) {
      // Loopback: the transmitter output feeds the receiver; nothing reaches the host.
      if (this.rx.length < this.rxCapacity()) this.rx.push(byte);
      else this.overrun = true;
    } else {
      this.output(byte);
    }
    // The write clears the THRE interrupt and the instant transmission empties THR again,
    // which re-arms it.
    this.thrIpending = true;
    this.updateIrq();
  }

  private readIir(): number {
    const id = this.interruptId();
    // Reading IIR clears a THRE interrupt when it is the one reported (datasheet, IIR table).
    if (id === IIR_THRE) {
      this.thrIpending = false;
      this.updateIrq();
    }
    return id | (this.fcr & FCR_FIFOE ? IIR_FIFOS_ENABLED : 0);
  }

  private writeFcr(v: number): void {
    // FCR bits other than FIFOE are only programmed while FIFOE is written as 1; changing
    // FIFOE clears the FIFOs (datasheet, FCR description).
    const next = v & FCR_FIFOE ? v & FCR_WRITABLE : 0;
    if ((next ^ this.fcr) & FCR_FIFOE || (next & FCR_FIFOE && v & FCR_RX_RESET)) {
      this.rx = [];
    }
    this.fcr = next;
    this.refill();
    this.updateIrq();
  }

  private writeMcr(v: number): void {
    this.mcr = v & MCR_WRITABLE;
    let lines = MSR_LINES_IDLE;
    if (this.mcr & MCR_LOOP) {
      // Loopback wires the modem outputs to the modem inputs: RTS->CTS, DTR->DSR, OUT1->RI,
      // OUT2->DCD.
      lines =
        (this.mcr & MCR_RTS ? MSR_CTS : 0) |
        (this.mcr & MCR_DTR ? MSR_DSR : 0) |
        (this.mcr & MCR_OUT1 ? MSR_RI : 0) |
        (this.mcr & MCR_OUT2 ? MSR_DCD : 0);
    }
    const old = this.msr;
    const changed = (old ^ lines) & 0xf0;
    let deltas = old & MSR_DELTAS;
    if (changed & MSR_CTS) deltas |= MSR_DCTS;
    if (changed & MSR_DSR) deltas |= MSR_DDSR;
    if (changed & MSR_DCD) deltas |= MSR_DDCD;
    if (old & MSR_RI && !(lines & MSR_RI)) deltas |= MSR_TERI; // trailing edge of RI only
    this.msr = lines | deltas;
    this.refill();
    this.updateIrq();
  }

  private readLsr(): number {
    let v = LSR_THRE | LSR_TEMT;
    if (this.rx.length > 0) v |= LSR_DR;
    if (this.overrun) v |= LSR_OE;
    // Reading LSR clears the error bits (OE) and with them the line-status interrupt. A read
    // that clears nothing makes no new interrupt request (as QEMU; see updateIrq).
    if (this.overrun) {
      this.overrun = false;
      this.updateIrq();
    }
    return v;
  }

  // ---- receive path and interrupts ----

  private rxCapacity(): number {
    return this.fcr & FCR_FIFOE ? UART_FIFO_SIZE : 1;
  }

  /** Move host input into the FIFO while it has room (not in loopback: the wire is cut). */
  private refill(): void {
    if (this.mcr & MCR_LOOP) return;
    const cap = this.rxCapacity();
    while (this.rx.length < cap && this.hostHead < this.hostQueue.length) {
      this.rx.push(this.hostQueue[this.hostHead++]);
    }
    if (this.hostHead === this.hostQueue.length) {
      this.hostQueue = [];
      this.hostHead = 0;
    } else if (this.hostHead > 4096 && this.hostHead * 2 > this.hostQueue.length) {
      this.hostQueue = this.hostQueue.slice(this.hostHead);
      this.hostHead = 0;
    }
  }

  /** The highest-priority pending enabled interrupt, as an IIR bits 3:0 value. */
  private interruptId(): number {
    const ier = this.ier;
    if (ier & IER_ELSI && this.overrun) return IIR_RLS;
    if (ier & IER_ERBFI && this.rx.length > 0) {
      if (!(this.fcr & FCR_FIFOE)) return IIR_RDA;
      return this.rx.length >= RX_TRIGGER[this.fcr >> 6] ? IIR_RDA : IIR_CTI;
    }
    if (ier & IER_ETBEI && this.thrIpending) return IIR_THRE;
    if (ier & IER_EDSSI && this.msr & MSR_DELTAS) return IIR_MSI;
    return IIR_NONE;
  }

  /**
   * Drive the line after an event (received data, a THR or IER write, an RBR/IIR read...).
   * While an interrupt is pending every event is a new request to the PLIC, as QEMU's
   * serial_update_irq raises its IRQ each time: the PLIC forwards a request made while the
   * source is in service when the handler completes, and none otherwise, so a THRE interrupt
   * the guest never acknowledges through IIR is taken again only after the guest touches the
   * UART (docs/board.md, "UART: interrupts are requested per event").
   */
  private updateIrq(): void {
    const level = this.interruptId() !== IIR_NONE;
    if (level || level !== this.irqLevel) {
      this.irqLevel = level;
      this.irq.set(level);
    }
  }
}
