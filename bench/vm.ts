/**
 * Virtualization benchmarks (issue "Hardware-assisted virtualization"):
 *
 * - the VM exit round trip: a guest that makes N SBI calls (BASE get_spec_version) in a loop,
 *   each one an exit from the Wasm hart to the TypeScript SBI handler and back; the same loop
 *   with the ecall replaced by a nop is subtracted, so the figure is host time per exit;
 * - TLB stress with one- and two-dimensional walks: the pointer chase of guests/bench/
 *   tlbstress.c on the bare machine (Sv39 in S-mode: 1D walks) and as an S-mode kernel in a VM
 *   (guests/vmbench: Sv39 over Sv39x4, 2D walks), same work, wall time compared.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as E from '../test/diff/encode';
import { parseImage } from '../host/machine/loader';
import { Vm, KERNEL_RAW_BASE } from '../host/vmm/vm';
import { runWasmvisor, MEM_SIZE } from './wasmvisor';

const A0 = 10, A6 = 16, A7 = 17, S1 = 9;
const ECALL = 0x00000073;
const NOP = 0x00000013;

function words(ws: number[]): Uint8Array {
  const b = new Uint8Array(ws.length * 4);
  ws.forEach((w, i) => new DataView(b.buffer).setUint32(i * 4, w >>> 0, true));
  return b;
}

/** li for a 32-bit value. */
function li(rd: number, v: number): number[] {
  const lo = (v << 20) >> 20;
  const hi = ((v - lo) >>> 12) & 0xfffff;
  return hi === 0 ? [E.aluI('addi', rd, 0, lo)] : [E.lui(rd, hi), E.aluI('addiw', rd, rd, lo)];
}

/** The round-trip guest: `n` iterations of { a7 = BASE, a6 = get_spec_version, ecall-or-nop }, then SRST. */
export function roundTripGuest(n: number, call: boolean): Uint8Array {
  const loop = [...li(A7, 0x10), ...li(A6, 0), call ? ECALL : NOP, E.aluI('addi', S1, S1, -1)];
  const body = [...li(S1, n), ...loop, E.bType(1, S1, 0, -loop.length * 4)];
  return words([...body, ...li(A7, 0x53525354), ...li(A6, 0), E.aluI('addi', A0, 0, 0), E.aluI('addi', 11, 0, 0), ECALL]);
}

async function runVm(image: Uint8Array, name: string, timeoutMs: number, sbiInCore = true): Promise<{ wallMs: number; cpuMs: number; exits: number; instructions: bigint; output: string; walks2d: bigint; refs2d: bigint }> {
  let output = '';
  const vm = await Vm.create({
    memSize: MEM_SIZE,
    kernel: parseImage(image, name, KERNEL_RAW_BASE),
    deterministic: true,
    sbiInCore,
    onConsoleOutput: (b) => { output += Buffer.from(b).toString('latin1'); },
  });
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const r = await vm.run({ timeoutMs });
  const wallMs = performance.now() - t0;
  const c = process.cpuUsage(c0);
  const cpuMs = (c.user + c.system) / 1000;
  if (r.reason !== 'exit' || r.exitCode !== 0) throw new Error(`${name}: VM ended with ${r.reason} ${r.exitCode} ${r.failure ?? ''}`);
  const w = vm.walkCounters();
  return { wallMs, cpuMs, exits: vm.exits.exits, instructions: r.instructions, output, walks2d: w.walks2d ?? 0n, refs2d: w.refs2d ?? 0n };
}

/** The VM section of the report. */
export interface VmBench {
  /**
   * nsPerExit by wall time; nsPerExitCpu by the process's CPU time over the same runs (best of
   * `runs` each), which a machine shared with other processes disturbs much less.
   */
  roundTrip: { calls: number; exits: number; nsPerExit: number; nsPerExitCpu: number; withCallsMs: number; withoutCallsMs: number };
  /** The same calls answered by the core itself (in-core SBI, the default; assembly/sbi.ts); roundTrip above goes to the TypeScript handler. */
  inCore: { nsPerExit: number; nsPerExitCpu: number; exits: number };
  tlb: { bare1dMs: number; vm2dMs: number; ratio: number; bare1dCpuMs: number; vm2dCpuMs: number; ratioCpu: number; walks1d: string; refsPer1d: number; walks2d: string; refsPer2d: number; resultBare: string; resultVm: string } | null;
}

