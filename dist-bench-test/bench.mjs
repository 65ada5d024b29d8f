// bench/run.ts
import { spawnSync as spawnSync5 } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync as readFileSync3, rmSync, writeFileSync as writeFileSync3 } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join as join4, relative, resolve } from "node:path";
import { fileURLToPath as fileURLToPath2 } from "node:url";

// bench/machine-info.ts
import { readFileSync } from "node:fs";
import { spawnSync } from "node:child_process";
import os from "node:os";
function cpuModel() {
  try {
    const m = /^model name\s*:\s*(.+)$/m.exec(readFileSync("/proc/cpuinfo", "utf8"));
    if (m) return m[1].trim();
  } catch {
  }
  return os.cpus()[0]?.model ?? "unknown";
}
function gitCommit(root) {
  const r = spawnSync("git", ["-C", root, "rev-parse", "HEAD"], { encoding: "utf8" });
  return r.status === 0 ? r.stdout.trim() : null;
}
function hostInfo(root, qemu, hostCc) {
  return {
    cpuModel: cpuModel(),
    cores: os.cpus().length,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    node: process.version,
    qemu: qemu ?? null,
    hostCc: hostCc ?? null,
    commit: gitCommit(root),
    date: (/* @__PURE__ */ new Date()).toISOString()
  };
}

// bench/native.ts
import { spawnSync as spawnSync3 } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";

// bench/timing.ts
import { spawnSync as spawnSync2 } from "node:child_process";
function timedSpawn(cmd, args, timeoutMs) {
  const t0 = performance.now();
  const r = spawnSync2(cmd, args, {
    stdio: ["ignore", "pipe", "pipe"],
    timeout: timeoutMs,
    maxBuffer: 16 * 1024 * 1024,
    encoding: "latin1"
  });
  const wallMs = performance.now() - t0;
  const timedOut = r.error?.code === "ETIMEDOUT";
  if (r.error && !timedOut) throw r.error;
  return {
    wallMs,
    status: r.status,
    stdout: r.stdout ?? "",
    stderr: r.stderr ?? "",
    timedOut
  };
}
async function bestOf(n, once) {
  let best;
  for (let i = 0; i < n; i++) {
    const r = await once();
    if (best === void 0 || r.wallMs < best.wallMs) best = r;
  }
  return best;
}

// bench/native.ts
var HOST_CC = process.env.CC ?? "gcc";
function hostCcVersion() {
  const r = spawnSync3(HOST_CC, ["--version"], { encoding: "utf8" });
  if (r.error || r.status !== 0) return void 0;
  return r.stdout.split("\n")[0].trim();
}
function compileNative(root, source, name, outDir) {
  const out = join(outDir, name);
  const args = ["-O2", "-I", join(root, "bench", "native"), "-I", join(root, "guests", "bench"), "-o", out, source];
  const r = spawnSync3(HOST_CC, args, { encoding: "utf8" });
  if (r.error) throw new Error(`${source}: cannot run ${HOST_CC}: ${r.error.message}`);
  if (r.status !== 0) {
    const first = r.stderr.split("\n").find((l) => l.includes("error")) ?? r.stderr.trim();
    throw new Error(`${source}: ${HOST_CC} -O2 failed: ${first}`);
  }
  return out;
}
function compileEmptyNative(outDir) {
  const src = join(outDir, "empty.c");
  writeFileSync(src, "int main(void) { return 0; }\n");
  const out = join(outDir, "empty");
  const r = spawnSync3(HOST_CC, ["-O2", "-o", out, src], { encoding: "utf8" });
  if (r.error || r.status !== 0) throw new Error(`${src}: ${HOST_CC} -O2 failed: ${r.stderr ?? r.error?.message}`);
  return out;
}
function runNative(exe, timeoutMs) {
  const r = timedSpawn(exe, [], timeoutMs);
  if (r.timedOut) throw new Error(`${exe}: did not finish within ${timeoutMs} ms`);
  if (r.status !== 0) throw new Error(`${exe}: exited with status ${r.status}: ${r.stdout.trim().split("\n").pop() ?? ""}`);
  return { wallMs: r.wallMs, output: r.stdout };
}

// bench/qemu.ts
import { spawnSync as spawnSync4 } from "node:child_process";
import { writeFileSync as writeFileSync2 } from "node:fs";
import { join as join2 } from "node:path";

// bench/trivial-elf.ts
var LOAD_ADDR = 0x80000000n;
var CODE_OFFSET = 128;
var CODE = [1049271, 21303, 1431503635, 6463523, 111];
function trivialElf() {
  const size = CODE_OFFSET + CODE.length * 4;
  const buf = new ArrayBuffer(size);
  const v = new DataView(buf);
  const b = new Uint8Array(buf);
  b.set([127, 69, 76, 70, 2, 1, 1, 0], 0);
  v.setUint16(16, 2, true);
  v.setUint16(18, 243, true);
  v.setUint32(20, 1, true);
  v.setBigUint64(24, LOAD_ADDR, true);
  v.setBigUint64(32, 64n, true);
  v.setBigUint64(40, 0n, true);
  v.setUint32(48, 0, true);
  v.setUint16(52, 64, true);
  v.setUint16(54, 56, true);
  v.setUint16(56, 1, true);
  v.setUint16(58, 64, true);
  v.setUint16(60, 0, true);
  v.setUint16(62, 0, true);
  const ph = 64;
  v.setUint32(ph + 0, 1, true);
  v.setUint32(ph + 4, 5, true);
  v.setBigUint64(ph + 8, BigInt(CODE_OFFSET), true);
  v.setBigUint64(ph + 16, LOAD_ADDR, true);
  v.setBigUint64(ph + 24, LOAD_ADDR, true);
  v.setBigUint64(ph + 32, BigInt(CODE.length * 4), true);
  v.setBigUint64(ph + 40, BigInt(CODE.length * 4), true);
  v.setBigUint64(ph + 48, 16n, true);
  CODE.forEach((insn, i) => v.setUint32(CODE_OFFSET + i * 4, insn, true));
  return b;
}

// bench/qemu.ts
var QEMU = process.env.QEMU ?? "qemu-system-riscv64";
function qemuVersion() {
  const r = spawnSync4(QEMU, ["--version"], { encoding: "utf8" });
  if (r.error || r.status !== 0) return void 0;
  return r.stdout.split("\n")[0].trim();
}
function runQemu(elf, timeoutMs) {
  const r = timedSpawn(QEMU, ["-M", "virt", "-bios", "none", "-m", "128M", "-nographic", "-kernel", elf], timeoutMs);
  if (r.timedOut) throw new Error(`${elf}: QEMU did not finish within ${timeoutMs} ms`);
  if (r.status !== 0) {
    const why = r.stderr.trim().split("\n")[0] || r.stdout.trim().split("\n").pop() || "";
    throw new Error(`${elf}: QEMU exited with status ${r.status}${why ? `: ${why}` : ""}`);
  }
  return { wallMs: r.wallMs, output: r.stdout.replace(/\r/g, "") };
}
function writeTrivialImage(dir) {
  const path = join2(dir, "trivial.elf");
  writeFileSync2(path, trivialElf());
  return path;
}

