// bench/run.ts
import { spawnSync as spawnSync5 } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync as readFileSync2, rmSync, writeFileSync as writeFileSync3 } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join as join4, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

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

// ../../tmp/bt/stub/machine.ts
var Machine = class _Machine {
  constructor(cfg) {
    this.cfg = cfg;
  }
  cfg;
  static async create(cfg) {
    return new _Machine(cfg);
  }
  async run() {
    const n = String(this.cfg.kernel.name).replace(/.*\//, "").replace(".elf", "");
    const t = performance.now();
    while (performance.now() - t < 50) {
    }
    if (n !== "trivial") this.cfg.onConsoleOutput(new TextEncoder().encode(n === "crc32" ? "crc32: 0xb7664be6\r\n" : `${n}: 0xdeadbeef\r
`));
    return { reason: "exit", exitCode: 0, instructions: 123456789n, wallMs: 50 };
  }
  stats() {
    return { instructions: 123456789n };
  }
};

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
function hex(v) {
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
        `${name}: truncated: program header ${i} at offset ${hex(off)} (size ${hex(PHDR_SIZE)}) extends past the end of the file (${hex(size)})`
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
        `${name}: segment ${index} file size ${hex(p.filesz)} is larger than its memory size ${hex(p.memsz)}`
      );
    }
    if (p.offset + p.filesz > size) {
      throw new UserError(
        `${name}: truncated: segment ${index} data at offset ${hex(p.offset)} (size ${hex(p.filesz)}) extends past the end of the file (${hex(size)})`
      );
    }
    if (p.memsz > 0xffffffffn) {
      throw new UserError(`${name}: segment ${index} at ${hex(p.paddr)} is too large (size ${hex(p.memsz)})`);
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
      `${name}: truncated: section headers at offset ${hex(shoff)} (size ${hex(shnum * SHDR_SIZE)}) extend past the end of the file (${hex(size)})`
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
        `${name}: truncated: ${what} at offset ${hex(s.offset)} (size ${hex(s.size)}) extends past the end of the file (${hex(size)})`
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

// assembly/abi.ts
var RAM_BASE = 2147483648;
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
  const instructions = machine.stats().instructions;
  return {
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
  return resolve(dirname(fileURLToPath(import.meta.url)), "..");
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
  if (opt.qemu && !useQemu) log("bench: qemu-system-riscv64 not found: QEMU columns stay empty");
  if (opt.native && !useNative) log("bench: host gcc not found: native columns stay empty");
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
          const image = new Uint8Array(readFileSync2(elf));
          const r = await measure(w.name, "wasmvisor", opt.runs, () => runWasmvisor(image, relative(root, elf), opt.timeoutMs));
          wasmvisor = { wallMs: r.wallMs, netMs: r.wallMs, result: r.result, mips: r.mips };
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
    writeFileSync3(out, `${JSON.stringify(report, null, 2)}
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