/** Runs both measurements, best of `runs`. */
export async function vmBenchmarks(root: string, runs: number, timeoutMs: number, log: (s: string) => void): Promise<VmBench> {
  const N = 1_000_000; // long enough for V8 to have optimized the exit path's TypeScript
  let best = { calls: N, exits: 0, nsPerExit: Infinity, nsPerExitCpu: Infinity, withCallsMs: 0, withoutCallsMs: 0 };
  let bestIn = { nsPerExit: Infinity, nsPerExitCpu: Infinity, exits: 0 };
  for (let i = 0; i < runs; i++) {
    const withCalls = await runVm(roundTripGuest(N, true), 'roundtrip.bin', timeoutMs, false);
    const inCore = await runVm(roundTripGuest(N, true), 'roundtrip.bin', timeoutMs, true);
    const without = await runVm(roundTripGuest(N, false), 'roundtrip-nop.bin', timeoutMs);
    const ns = ((withCalls.wallMs - without.wallMs) * 1e6) / N;
    const nsCpu = ((withCalls.cpuMs - without.cpuMs) * 1e6) / N;
    if (nsCpu < best.nsPerExitCpu) best.nsPerExitCpu = nsCpu;
    if (ns < best.nsPerExit) best = { ...best, exits: withCalls.exits, nsPerExit: ns, withCallsMs: withCalls.wallMs, withoutCallsMs: without.wallMs };
    const nsIn = ((inCore.wallMs - without.wallMs) * 1e6) / N;
    const nsInCpu = ((inCore.cpuMs - without.cpuMs) * 1e6) / N;
    if (nsInCpu < bestIn.nsPerExitCpu) bestIn.nsPerExitCpu = nsInCpu;
    if (nsIn < bestIn.nsPerExit) bestIn = { ...bestIn, nsPerExit: nsIn, exits: inCore.exits };
  }
  log(`bench: VM exit round trip (SBI call -> TypeScript handler -> resume): ${best.nsPerExit.toFixed(0)} ns per exit by wall time, ` +
    `${best.nsPerExitCpu.toFixed(0)} ns by CPU time (${best.exits} exits)`);
  log(`bench: VM exit round trip, answered in the core (in-core SBI): ${bestIn.nsPerExit.toFixed(0)} ns per exit by wall time, ` +
    `${bestIn.nsPerExitCpu.toFixed(0)} ns by CPU time (${bestIn.exits} exits counted)`);

  let tlb: VmBench['tlb'] = null;
  const bareElf = join(root, 'guests/bin/bench/tlbstress.elf');
  const vmElf = join(root, 'guests/bin/vmbench/tlbstress.elf');
  try {
    let b = Infinity, v = Infinity, bare: Awaited<ReturnType<typeof runWasmvisor>> | undefined, vmr: Awaited<ReturnType<typeof runVm>> | undefined;
    let bCpu = Infinity, vCpu = Infinity; // CPU time of the process (includes its machine's creation for the bare run)
    for (let i = 0; i < runs; i++) {
      const c0 = process.cpuUsage();
      const r1 = await runWasmvisor(new Uint8Array(readFileSync(bareElf)), 'tlbstress.elf', timeoutMs);
      const c1 = process.cpuUsage(c0);
      bCpu = Math.min(bCpu, (c1.user + c1.system) / 1000);
      if (r1.wallMs < b) { b = r1.wallMs; bare = r1; }
      const r2 = await runVm(new Uint8Array(readFileSync(vmElf)), 'vmbench/tlbstress.elf', timeoutMs);
      vCpu = Math.min(vCpu, r2.cpuMs);
      if (r2.wallMs < v) { v = r2.wallMs; vmr = r2; }
    }
    const walks1d = bare!.stats.pageWalks;
    tlb = {
      bare1dMs: b, vm2dMs: v, ratio: v / b, bare1dCpuMs: bCpu, vm2dCpuMs: vCpu, ratioCpu: vCpu / bCpu,
      walks1d: walks1d.toString(), refsPer1d: walks1d > 0n ? Number(bare!.stats.pageWalkRefs) / Number(walks1d) : 0,
      walks2d: vmr!.walks2d.toString(), refsPer2d: vmr!.walks2d > 0n ? Number(vmr!.refs2d) / Number(vmr!.walks2d) : 0,
      resultBare: bare!.output.trim().split('\n').pop() ?? '', resultVm: vmr!.output.replace(/\r/g, '').trim().split('\n').pop() ?? '',
    };
    log(`bench: tlbstress bare (1D walks) ${b.toFixed(1)} ms, in a VM (2D walks) ${v.toFixed(1)} ms: ${tlb.ratio.toFixed(2)}x ` +
      `(CPU time ${bCpu.toFixed(1)} / ${vCpu.toFixed(1)} ms: ${tlb.ratioCpu.toFixed(2)}x)`);
  } catch (e) {
    log(`bench: tlbstress 1D/2D: ${e instanceof Error ? e.message : String(e)}`);
  }
  return { roundTrip: best, inCore: bestIn, tlb };
}

/** The VM section as text. */
export function formatVmBench(v: VmBench): string {
  const lines = ['Virtualization', '--------------'];
  const r = v.roundTrip;
  lines.push(`VM exit round trip (guest SBI call -> TypeScript handler -> resume): ${r.nsPerExit.toFixed(0)} ns per exit by wall time, ` +
    `${r.nsPerExitCpu.toFixed(0)} ns by the process's CPU time (goal 200)`);
  lines.push(`  ${r.calls} calls: ${r.withCallsMs.toFixed(1)} ms with the ecall, ${r.withoutCallsMs.toFixed(1)} ms with a nop in its place`);
  if (v.inCore) {
    lines.push(`  the same calls answered in the core (in-core SBI, the default for BASE and set_timer): ${v.inCore.nsPerExit.toFixed(0)} ns per exit by wall time, ` +
      `${v.inCore.nsPerExitCpu.toFixed(0)} ns by CPU time (${v.inCore.exits} exits counted)`);
  }
  if (v.tlb) {
    const t = v.tlb;
    lines.push(`TLB stress: bare machine (1D walks) ${t.bare1dMs.toFixed(1)} ms, same work in a VM (2D walks) ${t.vm2dMs.toFixed(1)} ms: 2D/1D = ${t.ratio.toFixed(2)}x`);
    lines.push(`  by the process's CPU time: ${t.bare1dCpuMs.toFixed(1)} ms and ${t.vm2dCpuMs.toFixed(1)} ms: 2D/1D = ${t.ratioCpu.toFixed(2)}x (goal 1.2)`);
    lines.push(`  1D: ${t.walks1d} walks, ${t.refsPer1d.toFixed(2)} refs each; 2D: ${t.walks2d} walks, ${t.refsPer2d.toFixed(2)} refs each (with the G-stage page-walk cache)`);
    lines.push(`  results: bare "${t.resultBare}", VM "${t.resultVm}"${t.resultBare === t.resultVm ? '' : '  !!! MISMATCH'}`);
  }
  return lines.join('\n');
}