// bench/report.ts
function ratio(a, b) {
  if (a == null || b == null || !(b > 0) || !(a > 0)) return null;
  return a / b;
}
function geomean(values) {
  const xs = values.filter((v) => v != null && v > 0);
  if (xs.length === 0) return null;
  return Math.exp(xs.reduce((s, v) => s + Math.log(v), 0) / xs.length);
}
function finishWorkload(w) {
  const results = [w.wasmvisor?.result, w.qemu?.result, w.native?.result].filter((r) => r !== void 0);
  return {
    ...w,
    ratios: {
      wasmvisorOverQemu: ratio(w.wasmvisor?.netMs, w.qemu?.netMs),
      wasmvisorOverNative: ratio(w.wasmvisor?.netMs, w.native?.netMs),
      qemuOverNative: ratio(w.qemu?.netMs, w.native?.netMs)
    },
    match: results.every((r) => r === results[0])
  };
}
function geomeanRow(ws) {
  return {
    wasmvisorOverQemu: geomean(ws.map((w) => w.ratios.wasmvisorOverQemu)),
    wasmvisorOverNative: geomean(ws.map((w) => w.ratios.wasmvisorOverNative)),
    qemuOverNative: geomean(ws.map((w) => w.ratios.qemuOverNative))
  };
}
var ms = (v) => v == null ? "-" : v.toFixed(1);
var times = (v) => v == null ? "-" : `${v.toFixed(2)}x`;
var minstr = (v) => v == null ? "-" : `${(Number(v) / 1e6).toFixed(1)}M`;
function formatTable(report) {
  const head = ["workload", "instr", "wasmvisor ms", "MIPS", "qemu ms", "native ms", "wv/qemu", "wv/native", "qemu/native", "check"];
  const rows = report.workloads.map((w) => [
    w.name,
    minstr(w.instructions),
    ms(w.wasmvisor?.wallMs),
    w.wasmvisor ? w.wasmvisor.mips.toFixed(1) : "-",
    ms(w.qemu?.netMs),
    ms(w.native?.netMs),
    times(w.ratios.wasmvisorOverQemu),
    times(w.ratios.wasmvisorOverNative),
    times(w.ratios.qemuOverNative),
    !w.match ? "MISMATCH" : w.errors.length > 0 ? "ERROR" : "ok"
  ]);
  const g = report.geomean;
  rows.push(["geomean", "", "", "", "", "", times(g.wasmvisorOverQemu), times(g.wasmvisorOverNative), times(g.qemuOverNative), ""]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (r) => r.map((c, i) => i === 0 || i === r.length - 1 ? c.padEnd(widths[i]) : c.padStart(widths[i])).join("  ").trimEnd();
  return [line(head), ...rows.slice(0, -1).map(line), "-".repeat(line(head).length), line(rows[rows.length - 1])].join("\n");
}

// assembly/abi.ts
var RAM_BASE = 2147483648;
var RAM_SIZE_MAX = 2147483648;
var STATE = 1048576;
var STATE_SIZE = 4096;
var VMCS = STATE + STATE_SIZE;
var VMCS_SIZE = 4096;
var TLB_ENTRIES = 4096;
var TLB_ENTRY_SIZE = 16;
var TLB_READ = VMCS + VMCS_SIZE;
var TLB_WRITE = TLB_READ + TLB_ENTRIES * TLB_ENTRY_SIZE;
var TLB_FETCH = TLB_WRITE + TLB_ENTRIES * TLB_ENTRY_SIZE;
var CTX_ENTRIES = 4096;
var CTX_TABLE = TLB_FETCH + TLB_ENTRIES * TLB_ENTRY_SIZE;
var PAGE_INFO = CTX_TABLE + CTX_ENTRIES * 8;
var PAGE_INFO_SIZE = 2097152;
var BT_HASH_ENTRIES = 65536;
var BT_HASH = PAGE_INFO + PAGE_INFO_SIZE;
var BT_ARENA = BT_HASH + BT_HASH_ENTRIES * 8;
var BT_ARENA_SIZE = 16777216;
var RAM_OFFSET = BT_ARENA + BT_ARENA_SIZE + 65535 & 2147418112;
var S_X = 0;
var S_PC = 528;
var S_PRIV = 536;
var S_INSTRET = 544;
var S_MSTATUS = 576;
var S_MIE = 608;
var S_MEPC = 648;
var S_MCAUSE = 656;
var S_MTVAL = 664;
var S_SEPC = 696;
var S_SCAUSE = 704;
var S_STVAL = 712;
var S_SATP = 720;
var S_MENVCFG = 728;
var S_STIMECMP = 744;
var S_IRQ_LINES = 1408;
var S_MTIMECMP = 1416;
var S_TIME_OFFSET = 1424;
var S_TIME_SHIFT = 1432;
var S_TOHOST = 1448;
var S_MMIO_ADDR = 1472;
var S_MMIO_DATA = 1480;
var S_MMIO_SIZE = 1488;
var S_MMIO_WRITE = 1496;
var S_MMIO_STATUS = 1528;
var S_HTIF_VALUE = 1536;
var S_STAT_TLB_MISS = 1600;
var S_STAT_TLB_ACCESS = 1608;
var S_STAT_BLOCK_HIT = 1616;
var S_STAT_BLOCK_MISS = 1624;
var S_STAT_BLOCK_CHAIN = 1632;
var S_STAT_BT_FLUSH = 1640;
var S_STAT_CODE_INVAL = 1648;
var S_STAT_WALKS = 1656;
var S_STAT_WALK_REFS = 1664;
var S_STAT_TRAPS = 1672;
var S_STAT_INTERRUPTS = 1680;
var EXIT_MMIO = 2;
var EXIT_HALT = 3;
var EXIT_HTIF = 4;
var MMIO_OK = 1;
var MMIO_FAULT = 2;

// host/errors.ts
var UserError = class extends Error {
  /** Process exit code for the CLI: 2 for bad input (usage, files, images). */
  exitCode;
  constructor(message, exitCode = 2) {
    super(message);
    this.name = "UserError";
    this.exitCode = exitCode;
  }
};

// host/devices/clint.ts
var CLINT_MSIP = 0;
var CLINT_MTIMECMP = 16384;
var CLINT_MTIME = 49144;
var CLINT_SIZE = 65536;
var MASK64 = 0xffffffffffffffffn;
function fieldMask(shift, size) {
  return (1n << BigInt(size * 8)) - 1n << BigInt(shift * 8);
}
var Clint = class {
  constructor(timer, name = "clint") {
    this.timer = timer;
    this.name = name;
  }
  timer;
  name;
  read(offset, size) {
    const reg = this.locate(offset, size);
    if (!reg) return 0n;
    return this.get(reg.base) >> BigInt(reg.shift * 8) & (1n << BigInt(size * 8)) - 1n;
  }
  write(offset, size, value) {
    const reg = this.locate(offset, size);
    if (!reg) return;
    const mask = fieldMask(reg.shift, size);
    const merged = this.get(reg.base) & ~mask | value << BigInt(reg.shift * 8) & mask;
    switch (reg.base) {
      case CLINT_MSIP:
        this.timer.setMsip((merged & 1n) !== 0n);
        break;
      case CLINT_MTIMECMP:
        this.timer.setMtimecmp(merged & MASK64);
        break;
      case CLINT_MTIME:
        this.timer.setMtime?.(merged & MASK64);
        break;
    }
  }
  /** The register an access falls in, or undefined if it is not entirely inside one. */
  locate(offset, size) {
    for (const [base, width] of [
      [CLINT_MSIP, 4],
      [CLINT_MTIMECMP, 8],
      [CLINT_MTIME, 8]
    ]) {
      if (offset >= base && offset + size <= base + width) return { base, shift: offset - base };
    }
    return void 0;
  }
  get(base) {
    switch (base) {
      case CLINT_MSIP:
        return this.timer.getMsip() ? 1n : 0n;
      case CLINT_MTIMECMP:
        return this.timer.getMtimecmp() & MASK64;
      default:
        return this.timer.mtime() & MASK64;
    }
  }
};

// host/devices/plic.ts
var PLIC_NUM_SOURCES = 96;
var PLIC_NUM_CONTEXTS = 2;
var PLIC_MAX_PRIORITY = 7;
var PLIC_SIZE = 6291456;
var PRIORITY_BASE = 0;
var PENDING_BASE = 4096;
var ENABLE_BASE = 8192;
var ENABLE_STRIDE = 128;
var CONTEXT_BASE = 2097152;
var CONTEXT_STRIDE = 4096;
var WORDS = PLIC_NUM_SOURCES / 32;
var Plic = class {
  /**
   * @param output called when a context's interrupt output changes level (the machine maps
   *   context 0 to MIP.MEIP and context 1 to MIP.SEIP)
   */
  constructor(output, name = "plic") {
    this.output = output;
    this.name = name;
  }
  output;
  name;
  priority = new Uint32Array(PLIC_NUM_SOURCES);
  pending = new Uint8Array(PLIC_NUM_SOURCES);
  inService = new Uint8Array(PLIC_NUM_SOURCES);
  level = new Uint8Array(PLIC_NUM_SOURCES);
  /** enable[ctx * WORDS + w]: bit i = source 32w + i. */
  enable = new Uint32Array(PLIC_NUM_CONTEXTS * WORDS);
  threshold = new Uint32Array(PLIC_NUM_CONTEXTS);
  /** Current level of each context's external-interrupt output. */
  lines = new Array(PLIC_NUM_CONTEXTS).fill(false);
  /** The input line of source `n` (1..95), for a device to drive. */
  source(n) {
    if (!Number.isInteger(n) || n < 1 || n >= PLIC_NUM_SOURCES) {
      throw new RangeError(`plic: source ${n} does not exist (valid: 1..${PLIC_NUM_SOURCES - 1})`);
    }
    return { set: (level) => this.setLevel(n, level) };
  }
  read(offset, size) {
    if (size === 8) {
      const lo = BigInt(this.readWord(offset));
      return lo | BigInt(this.readWord(offset + 4)) << 32n;
    }
    const shift = (offset & 3) * 8;
    const word = this.readWord(offset & ~3);
    return BigInt((word >>> shift & (size >= 4 ? 4294967295 : (1 << size * 8) - 1)) >>> 0);
  }
  write(offset, size, value) {
    if (size === 8) {
      this.writeWord(offset, Number(value & 0xffffffffn));
      this.writeWord(offset + 4, Number(value >> 32n & 0xffffffffn));
      return;
    }
    if (size >= 4) {
      this.writeWord(offset, Number(value & 0xffffffffn));
      return;
    }
    const aligned = offset & ~3;
    const shift = (offset & 3) * 8;
    const mask = (1 << size * 8) - 1 << shift >>> 0;
    const old = this.peekWord(aligned);
    this.writeWord(aligned, (old & ~mask | Number(value) << shift & mask) >>> 0);
  }
  /** Reset: every register 0, nothing pending or in service; input levels are kept. */
  reset() {
    this.priority.fill(0);
    this.pending.fill(0);
    this.inService.fill(0);
    this.enable.fill(0);
    this.threshold.fill(0);
    for (let n = 1; n < PLIC_NUM_SOURCES; n++) if (this.level[n]) this.pending[n] = 1;
    this.update();
  }
  /** The state as plain data. */
  snapshot() {
    const ids = (a) => [...a.keys()].filter((n) => a[n] !== 0);
    const enable = [];
    for (let ctx = 0; ctx < PLIC_NUM_CONTEXTS; ctx++) {
      enable.push([...Array(PLIC_NUM_SOURCES).keys()].filter((n) => this.isEnabled(ctx, n)));
    }
    return {
      priority: [...this.priority],
      pending: ids(this.pending),
      inService: ids(this.inService),
      level: ids(this.level),
      enable,
      threshold: [...this.threshold]
    };
  }
  /** Load a state from `snapshot()`; calls the output callback for every context. */
  restore(s) {
    const valid = (n) => Number.isInteger(n) && n >= 1 && n < PLIC_NUM_SOURCES;
    this.priority.fill(0);
    s.priority.forEach((p, n) => {
      if (valid(n)) this.priority[n] = p & PLIC_MAX_PRIORITY;
    });
    for (const [arr, list] of [
      [this.pending, s.pending],
      [this.inService, s.inService],
      [this.level, s.level]
    ]) {
      arr.fill(0);
      for (const n of list) if (valid(n)) arr[n] = 1;
    }
    this.enable.fill(0);
    for (let ctx = 0; ctx < PLIC_NUM_CONTEXTS; ctx++) {
      for (const n of s.enable[ctx] ?? []) {
        if (valid(n)) this.enable[ctx * WORDS + (n >> 5)] |= 1 << (n & 31);
      }
      this.threshold[ctx] = Math.min(s.threshold[ctx] ?? 0, PLIC_MAX_PRIORITY);
    }
    for (let ctx = 0; ctx < PLIC_NUM_CONTEXTS; ctx++) {
      this.lines[ctx] = this.best(ctx) !== 0;
      this.output(ctx, this.lines[ctx]);
    }
  }
  // ---- gateways and the core ----
  setLevel(n, level) {
    this.level[n] = level ? 1 : 0;
    if (level && !this.pending[n] && !this.inService[n]) {
      this.pending[n] = 1;
      this.update();
    }
  }
  isEnabled(ctx, n) {
    return (this.enable[ctx * WORDS + (n >> 5)] >>> (n & 31) & 1) !== 0;
  }
  /**
   * The interrupt a claim by `ctx` would return: the pending, enabled source with the highest
   * priority above the context's threshold, the lowest id among equals; 0 if none.
   */
  best(ctx) {
    let id = 0;
    let max = this.threshold[ctx];
    for (let n = 1; n < PLIC_NUM_SOURCES; n++) {
      if (this.pending[n] && this.priority[n] > max && this.isEnabled(ctx, n)) {
        id = n;
        max = this.priority[n];
      }
    }
    return id;
  }
  /** Recompute each context's output and report the ones that changed. */
  update() {
    for (let ctx = 0; ctx < PLIC_NUM_CONTEXTS; ctx++) {
      const level = this.best(ctx) !== 0;
      if (level !== this.lines[ctx]) {
        this.lines[ctx] = level;
        this.output(ctx, level);
      }
    }
  }
  claim(ctx) {
    const id = this.best(ctx);
    if (id !== 0) {
      this.pending[id] = 0;
      this.inService[id] = 1;
      this.update();
    }
    return id;
  }
  complete(ctx, id) {
    if (id <= 0 || id >= PLIC_NUM_SOURCES || !this.isEnabled(ctx, id)) return;
    this.inService[id] = 0;
    if (this.level[id]) this.pending[id] = 1;
    this.update();
  }
  // ---- register file ----
  /** A register's value without the side effect of a claim. */
  peekWord(offset) {
    const c = this.contextReg(offset);
    if (c && c.reg === 4) return 0;
    return this.readWord(offset);
  }
  readWord(offset) {
    if (offset < PENDING_BASE) {
      const n = offset - PRIORITY_BASE >> 2;
      return n < PLIC_NUM_SOURCES ? this.priority[n] : 0;
    }
    if (offset < ENABLE_BASE) {
      const w = offset - PENDING_BASE >> 2;
      if (w >= WORDS) return 0;
      let bits = 0;
      for (let i = 0; i < 32; i++) if (this.pending[w * 32 + i]) bits |= 1 << i;
      return bits >>> 0;
    }
    if (offset < CONTEXT_BASE) {
      const ctx = Math.floor((offset - ENABLE_BASE) / ENABLE_STRIDE);
      const w = (offset - ENABLE_BASE) % ENABLE_STRIDE >> 2;
      return ctx < PLIC_NUM_CONTEXTS && w < WORDS ? this.enable[ctx * WORDS + w] : 0;
    }
    const c = this.contextReg(offset);
    if (!c) return 0;
    return c.reg === 0 ? this.threshold[c.ctx] : this.claim(c.ctx);
  }
  writeWord(offset, v) {
    if (offset < PENDING_BASE) {
      const n = offset - PRIORITY_BASE >> 2;
      if (n === 0 || n >= PLIC_NUM_SOURCES) return;
      this.priority[n] = v & PLIC_MAX_PRIORITY;
      this.update();
      return;
    }
    if (offset < ENABLE_BASE) return;
    if (offset < CONTEXT_BASE) {
      const ctx = Math.floor((offset - ENABLE_BASE) / ENABLE_STRIDE);
      const w = (offset - ENABLE_BASE) % ENABLE_STRIDE >> 2;
      if (ctx >= PLIC_NUM_CONTEXTS || w >= WORDS) return;
      this.enable[ctx * WORDS + w] = (w === 0 ? v & ~1 : v) >>> 0;
      this.update();
      return;
    }
    const c = this.contextReg(offset);
    if (!c) return;
    if (c.reg === 0) {
      if (v <= PLIC_MAX_PRIORITY) {
        this.threshold[c.ctx] = v;
        this.update();
      }
    } else {
      this.complete(c.ctx, v);
    }
  }
  /** Decode a per-context register: reg 0 = threshold, 4 = claim/complete. */
  contextReg(offset) {
    if (offset < CONTEXT_BASE) return void 0;
    const ctx = Math.floor((offset - CONTEXT_BASE) / CONTEXT_STRIDE);
    const reg = (offset - CONTEXT_BASE) % CONTEXT_STRIDE;
    if (ctx >= PLIC_NUM_CONTEXTS || reg !== 0 && reg !== 4) return void 0;
    return { ctx, reg };
  }
};

// host/devices/test-finisher.ts
var FINISHER_FAIL = 13107;
var FINISHER_PASS = 21845;
var FINISHER_RESET = 30583;
var TestFinisher = class {
  constructor(handlers, name = "test") {
    this.handlers = handlers;
    this.name = name;
  }
  handlers;
  name;
  read(_offset, _size) {
    return 0n;
  }
  write(offset, size, value) {
    if (offset !== 0) return;
    const v = Number(value & (size >= 4 ? 0xffffffffn : (1n << BigInt(size * 8)) - 1n));
    const status = v & 65535;
    const code = v >>> 16;
    switch (status) {
      case FINISHER_PASS:
        this.handlers.onExit(0);
        break;
      case FINISHER_FAIL:
        this.handlers.onExit(code);
        break;
      case FINISHER_RESET:
        this.handlers.onReset();
        break;
      default:
        break;
    }
  }
};

// host/devices/uart16550.ts
var REG_RBR_THR_DLL = 0;
var REG_IER_DLM = 1;
var REG_IIR_FCR = 2;
var REG_LCR = 3;
var REG_MCR = 4;
var REG_LSR = 5;
var REG_MSR = 6;
var REG_SCR = 7;
var IER_ERBFI = 1;
var IER_ETBEI = 2;
var IER_ELSI = 4;
var IER_EDSSI = 8;
var IIR_NONE = 1;
var IIR_RLS = 6;
var IIR_RDA = 4;
var IIR_CTI = 12;
var IIR_THRE = 2;
var IIR_MSI = 0;
var IIR_FIFOS_ENABLED = 192;
var FCR_FIFOE = 1;
var FCR_RX_RESET = 2;
var FCR_WRITABLE = 201;
var RX_TRIGGER = [1, 4, 8, 14];
var LCR_DLAB = 128;
var LSR_DR = 1;
var LSR_OE = 2;
var LSR_THRE = 32;
var LSR_TEMT = 64;
var MCR_DTR = 1;
var MCR_RTS = 2;
var MCR_OUT1 = 4;
var MCR_OUT2 = 8;
var MCR_LOOP = 16;
var MCR_WRITABLE = 31;
var MSR_DCTS = 1;
var MSR_DDSR = 2;
var MSR_TERI = 4;
var MSR_DDCD = 8;
var MSR_CTS = 16;
var MSR_DSR = 32;
var MSR_RI = 64;
var MSR_DCD = 128;
var MSR_DELTAS = 15;
var MSR_LINES_IDLE = MSR_CTS | MSR_DSR | MSR_DCD;
var UART_FIFO_SIZE = 16;
var UART_HOST_QUEUE_LIMIT = 1 << 20;
var Uart16550 = class {
  /**
   * @param output called with each byte the guest transmits
   * @param irq the interrupt line (PLIC source 10 on `virt`)
   */
  constructor(output, irq, name = "uart0") {
    this.output = output;
    this.irq = irq;
    this.name = name;
  }
  output;
  irq;
  name;
  /** Host input bytes dropped because the host queue was full. */
  droppedInput = 0;
  ier = 0;
  lcr = 0;
  mcr = 0;
  fcr = 0;
  scr = 0;
  dll = 0;
  dlm = 0;
  msr = MSR_LINES_IDLE;
  overrun = false;
  thrIpending = false;
  rx = [];
  hostQueue = [];
  /** Index of the oldest byte in hostQueue (the array is compacted lazily). */
  hostHead = 0;
  irqLevel = false;
  /** Host input (keys typed by the user): queued, then fed into the RX FIFO as it drains. */
  receive(bytes) {
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
  pendingInput() {
    return this.rx.length + this.hostQueue.length - this.hostHead;
  }
  read(offset, _size) {
    return BigInt(this.readReg(offset));
  }
  write(offset, _size, value) {
    this.writeReg(offset, Number(value & 0xffn));
  }
  /** Hardware reset (MR pin): registers to their datasheet reset values; host input is kept. */
  reset() {
    this.ier = this.lcr = this.mcr = this.fcr = this.scr = this.dll = this.dlm = 0;
    this.msr = MSR_LINES_IDLE;
    this.overrun = false;
    this.thrIpending = false;
    this.rx = [];
    this.refill();
    this.updateIrq();
  }
  /** The state as plain data. */
  snapshot() {
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
      hostQueue: this.hostQueue.slice(this.hostHead)
    };
  }
  /** Load a state from `snapshot()`; drives the IRQ line to the restored level. */
  restore(s) {
    this.ier = s.ier & 15;
    this.lcr = s.lcr & 255;
    this.mcr = s.mcr & MCR_WRITABLE;
    this.fcr = s.fcr & FCR_WRITABLE;
    this.scr = s.scr & 255;
    this.dll = s.dll & 255;
    this.dlm = s.dlm & 255;
    this.msr = s.msr & 255;
    this.overrun = s.overrun;
    this.thrIpending = s.thrIpending;
    this.rx = s.rx.slice(0, this.rxCapacity()).map((b) => b & 255);
    this.hostQueue = s.hostQueue.map((b) => b & 255);
    this.hostHead = 0;
    this.irqLevel = this.interruptId() !== IIR_NONE;
    this.irq.set(this.irqLevel);
  }
  // ---- registers ----
  readReg(offset) {
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
        const v = this.msr;
        this.msr &= ~MSR_DELTAS;
        this.updateIrq();
        return v;
      }
      case REG_SCR:
        return this.scr;
      default:
        return 0;
    }
  }
  writeReg(offset, v) {
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
          const rising = v & ~this.ier;
          this.ier = v & 15;
          if (rising & IER_ETBEI) this.thrIpending = true;
          this.updateIrq();
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
        break;
    }
  }
  readRbr() {
    const byte = this.rx.length > 0 ? this.rx.shift() : 0;
    this.refill();
    this.updateIrq();
    return byte;
  }
  writeThr(byte) {
    if (this.mcr & MCR_LOOP) {
      if (this.rx.length < this.rxCapacity()) this.rx.push(byte);
      else this.overrun = true;
    } else {
      this.output(byte);
    }
    this.thrIpending = true;
    this.updateIrq();
  }
  readIir() {
    const id = this.interruptId();
    if (id === IIR_THRE) {
      this.thrIpending = false;
      this.updateIrq();
    }
    return id | (this.fcr & FCR_FIFOE ? IIR_FIFOS_ENABLED : 0);
  }
  writeFcr(v) {
    const next = v & FCR_FIFOE ? v & FCR_WRITABLE : 0;
    if ((next ^ this.fcr) & FCR_FIFOE || next & FCR_FIFOE && v & FCR_RX_RESET) {
      this.rx = [];
    }
    this.fcr = next;
    this.refill();
    this.updateIrq();
  }
  writeMcr(v) {
    this.mcr = v & MCR_WRITABLE;
    let lines = MSR_LINES_IDLE;
    if (this.mcr & MCR_LOOP) {
      lines = (this.mcr & MCR_RTS ? MSR_CTS : 0) | (this.mcr & MCR_DTR ? MSR_DSR : 0) | (this.mcr & MCR_OUT1 ? MSR_RI : 0) | (this.mcr & MCR_OUT2 ? MSR_DCD : 0);
    }
    const old = this.msr;
    const changed = (old ^ lines) & 240;
    let deltas = old & MSR_DELTAS;
    if (changed & MSR_CTS) deltas |= MSR_DCTS;
    if (changed & MSR_DSR) deltas |= MSR_DDSR;
    if (changed & MSR_DCD) deltas |= MSR_DDCD;
    if (old & MSR_RI && !(lines & MSR_RI)) deltas |= MSR_TERI;
    this.msr = lines | deltas;
    this.refill();
    this.updateIrq();
  }
  readLsr() {
    let v = LSR_THRE | LSR_TEMT;
    if (this.rx.length > 0) v |= LSR_DR;
    if (this.overrun) v |= LSR_OE;
    this.overrun = false;
    this.updateIrq();
    return v;
  }
  // ---- receive path and interrupts ----
  rxCapacity() {
    return this.fcr & FCR_FIFOE ? UART_FIFO_SIZE : 1;
  }
  /** Move host input into the FIFO while it has room (not in loopback: the wire is cut). */
  refill() {
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
  interruptId() {
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
  updateIrq() {
    const level = this.interruptId() !== IIR_NONE;
    if (level !== this.irqLevel) {
      this.irqLevel = level;
      this.irq.set(level);
    }
  }
};

// host/devices/virtio-mmio-empty.ts
var VIRTIO_MMIO_MAGIC_VALUE = 0;
var VIRTIO_MMIO_VERSION = 4;
var VIRTIO_MMIO_VENDOR_ID = 12;
var VIRTIO_MMIO_MAGIC = 1953655158;
var VIRTIO_MMIO_VERSION_2 = 2;
var VIRTIO_MMIO_VENDOR_QEMU = 1431127377;
var VirtioMmioEmpty = class {
  name;
  constructor(name = "virtio-mmio") {
    this.name = name;
  }
  read(offset, size) {
    const word = BigInt(this.readWord(offset & ~3));
    const bits = BigInt(Math.min(size, 4) * 8);
    return word >> BigInt((offset & 3) * 8) & (1n << bits) - 1n;
  }
  write(_offset, _size, _value) {
  }
  readWord(offset) {
    switch (offset) {
      case VIRTIO_MMIO_MAGIC_VALUE:
        return VIRTIO_MMIO_MAGIC;
      case VIRTIO_MMIO_VERSION:
        return VIRTIO_MMIO_VERSION_2;
      case VIRTIO_MMIO_VENDOR_ID:
        return VIRTIO_MMIO_VENDOR_QEMU;
      default:
        return 0;
    }
  }
};

// host/machine/bus.ts
var Bus = class {
  windows = [];
  /** The window of the last access: most exits hit the same device again (the UART). */
  last;
  /** Map `device` at [base, base + size). Overlapping windows are a programming error. */
  map(base, size, device) {
    for (const w of this.windows) {
      if (base < w.base + w.size && w.base < base + size) {
        throw new Error(`bus: ${device.name} at 0x${base.toString(16)} overlaps ${w.device.name}`);
      }
    }
    this.windows.push({ base, size, device });
  }
  /** The window containing [addr, addr + size), or undefined (an access fault for the guest). */
  find(addr, size) {
    const hit = (w) => w !== void 0 && addr >= w.base && addr + BigInt(size) <= w.base + w.size;
    if (hit(this.last)) return this.last;
    for (const w of this.windows) {
      if (hit(w)) {
        this.last = w;
        return w;
      }
    }
    return void 0;
  }
  /** Every mapped window, in mapping order. */
  list() {
    return this.windows;
  }
};

// host/machine/core.ts
import { readFileSync as readFileSync2, existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
var compiled;
function corePath() {
  for (const rel of ["../../build/core.wasm", "../build/core.wasm"]) {
    const p = fileURLToPath(new URL(rel, import.meta.url));
    if (existsSync(p)) return p;
  }
  throw new Error("build/core.wasm not found: run `npm run build`");
}
function coreModule() {
  compiled ??= new WebAssembly.Module(readFileSync2(corePath()));
  return compiled;
}
function createMemory(ramSize) {
  const pages = Math.ceil((RAM_OFFSET + ramSize) / 65536);
  return new WebAssembly.Memory({ initial: pages, maximum: pages });
}
function instantiateCore(memory) {
  const instance = new WebAssembly.Instance(coreModule(), {
    env: {
      memory,
      abort(_msg, _file, line, col) {
        throw new Error(`wasmvisor core: assertion failed at ${line}:${col}`);
      }
    }
  });
  return instance.exports;
}

// host/machine/fdt.ts
var FDT_MAGIC = 3490578157;
var FDT_BEGIN_NODE = 1;
var FDT_END_NODE = 2;
var FDT_PROP = 3;
var FDT_END = 9;
var FDT_VERSION = 17;
var FDT_LAST_COMP_VERSION = 16;
var HEADER_SIZE = 40;
var FdtNode = class _FdtNode {
  /** @param name node name with unit address, e.g. "serial@10000000" ("" for the root) */
  constructor(name) {
    this.name = name;
  }
  name;
  /** Child nodes in insertion order. */
  children = [];
  /** Properties: name -> encoded value (big-endian bytes). */
  props = /* @__PURE__ */ new Map();
  /** This node's phandle once `Fdt.phandle()` gave it one. */
  phandleValue;
  /** Add (or find) a child node by name. */
  child(name) {
    let c = this.children.find((n) => n.name === name);
    if (!c) {
      c = new _FdtNode(name);
      this.children.push(c);
    }
    return c;
  }
  /** A property of 32-bit cells (`<a b c>`). */
  u32(name, ...cells) {
    const b = new Uint8Array(cells.length * 4);
    const dv = new DataView(b.buffer);
    cells.forEach((c, i) => dv.setUint32(i * 4, c >>> 0));
    return this.bytes(name, b);
  }
  /** A property of 64-bit values, each written as two cells (high, low). */
  u64(name, ...values) {
    const b = new Uint8Array(values.length * 8);
    const dv = new DataView(b.buffer);
    values.forEach((v, i) => dv.setBigUint64(i * 8, BigInt.asUintN(64, v)));
    return this.bytes(name, b);
  }
  /** A string property. */
  str(name, value) {
    return this.strs(name, value);
  }
  /** A string-list property (each string NUL-terminated). */
  strs(name, ...values) {
    return this.bytes(name, new TextEncoder().encode(values.map((s) => s + "\0").join("")));
  }
  /** An empty (boolean) property such as `interrupt-controller;`. */
  flag(name) {
    return this.bytes(name, new Uint8Array(0));
  }
  /** A property with raw bytes. */
  bytes(name, value) {
    this.props.set(name, value);
    return this;
  }
};
var Fdt = class {
  /** The root node "/". */
  root = new FdtNode("");
  /** CPU that boots (header field boot_cpuid_phys). */
  bootCpuidPhys = 0;
  reservations = [];
  nextPhandle = 1;
  /** The node at an absolute path ("/soc/serial@10000000"), created with its parents as needed. */
  node(path) {
    let n = this.root;
    for (const part of path.split("/").filter((p) => p !== "")) n = n.child(part);
    return n;
  }
  /** The node's phandle, giving it the next free one (and a `phandle` property) if it has none. */
  phandle(node) {
    if (node.phandleValue === void 0) {
      node.phandleValue = this.nextPhandle++;
      node.u32("phandle", node.phandleValue);
    }
    return node.phandleValue;
  }
  /** Add an entry to the memory reservation block. */
  reserve(address, size) {
    this.reservations.push({ address, size });
  }
  /** Encode the tree as a DTB (version 17). */
  build() {
    const strings = /* @__PURE__ */ new Map();
    const stringBytes = [];
    const enc = new TextEncoder();
    const nameOffset = (name) => {
      let off = strings.get(name);
      if (off === void 0) {
        off = stringBytes.length;
        strings.set(name, off);
        stringBytes.push(...enc.encode(name), 0);
      }
      return off;
    };
    const struct = [];
    const u32 = (v) => struct.push(v >>> 24 & 255, v >>> 16 & 255, v >>> 8 & 255, v & 255);
    const pad = () => {
      while (struct.length % 4) struct.push(0);
    };
    const emit = (node) => {
      u32(FDT_BEGIN_NODE);
      struct.push(...enc.encode(node.name), 0);
      pad();
      for (const [name, value] of node.props) {
        u32(FDT_PROP);
        u32(value.length);
        u32(nameOffset(name));
        for (const b of value) struct.push(b);
        pad();
      }
      node.children.forEach(emit);
      u32(FDT_END_NODE);
    };
    emit(this.root);
    u32(FDT_END);
    const rsvOff = HEADER_SIZE + (8 - HEADER_SIZE % 8) % 8;
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
      struct.length
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
};
var VIRT_TEST_BASE = 1048576;
var VIRT_CLINT_BASE = 33554432;
var VIRT_PLIC_BASE = 201326592;
var VIRT_PLIC_SIZE = 6291456;
var VIRT_UART0_BASE = 268435456;
var VIRT_UART0_IRQ = 10;
var VIRT_VIRTIO_BASE = 268439552;
var VIRT_VIRTIO_COUNT = 8;
var VIRT_VIRTIO_IRQ = 1;
var VIRT_DRAM_BASE = 2147483648;
var VIRT_TIMEBASE_FREQUENCY = 1e7;
var VIRT_UART_CLOCK = 3686400;
var IRQ_M_SOFT = 3;
var IRQ_M_TIMER = 7;
var IRQ_S_EXT = 9;
var IRQ_M_EXT = 11;
function virtBoardFdt(opts) {
  const fdt = new Fdt();
  const root = fdt.root;
  root.u32("#address-cells", 2).u32("#size-cells", 2);
  root.str("compatible", "riscv-virtio").str("model", "riscv-virtio,qemu");
  const cpus = fdt.node("/cpus");
  cpus.u32("#address-cells", 1).u32("#size-cells", 0);
  cpus.u32("timebase-frequency", VIRT_TIMEBASE_FREQUENCY);
  const cpu = cpus.child("cpu@0");
  fdt.phandle(cpu);
  cpu.str("device_type", "cpu").u32("reg", 0).str("status", "okay").str("compatible", "riscv");
  cpu.str("riscv,isa", opts.hartIsa).str("mmu-type", "riscv,sv48");
  const intc = cpu.child("interrupt-controller");
  intc.u32("#address-cells", 0).u32("#interrupt-cells", 1).flag("interrupt-controller");
  intc.str("compatible", "riscv,cpu-intc");
  const intcPh = fdt.phandle(intc);
  cpus.child("cpu-map").child("cluster0").child("core0").u32("cpu", cpu.phandleValue);
  fdt.node(`/memory@${hex(VIRT_DRAM_BASE)}`).str("device_type", "memory").u64("reg", BigInt(VIRT_DRAM_BASE), BigInt(opts.memSize));
  const soc = fdt.node("/soc");
  soc.u32("#address-cells", 2).u32("#size-cells", 2).str("compatible", "simple-bus").flag("ranges");
  const plic = soc.child(`plic@${hex(VIRT_PLIC_BASE)}`);
  const plicPh = fdt.phandle(plic);
  plic.u32("#interrupt-cells", 1).u32("#address-cells", 0);
  plic.strs("compatible", "sifive,plic-1.0.0", "riscv,plic0").flag("interrupt-controller");
  plic.u32("interrupts-extended", intcPh, IRQ_M_EXT, intcPh, IRQ_S_EXT);
  plic.u64("reg", BigInt(VIRT_PLIC_BASE), BigInt(VIRT_PLIC_SIZE));
  plic.u32("riscv,ndev", 95);
  const test = soc.child(`test@${hex(VIRT_TEST_BASE)}`);
  const testPh = fdt.phandle(test);
  test.strs("compatible", "sifive,test1", "sifive,test0", "syscon");
  test.u64("reg", BigInt(VIRT_TEST_BASE), 0x1000n);
  soc.child(`clint@${hex(VIRT_CLINT_BASE)}`).strs("compatible", "sifive,clint0", "riscv,clint0").u64("reg", BigInt(VIRT_CLINT_BASE), 0x10000n).u32("interrupts-extended", intcPh, IRQ_M_SOFT, intcPh, IRQ_M_TIMER);
  soc.child(`serial@${hex(VIRT_UART0_BASE)}`).str("compatible", "ns16550a").u64("reg", BigInt(VIRT_UART0_BASE), 0x100n).u32("clock-frequency", VIRT_UART_CLOCK).u32("interrupt-parent", plicPh).u32("interrupts", VIRT_UART0_IRQ);
  for (let i = 0; i < VIRT_VIRTIO_COUNT; i++) {
    const base = VIRT_VIRTIO_BASE + i * 4096;
    soc.child(`virtio_mmio@${hex(base)}`).str("compatible", "virtio,mmio").u64("reg", BigInt(base), 0x1000n).u32("interrupt-parent", plicPh).u32("interrupts", VIRT_VIRTIO_IRQ + i);
  }
  fdt.node("/poweroff").str("compatible", "syscon-poweroff").u32("regmap", testPh).u32("offset", 0).u32("value", 21845);
  fdt.node("/reboot").str("compatible", "syscon-reboot").u32("regmap", testPh).u32("offset", 0).u32("value", 30583);
  const chosen = fdt.node("/chosen");
  chosen.str("stdout-path", `/soc/serial@${hex(VIRT_UART0_BASE)}`);
  if (opts.bootargs !== void 0) chosen.str("bootargs", opts.bootargs);
  return fdt.build();
}
function fdtLoadAddress(ramBase, memSize, fdtSize) {
  const MiB = 1n << 20n;
  const end = ramBase + BigInt(memSize);
  const limit = ramBase < 3072n * MiB ? end < 3072n * MiB ? end : 3072n * MiB : end;
  return (limit - BigInt(fdtSize)) / (2n * MiB) * (2n * MiB);
}
function hex(n) {
  return n.toString(16);
}

// host/machine/fw-dynamic.ts
var FW_DYNAMIC_INFO_MAGIC = 0x4942534fn;
var FW_DYNAMIC_INFO_VERSION = 2n;
var FW_DYNAMIC_INFO_SIZE = 6 * 8;
function buildFwDynamicInfo(info) {
  const bytes = new Uint8Array(FW_DYNAMIC_INFO_SIZE);
  const view = new DataView(bytes.buffer);
  const mask = (1n << 64n) - 1n;
  const words = [
    FW_DYNAMIC_INFO_MAGIC,
    FW_DYNAMIC_INFO_VERSION,
    info.nextAddr,
    BigInt(info.nextMode ?? 1 /* Supervisor */),
    info.options ?? 0n,
    info.bootHart ?? 0n
  ];
  words.forEach((w, i) => view.setBigUint64(i * 8, w & mask, true));
  return bytes;
}
function fwDynamicInfoAddress(dtbAddr) {
  return dtbAddr - BigInt(FW_DYNAMIC_INFO_SIZE) & ~63n;
}

// host/machine/hart.ts
var HartState = class {
  u64;
  constructor(memory) {
    this.u64 = new BigUint64Array(memory.buffer, STATE, STATE_SIZE / 8);
  }
  get(off) {
    return this.u64[off >> 3];
  }
  set(off, v) {
    this.u64[off >> 3] = BigInt.asUintN(64, v);
  }
  /** Integer register x[i] (0..31). */
  x(i) {
    return i === 0 ? 0n : this.get(S_X + i * 8);
  }
  setX(i, v) {
    if (i !== 0) this.set(S_X + i * 8, v);
  }
  get pc() {
    return this.get(S_PC);
  }
  set pc(v) {
    this.set(S_PC, v);
  }
  /** 0 = U, 1 = S, 3 = M. */
  get priv() {
    return Number(this.get(S_PRIV));
  }
  /** Instructions retired since reset. */
  get instret() {
    return this.get(S_INSTRET);
  }
  get mstatus() {
    return this.get(S_MSTATUS);
  }
  get mcause() {
    return this.get(S_MCAUSE);
  }
  get mepc() {
    return this.get(S_MEPC);
  }
  get mtval() {
    return this.get(S_MTVAL);
  }
  get scause() {
    return this.get(S_SCAUSE);
  }
  get sepc() {
    return this.get(S_SEPC);
  }
  get stval() {
    return this.get(S_STVAL);
  }
  get satp() {
    return this.get(S_SATP);
  }
  get mie() {
    return this.get(S_MIE);
  }
  get menvcfg() {
    return this.get(S_MENVCFG);
  }
  get stimecmp() {
    return this.get(S_STIMECMP);
  }
  // ---- platform inputs ----
  /** MIP bits driven by devices (MSIP from the CLINT, MEIP/SEIP from the PLIC). */
  get irqLines() {
    return this.get(S_IRQ_LINES);
  }
  set irqLines(v) {
    this.set(S_IRQ_LINES, v);
  }
  get mtimecmp() {
    return this.get(S_MTIMECMP);
  }
  set mtimecmp(v) {
    this.set(S_MTIMECMP, v);
  }
  get timeOffset() {
    return this.get(S_TIME_OFFSET);
  }
  set timeOffset(v) {
    this.set(S_TIME_OFFSET, v);
  }
  /** log2 of instructions per mtime tick. */
  get timeShift() {
    return Number(this.get(S_TIME_SHIFT));
  }
  set timeShift(v) {
    this.set(S_TIME_SHIFT, BigInt(v));
  }
  get tohost() {
    return this.get(S_TOHOST);
  }
  set tohost(v) {
    this.set(S_TOHOST, v);
  }
  // ---- MMIO exit information ----
  get mmioAddr() {
    return this.get(S_MMIO_ADDR);
  }
  get mmioSize() {
    return Number(this.get(S_MMIO_SIZE));
  }
  get mmioWrite() {
    return this.get(S_MMIO_WRITE) !== 0n;
  }
  get mmioData() {
    return this.get(S_MMIO_DATA);
  }
  /** The load result the host supplies before resuming. */
  set mmioData(v) {
    this.set(S_MMIO_DATA, v);
  }
  set mmioStatus(v) {
    this.set(S_MMIO_STATUS, BigInt(v));
  }
  get htifValue() {
    return this.get(S_HTIF_VALUE);
  }
  // ---- statistics ----
  get statTlbMiss() {
    return this.get(S_STAT_TLB_MISS);
  }
  get statTlbAccess() {
    return this.get(S_STAT_TLB_ACCESS);
  }
  get statBlockHit() {
    return this.get(S_STAT_BLOCK_HIT);
  }
  get statBlockMiss() {
    return this.get(S_STAT_BLOCK_MISS);
  }
  get statBlockChain() {
    return this.get(S_STAT_BLOCK_CHAIN);
  }
  get statBtFlush() {
    return this.get(S_STAT_BT_FLUSH);
  }
  get statCodeInval() {
    return this.get(S_STAT_CODE_INVAL);
  }
  get statWalks() {
    return this.get(S_STAT_WALKS);
  }
  get statWalkRefs() {
    return this.get(S_STAT_WALK_REFS);
  }
  get statTraps() {
    return this.get(S_STAT_TRAPS);
  }
  get statInterrupts() {
    return this.get(S_STAT_INTERRUPTS);
  }
};

// host/machine/machine.ts
var HART_ISA = "rv64imac_zicsr_zifencei_zicntr_sstc";
var TIMEBASE_HZ = 1e7;
var NEVER = 0xffffffffffffffffn;
var SLICE = 1000000n;
var MIP_MSIP = 1n << 3n;
var MIP_SEIP = 1n << 9n;
var MIP_MEIP = 1n << 11n;
var STCE = 1n << 63n;
var Ram = class {
  constructor(memory, size, core) {
    this.size = size;
    this.core = core;
    this.bytes = new Uint8Array(memory.buffer, RAM_OFFSET, size);
  }
  size;
  core;
  base = BigInt(RAM_BASE);
  bytes;
  offset(addr, length) {
    const off = addr - this.base;
    if (off < 0n || off + BigInt(length) > BigInt(this.size)) {
      throw new RangeError(`guest RAM: 0x${addr.toString(16)}+${length} is outside RAM`);
    }
    return Number(off);
  }
  write(addr, data) {
    this.bytes.set(data, this.offset(addr, data.length));
    this.core.invalidateRam(addr, BigInt(data.length));
  }
  read(addr, length) {
    const off = this.offset(addr, length);
    return this.bytes.slice(off, off + length);
  }
  fill(addr, length, value) {
    const off = this.offset(addr, length);
    this.bytes.fill(value, off, off + length);
    this.core.invalidateRam(addr, BigInt(length));
  }
};
function checkMemSize(memSize, what = "--mem") {
  if (!Number.isInteger(memSize) || memSize < 1 << 20 || memSize > RAM_SIZE_MAX || memSize % 4096 !== 0) {
    throw new UserError(`wasmvisor: ${what}: bad size ${memSize} (need a multiple of 4 KiB from 1M to 2G)`);
  }
}
var Machine = class _Machine {
  constructor(cfg) {
    this.cfg = cfg;
    checkMemSize(cfg.memSize);
    const memory = createMemory(cfg.memSize);
    this.core = instantiateCore(memory);
    this.core.init(BigInt(cfg.memSize));
    this.hart = new HartState(memory);
    this.ram = new Ram(memory, cfg.memSize, this.core);
    this.memory = this.ram;
    const out = cfg.onConsoleOutput ?? (() => {
    });
    this.plic = new Plic((ctx, level) => this.setLine(ctx === 0 ? MIP_MEIP : MIP_SEIP, level));
    this.uart = new Uart16550((b) => out(Uint8Array.of(b)), this.plic.source(VIRT_UART0_IRQ));
    const timer = {
      mtime: () => this.core.mtimeNow(),
      getMtimecmp: () => this.hart.mtimecmp,
      setMtimecmp: (v) => {
        this.hart.mtimecmp = v;
      },
      getMsip: () => (this.hart.irqLines & MIP_MSIP) !== 0n,
      setMsip: (level) => this.setLine(MIP_MSIP, level),
      setMtime: (v) => {
        this.hart.timeOffset += v - this.core.mtimeNow();
      }
    };
    this.bus.map(BigInt(VIRT_TEST_BASE), 0x1000n, new TestFinisher({
      onExit: (code) => {
        this.exitCode = code;
      },
      onReset: () => {
        this.resetRequested = true;
      }
    }));
    this.bus.map(BigInt(VIRT_CLINT_BASE), BigInt(CLINT_SIZE), new Clint(timer));
    this.bus.map(BigInt(VIRT_PLIC_BASE), BigInt(PLIC_SIZE), this.plic);
    this.bus.map(BigInt(VIRT_UART0_BASE), 0x100n, this.uart);
    for (let i = 0; i < VIRT_VIRTIO_COUNT; i++) {
      this.bus.map(BigInt(VIRT_VIRTIO_BASE + i * 4096), 0x1000n, new VirtioMmioEmpty(`virtio-mmio@${(VIRT_VIRTIO_BASE + i * 4096).toString(16)}`));
    }
    void VIRT_VIRTIO_IRQ;
    const dtb = virtBoardFdt({ memSize: cfg.memSize, hartIsa: HART_ISA });
    this.dtbAddress = fdtLoadAddress(BigInt(RAM_BASE), cfg.memSize, dtb.length);
    this.dtb = dtb;
    this.load();
  }
  cfg;
  /** Guest-physical RAM. */
  memory;
  /** The hart's registers and CSRs (read-only use outside the machine). */
  hart;
  /** Physical address of the device tree handed to the guest in a1. */
  dtbAddress;
  uart;
  core;
  bus = new Bus();
  ram;
  plic;
  exitCode;
  stopRequested = false;
  resetRequested = false;
  wake;
  wallStart = performance.now();
  counters = { mmioExits: 0n, haltExits: 0n, wallMs: 0 };
  /** Build a machine and load its images. Throws UserError for images that do not fit. */
  static async create(cfg) {
    return new _Machine(cfg);
  }
  dtb;
  /** Copy the images and the DTB into RAM and reset the hart (also on a guest-requested reset). */
  load() {
    const { kernel, bios } = this.cfg;
    this.ram.fill(this.ram.base, this.ram.size, 0);
    for (const image of bios ? [bios, kernel] : [kernel]) this.loadImage(image);
    this.ram.write(this.dtbAddress, this.dtb);
    let entry = kernel.entry;
    let a2 = 0n;
    if (bios) {
      a2 = fwDynamicInfoAddress(this.dtbAddress);
      this.ram.write(a2, buildFwDynamicInfo({ nextAddr: kernel.entry }));
      entry = bios.entry;
    }
    this.hart.tohost = bios ? 0n : kernel.tohost ?? 0n;
    this.hart.timeShift = this.cfg.deterministic ? 3 : 6;
    this.hart.timeOffset = 0n;
    this.hart.irqLines = 0n;
    this.core.reset(entry, 0n, this.dtbAddress, a2);
  }
  loadImage(image) {
    for (const seg of image.segments) {
      const size = Math.max(seg.memSize, seg.data.length);
      const end = seg.paddr + BigInt(size);
      if (seg.paddr < this.ram.base || end > this.ram.base + BigInt(this.ram.size)) {
        throw new UserError(`${image.name}: segment at 0x${seg.paddr.toString(16)} (size 0x${size.toString(16)}) is outside RAM 0x80000000-0x${(this.ram.base + BigInt(this.ram.size) - 1n).toString(16)}`);
      }
      this.ram.write(seg.paddr, seg.data);
    }
  }
  setLine(bit, level) {
    this.hart.irqLines = level ? this.hart.irqLines | bit : this.hart.irqLines & ~bit;
  }
  /** Keys typed by the user: into the UART's receive queue (and wake a sleeping hart). */
  consoleInput(bytes) {
    this.uart.receive(bytes);
    this.wake?.();
  }
  /** Make a running run() return with reason 'stopped'. */
  stop() {
    this.stopRequested = true;
    this.wake?.();
  }
  /** Move mtime forward to the wall clock (never backwards), unless deterministic. */
  syncTime() {
    if (this.cfg.deterministic) return;
    const wall = BigInt(Math.floor((performance.now() - this.wallStart) * (TIMEBASE_HZ / 1e3)));
    const now = this.core.mtimeNow();
    if (wall > now) this.hart.timeOffset += wall - now;
  }
  /** Run until the guest exits, a limit is reached, or stop() is called. */
  async run(limits = {}) {
    const t0 = performance.now();
    const i0 = this.hart.instret;
    const deadline = limits.timeoutMs !== void 0 ? t0 + limits.timeoutMs : Infinity;
    const maxI = limits.maxInstructions;
    this.stopRequested = false;
    let lastYield = t0;
    const result = (reason, exitCode) => {
      const wallMs = performance.now() - t0;
      this.counters.wallMs += wallMs;
      return { reason, exitCode, instructions: this.hart.instret - i0, wallMs };
    };
    for (; ; ) {
      if (this.exitCode !== void 0) return result("exit", this.exitCode);
      if (this.stopRequested) return result("stopped", 0);
      if (this.resetRequested) {
        this.resetRequested = false;
        this.core.init(BigInt(this.cfg.memSize));
        this.load();
      }
      let budget = SLICE;
      if (maxI !== void 0) {
        const left = i0 + maxI - this.hart.instret;
        if (left <= 0n) return result("max-instructions", 0);
        if (left < budget) budget = left;
      }
      this.syncTime();
      const reason = this.core.run(budget);
      if (reason === EXIT_MMIO) this.mmio();
      else if (reason === EXIT_HTIF) this.htif();
      else if (reason === EXIT_HALT) {
        this.counters.haltExits++;
        await this.halt(deadline);
      }
      const now = performance.now();
      if (now >= deadline) return result("timeout", 0);
      if (now - lastYield > 20) {
        await new Promise((r) => setImmediate(r));
        lastYield = performance.now();
      }
    }
  }
  /** Perform the access the core exited for, on the device that owns the address. */
  mmio() {
    this.counters.mmioExits++;
    const h = this.hart;
    const addr = h.mmioAddr;
    const size = h.mmioSize;
    const w = this.bus.find(addr, size);
    if (!w) {
      h.mmioStatus = MMIO_FAULT;
      return;
    }
    const off = Number(addr - w.base);
    if (h.mmioWrite) w.device.write(off, size, h.mmioData & (1n << BigInt(size * 8)) - 1n);
    else h.mmioData = w.device.read(off, size);
    h.mmioStatus = MMIO_OK;
  }
  /**
   * HTIF (Spike's host-target interface): tohost = device << 56 | command << 48 | payload.
   * Device 0 command 0 with payload bit 0 set: exit with code payload >> 1. Device 1 command 1:
   * console putchar. The host then clears tohost, as Spike's front end does.
   */
  htif() {
    const v = this.hart.htifValue;
    const dev = v >> 56n;
    const cmd = v >> 48n & 0xffn;
    const payload = v & 0xffffffffffffn;
    const tohost = this.hart.tohost;
    if (dev === 0n && cmd === 0n && (payload & 1n) === 1n) {
      this.exitCode = Number(payload >> 1n & 0xffn);
    } else if (dev === 1n && cmd === 1n) {
      this.cfg.onConsoleOutput?.(Uint8Array.of(Number(payload & 0xffn)));
    } else {
      throw new UserError(`${this.cfg.kernel.name}: unsupported HTIF request 0x${v.toString(16)} (device ${dev}, command ${cmd})`, 1);
    }
    this.ram.write(tohost, new Uint8Array(8));
  }
  /** WFI with nothing pending: sleep until the next timer deadline, input, or stop(). */
  async halt(deadline) {
    const h = this.hart;
    let due = h.mtimecmp;
    if ((h.menvcfg & STCE) !== 0n && h.stimecmp < due) due = h.stimecmp;
    const now = this.core.mtimeNow();
    if (this.cfg.deterministic && due !== NEVER) {
      if (due > now) h.timeOffset += due - now;
      return;
    }
    if (this.uart.pendingInput() > 0) return;
    let ms2 = due === NEVER ? 20 : Number(due > now ? due - now : 0n) / (TIMEBASE_HZ / 1e3);
    ms2 = Math.min(ms2, 20, Math.max(0, deadline - performance.now()));
    if (ms2 <= 0) return;
    await new Promise((resolve2) => {
      const t = setTimeout(() => {
        this.wake = void 0;
        resolve2();
      }, ms2);
      this.wake = () => {
        clearTimeout(t);
        this.wake = void 0;
        resolve2();
      };
    });
  }
  /** Counters for --stats. */
  stats() {
    const h = this.hart;
    const wallMs = this.counters.wallMs;
    return {
      instructions: h.instret,
      wallMs,
      mips: wallMs > 0 ? Number(h.instret) / wallMs / 1e3 : 0,
      tlbAccesses: h.statTlbAccess,
      tlbMisses: h.statTlbMiss,
      pageWalks: h.statWalks,
      pageWalkRefs: h.statWalkRefs,
      blockHits: h.statBlockHit,
      blockMisses: h.statBlockMiss,
      blockChains: h.statBlockChain,
      btFlushes: h.statBtFlush,
      codeInvalidations: h.statCodeInval,
      traps: h.statTraps,
      interrupts: h.statInterrupts,
      mmioExits: this.counters.mmioExits,
      haltExits: this.counters.haltExits
    };
  }
};

// host/machine/loader.ts
var EI_CLASS = 4;
var EI_DATA = 5;
var ELFCLASS32 = 1;
var ELFCLASS64 = 2;
var ELFDATA2LSB = 1;
var ELFDATA2MSB = 2;
var ET_EXEC = 2;
var ET_DYN = 3;
var EM_RISCV = 243;
var PT_LOAD = 1;
var PF_X = 1;
var SHT_SYMTAB = 2;
var EHDR_SIZE = 64;
var PHDR_SIZE = 56;
var SHDR_SIZE = 64;
var SYM_SIZE = 24;
var MACHINE_NAMES = {
  0: "none",
  2: "SPARC",
  3: "x86",
  8: "MIPS",
  20: "PowerPC",
  21: "PowerPC64",
  22: "S/390",
  40: "ARM",
  43: "SPARC V9",
  62: "x86-64",
  183: "AArch64",
  243: "RISC-V",
  258: "LoongArch"
};
var TYPE_NAMES = { 0: "ET_NONE", 1: "ET_REL", 2: "ET_EXEC", 3: "ET_DYN", 4: "ET_CORE" };
function hex2(v) {
  return "0x" + v.toString(16);
}
function parseImage(bytes, name, rawBase) {
  if (bytes.length === 0) throw new UserError(`${name}: empty file`);
  const isElf = bytes.length >= 4 && bytes[0] === 127 && bytes[1] === 69 && bytes[2] === 76 && bytes[3] === 70;
  if (!isElf) {
    return { name, entry: rawBase, segments: [{ paddr: rawBase, data: bytes, memSize: bytes.length }] };
  }
  return parseElf(bytes, name);
}
function parseElf(bytes, name) {
  const size = BigInt(bytes.length);
  if (bytes.length < EI_DATA + 1) {
    throw new UserError(`${name}: truncated ELF header (file is ${bytes.length} bytes, header needs ${EHDR_SIZE})`);
  }
  const cls = bytes[EI_CLASS];
  if (cls !== ELFCLASS64) {
    const what = cls === ELFCLASS32 ? "ELF32" : "invalid";
    throw new UserError(`${name}: ELF class is ${what} (${cls}), expected ELF64 (${ELFCLASS64})`);
  }
  const data = bytes[EI_DATA];
  if (data !== ELFDATA2LSB) {
    const what = data === ELFDATA2MSB ? "big-endian" : "invalid";
    throw new UserError(`${name}: ELF data encoding is ${what} (${data}), expected little-endian (${ELFDATA2LSB})`);
  }
  if (bytes.length < EHDR_SIZE) {
    throw new UserError(`${name}: truncated ELF header (file is ${bytes.length} bytes, header needs ${EHDR_SIZE})`);
  }
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const machine = dv.getUint16(18, true);
  if (machine !== EM_RISCV) {
    const what = MACHINE_NAMES[machine] ?? "unknown";
    throw new UserError(`${name}: ELF machine is ${what} (${machine}), expected RISC-V (${EM_RISCV})`);
  }
  const type = dv.getUint16(16, true);
  if (type !== ET_EXEC && type !== ET_DYN) {
    const what = TYPE_NAMES[type] ?? "unknown";
    throw new UserError(`${name}: ELF type is ${what} (${type}), expected ET_EXEC (${ET_EXEC}) or ET_DYN (${ET_DYN})`);
  }
  let entry = dv.getBigUint64(24, true);
  const phoff = dv.getBigUint64(32, true);
  const shoff = dv.getBigUint64(40, true);
  const phentsize = dv.getUint16(54, true);
  const phnum = dv.getUint16(56, true);
  const shentsize = dv.getUint16(58, true);
  const shnum = dv.getUint16(60, true);
  if (phnum === 0) throw new UserError(`${name}: ELF has no program headers (e_phnum is 0), nothing to load`);
  if (phentsize !== PHDR_SIZE) {
    throw new UserError(`${name}: ELF program header size is ${phentsize}, expected ${PHDR_SIZE}`);
  }
  const phdrs = [];
  for (let i = 0; i < phnum; i++) {
    const off = phoff + BigInt(i * PHDR_SIZE);
    if (off + BigInt(PHDR_SIZE) > size) {
      throw new UserError(
        `${name}: truncated: program header ${i} at offset ${hex2(off)} (size ${hex2(PHDR_SIZE)}) extends past the end of the file (${hex2(size)})`
      );
    }
    const o = Number(off);
    phdrs.push({
      type: dv.getUint32(o, true),
      flags: dv.getUint32(o + 4, true),
      offset: dv.getBigUint64(o + 8, true),
      vaddr: dv.getBigUint64(o + 16, true),
      paddr: dv.getBigUint64(o + 24, true),
      filesz: dv.getBigUint64(o + 32, true),
      memsz: dv.getBigUint64(o + 40, true)
    });
  }
  const loads = phdrs.filter((p) => p.type === PT_LOAD);
  if (loads.length === 0) throw new UserError(`${name}: ELF has no PT_LOAD segment, nothing to load`);
  const segments = [];
  for (const p of loads) {
    const index = phdrs.indexOf(p);
    if (p.filesz > p.memsz) {
      throw new UserError(
        `${name}: segment ${index} file size ${hex2(p.filesz)} is larger than its memory size ${hex2(p.memsz)}`
      );
    }
    if (p.offset + p.filesz > size) {
      throw new UserError(
        `${name}: truncated: segment ${index} data at offset ${hex2(p.offset)} (size ${hex2(p.filesz)}) extends past the end of the file (${hex2(size)})`
      );
    }
    if (p.memsz > 0xffffffffn) {
      throw new UserError(`${name}: segment ${index} at ${hex2(p.paddr)} is too large (size ${hex2(p.memsz)})`);
    }
    const start = Number(p.offset);
    segments.push({
      paddr: p.paddr,
      data: bytes.subarray(start, start + Number(p.filesz)),
      memSize: Number(p.memsz)
    });
  }
  for (const p of loads) {
    if (p.flags & PF_X && p.vaddr !== p.paddr && entry >= p.vaddr && entry < p.vaddr + p.filesz) {
      entry = entry - p.vaddr + p.paddr;
      break;
    }
  }
  const image = { name, entry, segments };
  const syms = readSymbols(bytes, dv, name, shoff, shentsize, shnum, ["tohost", "fromhost"]);
  const toPhys = (v) => {
    const p = loads.find((l) => v >= l.vaddr && v < l.vaddr + l.memsz);
    return p ? v - p.vaddr + p.paddr : v;
  };
  if (syms.has("tohost")) image.tohost = toPhys(syms.get("tohost"));
  if (syms.has("fromhost")) image.fromhost = toPhys(syms.get("fromhost"));
  return image;
}
function readSymbols(bytes, dv, name, shoff, shentsize, shnum, wanted) {
  const found = /* @__PURE__ */ new Map();
  if (shoff === 0n || shnum === 0) return found;
  const size = BigInt(bytes.length);
  if (shentsize !== SHDR_SIZE) {
    throw new UserError(`${name}: ELF section header size is ${shentsize}, expected ${SHDR_SIZE}`);
  }
  if (shoff + BigInt(shnum * SHDR_SIZE) > size) {
    throw new UserError(
      `${name}: truncated: section headers at offset ${hex2(shoff)} (size ${hex2(shnum * SHDR_SIZE)}) extend past the end of the file (${hex2(size)})`
    );
  }
  const section = (i) => {
    const o = Number(shoff) + i * SHDR_SIZE;
    return {
      type: dv.getUint32(o + 4, true),
      offset: dv.getBigUint64(o + 24, true),
      size: dv.getBigUint64(o + 32, true),
      link: dv.getUint32(o + 40, true)
    };
  };
  let symtab;
  let symIndex = -1;
  for (let i = 0; i < shnum; i++) {
    const s = section(i);
    if (s.type === SHT_SYMTAB) {
      symtab = s;
      symIndex = i;
      break;
    }
  }
  if (!symtab) return found;
  if (symtab.link >= shnum) {
    throw new UserError(`${name}: .symtab (section ${symIndex}) links to string table ${symtab.link}, which does not exist`);
  }
  const strtab = section(symtab.link);
  for (const [what, s] of [
    [".symtab", symtab],
    ["its string table", strtab]
  ]) {
    if (s.offset + s.size > size) {
      throw new UserError(
        `${name}: truncated: ${what} at offset ${hex2(s.offset)} (size ${hex2(s.size)}) extends past the end of the file (${hex2(size)})`
      );
    }
  }
  const strStart = Number(strtab.offset);
  const strEnd = strStart + Number(strtab.size);
  const enc = new TextEncoder();
  const targets = wanted.map((w) => ({ name: w, bytes: enc.encode(w + "\0") }));
  const count = Number(symtab.size / BigInt(SYM_SIZE));
  for (let i = 1; i < count && found.size < targets.length; i++) {
    const o = Number(symtab.offset) + i * SYM_SIZE;
    const nameAt = strStart + dv.getUint32(o, true);
    const shndx = dv.getUint16(o + 6, true);
    if (shndx === 0) continue;
    for (const t of targets) {
      if (!found.has(t.name) && bytesAt(bytes, nameAt, strEnd, t.bytes)) {
        found.set(t.name, dv.getBigUint64(o + 8, true));
      }
    }
  }
  return found;
}
function bytesAt(bytes, start, end, want) {
  if (start + want.length > end) return false;
  for (let k = 0; k < want.length; k++) if (bytes[start + k] !== want[k]) return false;
  return true;
}

// bench/wasmvisor.ts
var MEM_SIZE = 128 * 1024 * 1024;
async function runWasmvisor(image, name, timeoutMs) {
  const kernel = parseImage(image, name, BigInt(RAM_BASE));
  let output = "";
  const t0 = performance.now();
  const machine = await Machine.create({
    memSize: MEM_SIZE,
    kernel,
    onConsoleOutput: (bytes) => {
      output += Buffer.from(bytes).toString("latin1");
    }
  });
  const t1 = performance.now();
  const result = await machine.run({ timeoutMs });
  const t2 = performance.now();
  if (result.reason !== "exit") {
    throw new Error(`${name}: wasmvisor run ended with '${result.reason}' after ${Math.round(t2 - t1)} ms`);
  }
  if (result.exitCode !== 0) {
    const last = output.replace(/\r/g, "").trim().split("\n").pop() ?? "";
    throw new Error(`${name}: guest exited with code ${result.exitCode} under wasmvisor: ${last}`);
  }
  const wallMs = t2 - t1;
  const stats = machine.stats();
  const instructions = stats.instructions;
  return {
    stats,
    wallMs,
    createMs: t1 - t0,
    instructions,
    mips: Number(instructions) / (wallMs * 1e3),
    output: output.replace(/\r/g, "")
  };
}

// bench/workloads.ts
import { join as join3 } from "node:path";
var WORKLOADS = [
  { name: "crc32", measures: "byte loads and a dependent table lookup per byte" },
  { name: "sha256", measures: "32-bit ALU work: rotates, adds, logic" },
  { name: "qsort", measures: "unpredictable branches, calls, array loads/stores" },
  { name: "matmul", measures: "integer multiply and unit-stride loads" },
  { name: "dhry", measures: "short blocks, calls, string copy/compare, records" },
  { name: "tlbstress", measures: "Sv39 in S-mode: one TLB miss per hop over 8192 pages" }
];
function workloadPaths(root, name) {
  return {
    source: join3(root, "guests", "bench", `${name}.c`),
    elf: join3(root, "guests", "bin", "bench", `${name}.elf`)
  };
}
function resultLine(name, output) {
  const lines = output.replace(/\r/g, "").split("\n").filter((l) => l.startsWith(`${name}: 0x`));
  if (lines.length !== 1 || !/^[a-z0-9]+: 0x[0-9a-f]+$/.test(lines[0])) return void 0;
  return lines[0];
}

// bench/run.ts
var USAGE = "usage: bench [--runs N] [--only a,b] [--no-wasmvisor] [--no-qemu] [--no-native] [--no-make] [--out FILE] [--timeout SECONDS]";
var UsageError = class extends Error {
};
function parseArgs(argv) {
  const o = { runs: 3, only: null, wasmvisor: true, qemu: true, native: true, make: true, out: null, timeoutMs: 3e5 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) throw new UsageError(`bench: ${a} needs a value`);
      return argv[++i];
    };
    switch (a) {
      case "--runs": {
        const v = value();
        o.runs = Number(v);
        if (!Number.isInteger(o.runs) || o.runs < 1) throw new UsageError(`bench: --runs must be a positive integer, got '${v}'`);
        break;
      }
      case "--only": {
        o.only = value().split(",").filter((s) => s !== "");
        const unknown = o.only.filter((n) => !WORKLOADS.some((w) => w.name === n));
        if (unknown.length > 0) {
          throw new UsageError(`bench: unknown workload '${unknown[0]}' (have ${WORKLOADS.map((w) => w.name).join(", ")})`);
        }
        break;
      }
      case "--timeout": {
        const v = value();
        o.timeoutMs = Number(v) * 1e3;
        if (!(o.timeoutMs > 0)) throw new UsageError(`bench: --timeout must be a positive number of seconds, got '${v}'`);
        break;
      }
      case "--no-wasmvisor":
        o.wasmvisor = false;
        break;
      case "--no-qemu":
        o.qemu = false;
        break;
      case "--no-native":
        o.native = false;
        break;
      case "--no-make":
        o.make = false;
        break;
      case "--out":
        o.out = value();
        break;
      case "-h":
      case "--help":
        console.log(USAGE);
        process.exit(0);
        break;
      default:
        throw new UsageError(`bench: unknown option '${a}'
${USAGE}`);
    }
  }
  return o;
}
function repoRoot() {
  return resolve(dirname(fileURLToPath2(import.meta.url)), "..");
}
var log = (s) => {
  process.stderr.write(`${s}
`);
};
async function measure(name, engine, runs, once) {
  let first;
  const best = await bestOf(runs, async () => {
    const r = await once();
    const line = resultLine(name, r.output);
    if (line === void 0) {
      const shown = r.output.trim().split("\n").slice(-2).join(" | ");
      throw new Error(`${name}: ${engine} printed no single '${name}: 0x...' line (output: '${shown}')`);
    }
    if (first === void 0) first = line;
    else if (line !== first) throw new Error(`${name}: ${engine} printed '${line}' after '${first}' in an earlier run`);
    return r;
  });
  return { ...best, result: first };
}
function buildGuests(root, names) {
  const guests = join4(root, "guests");
  const targets = names.map((n) => relative(guests, workloadPaths(root, n).elf));
  const r = spawnSync5("make", ["-C", guests, ...targets], { encoding: "utf8" });
  if (r.error) throw new Error(`bench: cannot run make: ${r.error.message}`);
  if (r.status !== 0) {
    const tail = `${r.stdout}${r.stderr}`.trim().split("\n").slice(-5).join("\n");
    throw new Error(`bench: make -C guests failed:
${tail}`);
  }
}
function errorText(e) {
  return e instanceof Error ? e.message : String(e);
}
async function main() {
  const opt = parseArgs(process.argv.slice(2));
  const root = repoRoot();
  const workloads = WORKLOADS.filter((w) => opt.only === null || opt.only.includes(w.name));
  const names = workloads.map((w) => w.name);
  if (opt.make) buildGuests(root, names);
  const qemu = qemuVersion();
  const cc = hostCcVersion();
  const useQemu = opt.qemu && qemu !== void 0;
  const useNative = opt.native && cc !== void 0;
  if (opt.qemu && !useQemu) log(`bench: ${QEMU} not found (set QEMU=): QEMU columns stay empty`);
  if (opt.native && !useNative) log(`bench: ${HOST_CC} not found (set CC=): native columns stay empty`);
  const host = hostInfo(root, qemu, cc);
  log(`bench: ${host.cpuModel}, ${host.cores} cores, node ${host.node}${qemu ? `, ${qemu}` : ""}; best of ${opt.runs}`);
  const tmp = mkdtempSync(join4(tmpdir(), "wasmvisor-bench-"));
  try {
    const startup = { qemuMs: null, nativeMs: null, wasmvisorCreateMs: null };
    if (useQemu) {
      const trivial = writeTrivialImage(tmp);
      startup.qemuMs = (await bestOf(opt.runs, () => runQemu(trivial, 3e4))).wallMs;
      log(`bench: QEMU startup+shutdown on a trivial image: ${startup.qemuMs.toFixed(1)} ms`);
    }
    if (useNative) {
      const empty = compileEmptyNative(tmp);
      startup.nativeMs = (await bestOf(opt.runs, () => runNative(empty, 1e4))).wallMs;
      log(`bench: native process startup (empty program): ${startup.nativeMs.toFixed(1)} ms`);
    }
    if (opt.wasmvisor) {
      try {
        const r = await bestOf(opt.runs, async () => {
          const run = await runWasmvisor(trivialElf(), "trivial.elf", 3e4);
          return { ...run, wallMs: run.createMs };
        });
        startup.wasmvisorCreateMs = r.createMs;
        log(`bench: wasmvisor Machine.create on a trivial image: ${r.createMs.toFixed(1)} ms`);
      } catch (e) {
        log(`bench: wasmvisor cannot run a trivial image: ${errorText(e)}`);
      }
    }
    const results = [];
    for (const w of workloads) {
      const { source, elf } = workloadPaths(root, w.name);
      const errors = [];
      let wasmvisor = null;
      let qemuRes = null;
      let nativeRes = null;
      let instructions = null;
      if (opt.wasmvisor) {
        try {
          const image = new Uint8Array(readFileSync3(elf));
          const r = await measure(w.name, "wasmvisor", opt.runs, () => runWasmvisor(image, relative(root, elf), opt.timeoutMs));
          const stats = Object.fromEntries(
            Object.entries(r.stats).map(([k, v]) => [k, typeof v === "bigint" ? v.toString() : v])
          );
          wasmvisor = { wallMs: r.wallMs, netMs: r.wallMs, result: r.result, mips: r.mips, stats };
          instructions = r.instructions.toString();
        } catch (e) {
          errors.push(`wasmvisor: ${errorText(e)}`);
        }
      }
      if (useQemu) {
        try {
          const r = await measure(w.name, "qemu", opt.runs, () => runQemu(elf, opt.timeoutMs));
          qemuRes = { wallMs: r.wallMs, netMs: r.wallMs - (startup.qemuMs ?? 0), result: r.result };
        } catch (e) {
          errors.push(`qemu: ${errorText(e)}`);
        }
      }
      if (useNative) {
        try {
          const exe = compileNative(root, source, w.name, tmp);
          const r = await measure(w.name, "native", opt.runs, () => runNative(exe, opt.timeoutMs));
          nativeRes = { wallMs: r.wallMs, netMs: r.wallMs - (startup.nativeMs ?? 0), result: r.result };
        } catch (e) {
          errors.push(`native: ${errorText(e)}`);
        }
      }
      const wr = finishWorkload({ name: w.name, instructions, wasmvisor, qemu: qemuRes, native: nativeRes, errors });
      results.push(wr);
      const parts = [
        wasmvisor ? `wasmvisor ${wasmvisor.wallMs.toFixed(1)} ms` : null,
        qemuRes ? `qemu ${qemuRes.wallMs.toFixed(1)} ms` : null,
        nativeRes ? `native ${nativeRes.wallMs.toFixed(1)} ms` : null
      ].filter((p) => p !== null);
      log(`bench: ${w.name}: ${parts.join(", ") || "no engine ran"}`);
      for (const e of errors) log(`bench:   ERROR ${e}`);
    }
    const report = { host, runs: opt.runs, startup, workloads: results, geomean: geomeanRow(results) };
    console.log("");
    console.log(formatTable(report));
    console.log("");
    console.log("Times in ms, best of " + opt.runs + `. qemu and native columns have startup subtracted (qemu ${startup.qemuMs?.toFixed(1) ?? "-"} ms, native ${startup.nativeMs?.toFixed(1) ?? "-"} ms); ratios are slowdowns of the first engine against the second.`);
    let bad = 0;
    for (const w of results) {
      if (!w.match) {
        bad++;
        console.log("");
        console.log(`!!!!!!!! CHECKSUM MISMATCH in ${w.name} !!!!!!!!`);
        if (w.wasmvisor) console.log(`  wasmvisor: ${w.wasmvisor.result}`);
        if (w.qemu) console.log(`  qemu:      ${w.qemu.result}`);
        if (w.native) console.log(`  native:    ${w.native.result}`);
      }
      for (const e of w.errors) {
        bad++;
        console.log(`ERROR ${e}`);
      }
    }
    const out = opt.out ?? join4(root, "bench", "results", "latest.json");
    mkdirSync(dirname(out), { recursive: true });
    const round = (_k, v) => typeof v === "number" && !Number.isInteger(v) ? Math.round(v * 1e3) / 1e3 : v;
    writeFileSync3(out, `${JSON.stringify(report, round, 2)}
`);
    log(`bench: wrote ${relative(process.cwd(), out) || out}`);
    return bad === 0 ? 0 : 1;
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}
main().then(
  (code) => process.exit(code),
  (e) => {
    console.error(e instanceof UsageError || e instanceof Error && e.message.startsWith("bench:") ? e.message : e);
    process.exit(2);
  }
);
