/**
 * A DomU's configuration: the subset of xl.cfg(5) that wasmvisor's toolstack understands, read
 * from the syntax of cfg-syntax.ts. Keys (anything else is an error, so a typo never passes
 * silently):
 *
 *   name        = 'domu1'            required; letters, digits, '-', '_', '.' (1..64)
 *   kernel      = 'pvtest.elf'       required; an S-mode ELF (or raw image at 0x80200000)
 *   memory      = 64                 MiB, 4..2042 (default 128, as xl; the most a VM can have, vm.ts vmMemSizeLimit)
 *   vcpus       = 1                  only 1 (SMP is not implemented)
 *   type        = 'pv'               accepted for compatibility; only pv
 *   disk        = [ 'format=raw, vdev=xvda, access=rw, target=disk.img' ]   (xl-disk-configuration(5))
 *               = [ 'disk.img,raw,xvda,rw' ]                                (the positional form)
 *                 target=mem:SIZE (wasmvisor): a zero-filled disk of SIZE (K/M/G) held in memory
 *   vif         = [ 'mac=00:16:3e:00:00:01, bridge=xenbr0, ip=10.0.0.1' ]    (xl-network-configuration(5))
 *   on_poweroff = 'destroy'          destroy | restart | preserve (default destroy)
 *   on_reboot   = 'restart'          (default restart)
 *   on_crash    = 'destroy'          (default destroy)
 *   cpu_weight  = 256                credit scheduler weight, 1..65535 (xl sched-credit -w)
 *   cap         = 0                  credit scheduler cap in percent of a CPU, 0 (none)..100
 *   cmdline     = 'console=hvc0'     the kernel command line (/chosen bootargs); root= and extra= are then ignored
 *   root        = '/dev/xvda'        with extra: "root=ROOT EXTRA" when there is no cmdline (as libxl's xl_parse.c)
 *   extra       = 'quiet'
 *   ramdisk     = 'initrd.img'       initial ramdisk (/chosen linux,initrd-start/end), placed as QEMU's virt does
 *
 * Paths (kernel, ramdisk, disk targets) are relative to the configuration file's directory. Every
 * mistake is a one-line UserError "FILE:LINE: key = value: what is wrong".
 */
import { dirname, resolve } from 'node:path';
import { UserError } from '../../errors';
import { readInputFile } from '../../machine/input-file';
import { vmMemSizeLimit } from '../../vmm/vm';
import { CFG_MAX_BYTES, parseXlSyntax, type XlSetting } from './cfg-syntax';

/** What to do when a domain shuts down for a reason (xl.cfg on_poweroff / on_reboot / on_crash). */
export type LifecycleAction = 'destroy' | 'restart' | 'preserve';

/** A disk (xl-disk-configuration(5)). */
export interface DiskCfg {
  /** An image file (absolute path), or a disk of `memoryBytes` zero bytes held in memory. */
  target: { path: string } | { memoryBytes: number };
  format: 'raw';
  /** Virtual device name as the guest sees it: xvda, xvdb, ... */
  vdev: string;
  /** Xen's device number of `vdev` (docs/misc/vbd-interface: 202 << 8 | disk << 4). */
  devid: number;
  readOnly: boolean;
}

/** A network interface (xl-network-configuration(5)). */
export interface VifCfg {
  /** aa:bb:cc:dd:ee:ff; undefined: the backend picks one. */
  mac?: string;
  /** The bridge to plug into (default xenbr0, as xl). */
  bridge: string;
  /** The guest's IPv4 address (xl's ip=; written to the backend's `ip` key for the guest to read). */
  ip?: string;
}

/** A parsed DomU configuration. */
export interface DomainCfg {
  /** The configuration file, as named (for messages). */
  file: string;
  name: string;
  /** The kernel image, resolved against the file's directory. */
  kernel: string;
  memoryMiB: number;
  vcpus: 1;
  disks: DiskCfg[];
  vifs: VifCfg[];
  onPoweroff: LifecycleAction;
  onReboot: LifecycleAction;
  onCrash: LifecycleAction;
  /** Credit scheduler weight (default 256). */
  weight: number;
  /** Credit scheduler cap, percent of one CPU; 0 means no cap. */
  cap: number;
  /** The kernel command line from cmdline=, or root= and extra= (undefined when none is set). */
  cmdline?: string;
  /** ramdisk=: the initial ramdisk, resolved against the file's directory. */
  ramdisk?: string;
}

/** xl's default memory (MiB). */
export const DEFAULT_MEMORY_MIB = 128;
/** The credit scheduler's default weight (Xen's CSCHED_DEFAULT_WEIGHT). */
export const DEFAULT_WEIGHT = 256;
/** The bridge a vif joins when it names none (xl's default). */
export const DEFAULT_BRIDGE = 'xenbr0';

const ACTIONS: ReadonlySet<string> = new Set(['destroy', 'restart', 'preserve']);
const XL_ONLY_ACTIONS: ReadonlySet<string> = new Set(['rename-restart', 'coredump-destroy', 'coredump-restart', 'soft-reset']);
const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
const MAC = /^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/;

/** Read and parse the xl.cfg file at `path`. */
export function readDomainCfg(path: string): DomainCfg {
  return parseDomainCfg(readCfgText(path), path);
}

/**
 * Read a configuration file as text, with a one-line UserError if it cannot be read, is not a
 * regular file, or is larger than CFG_MAX_BYTES (input-file.ts: checked before reading).
 */
export function readCfgText(path: string): string {
  const bytes = readInputFile(path, { what: 'configuration file', maxBytes: CFG_MAX_BYTES });
  return new TextDecoder().decode(bytes);
}

/** Parse the text of an xl.cfg file named `file` (paths in it are relative to its directory). */
export function parseDomainCfg(text: string, file: string): DomainCfg {
  const dir = dirname(resolve(file));
  const settings = parseXlSyntax(text, file);
  const get = new Map(settings.map((s) => [s.key, s]));
  const bad = (s: XlSetting, what: string) => new UserError(`${file}:${s.line}: ${s.key} = ${s.text}: ${what}`);

  for (const s of settings) {
    if (!KNOWN_KEYS.has(s.key)) throw new UserError(`${file}:${s.line}: unknown key '${s.key}' (known: ${[...KNOWN_KEYS].join(', ')})`);
  }
  const str = (s: XlSetting): string => {
    if (typeof s.value !== 'string') throw bad(s, 'expected a quoted string');
    return s.value;
  };
  const int = (s: XlSetting, lo: number, hi: number, unit = ''): number => {
    if (typeof s.value !== 'number') throw bad(s, `expected a number${unit}`);
    if (!Number.isSafeInteger(s.value) || s.value < lo || s.value > hi) throw bad(s, `expected ${lo}..${hi}${unit}`);
    return s.value;
  };
  const list = (s: XlSetting): string[] => {
    if (!Array.isArray(s.value)) throw bad(s, `expected a [ list ] of 'strings'`);
    return s.value.map((v) => {
      if (typeof v !== 'string') throw bad(s, `entry ${v} is not a quoted string`);
      return v;
    });
  };
  const action = (key: string, dflt: LifecycleAction): LifecycleAction => {
    const s = get.get(key);
    if (!s) return dflt;
    const v = str(s);
    if (ACTIONS.has(v)) return v as LifecycleAction;
    if (XL_ONLY_ACTIONS.has(v)) throw bad(s, `'${v}' is not supported by wasmvisor (use destroy, restart or preserve)`);
    throw bad(s, `unknown action '${v}' (expected destroy, restart or preserve)`);
  };
  const required = (key: string): XlSetting => {
    const s = get.get(key);
    if (!s) throw new UserError(`${file}: missing '${key}'`);
    return s;
  };

  const nameS = required('name');
  const name = str(nameS);
  if (!NAME.test(name)) throw bad(nameS, `a domain name is 1..64 letters, digits, '-', '_' or '.', starting with a letter or digit`);
  const kernelS = required('kernel');
  const kernelRel = str(kernelS);
  if (kernelRel === '') throw bad(kernelS, 'empty path');
  const typeS = get.get('type');
  if (typeS && str(typeS) !== 'pv') throw bad(typeS, `only 'pv' domains are supported`);
  const vcpuS = get.get('vcpus');
  if (vcpuS) {
    const n = int(vcpuS, 1, 128);
    if (n !== 1) throw bad(vcpuS, 'only 1 vCPU per domain is supported (SMP is not implemented)');
  }
  const memS = get.get('memory');
  const memoryMiB = memS ? int(memS, 4, vmMemSizeLimit() / 2 ** 20, ' (MiB)') : DEFAULT_MEMORY_MIB;
  const weightS = get.get('cpu_weight');
  const capS = get.get('cap');

  const disks: DiskCfg[] = [];
  const diskS = get.get('disk');
  if (diskS) {
    for (const spec of list(diskS)) {
      const d = parseDisk(spec, dir, (what) => bad(diskS, what));
      const dup = disks.find((o) => o.vdev === d.vdev);
      if (dup) throw bad(diskS, `vdev ${d.vdev} is used twice`);
      disks.push(d);
    }
  }
  const vifs: VifCfg[] = [];
  const vifS = get.get('vif');
  if (vifS) for (const spec of list(vifS)) vifs.push(parseVif(spec, (what) => bad(vifS, what)));

  // xl.cfg(5): cmdline= is the whole command line and overrides root= and extra=; otherwise
  // libxl joins them as "root=ROOT EXTRA" (tools/xl/xl_parse.c).
  const optStr = (key: string) => (get.has(key) ? str(get.get(key)!) : undefined);
  const root = optStr('root');
  const extra = optStr('extra');
  let cmdline = optStr('cmdline');
  if (cmdline === undefined && root !== undefined) cmdline = extra !== undefined ? `root=${root} ${extra}` : `root=${root}`;
  else if (cmdline === undefined) cmdline = extra;
  const ramdiskS = get.get('ramdisk');
  const ramdiskRel = ramdiskS ? str(ramdiskS) : undefined;
  if (ramdiskS && ramdiskRel === '') throw bad(ramdiskS, 'empty path');

  return {
    file,
    name,
    cmdline,
    ramdisk: ramdiskRel !== undefined ? resolve(dir, ramdiskRel) : undefined,
    kernel: resolve(dir, kernelRel),
    memoryMiB,
    vcpus: 1,
    disks,
    vifs,
    onPoweroff: action('on_poweroff', 'destroy'),
    onReboot: action('on_reboot', 'restart'),
    onCrash: action('on_crash', 'destroy'),
    weight: weightS ? int(weightS, 1, 65535) : DEFAULT_WEIGHT,
    cap: capS ? int(capS, 0, 100, ' (percent of one CPU; 0 = no cap)') : 0,
  };
}

const KNOWN_KEYS: ReadonlySet<string> = new Set([
  'name', 'kernel', 'memory', 'vcpus', 'type', 'disk', 'vif', 'on_poweroff', 'on_reboot', 'on_crash', 'cpu_weight', 'cap',
  'cmdline', 'root', 'extra', 'ramdisk',
]);

/**
 * One disk specification. The keyword form is `key=value` items separated by commas; `target=`
 * must come last and takes the rest of the string (xl-disk-configuration(5): a path may hold
 * commas). The positional form is `target,format,vdev,access`.
 */
function parseDisk(spec: string, dir: string, bad: (what: string) => UserError): DiskCfg {
  let target: string | undefined;
  const f: Record<string, string> = {};
  const positional = ['target', 'format', 'vdev', 'access'];
  let pos = 0;
  let rest = spec.trim();
  while (rest !== '') {
    if (rest.startsWith('target=')) {
      target = rest.slice('target='.length).trim();
      break;
    }
    const comma = rest.indexOf(',');
    const item = (comma < 0 ? rest : rest.slice(0, comma)).trim();
    rest = comma < 0 ? '' : rest.slice(comma + 1).trim();
    const eq = item.indexOf('=');
    if (eq >= 0) {
      const k = item.slice(0, eq).trim();
      const v = item.slice(eq + 1).trim();
      if (!['format', 'vdev', 'access', 'devtype'].includes(k)) throw bad(`unknown disk key '${k}' in '${spec}' (known: format, vdev, access, devtype, target)`);
      if (k in f) throw bad(`disk key '${k}' given twice in '${spec}'`);
      f[k] = v;
      continue;
    }
    if (pos >= positional.length) throw bad(`too many positional fields in disk '${spec}' (target,format,vdev,access)`);
    const k = positional[pos++];
    if (k === 'target') target = item;
    else if (item !== '') f[k] = item;
  }
  if (target === undefined || target === '') throw bad(`disk '${spec}' has no target`);
  const format = f.format ?? 'raw';
  if (format !== 'raw') throw bad(`disk format '${format}' is not supported (only raw)`);
  if (f.devtype !== undefined && f.devtype !== 'disk') throw bad(`disk devtype '${f.devtype}' is not supported (only disk)`);
  if (f.vdev === undefined) throw bad(`disk '${spec}' has no vdev (e.g. vdev=xvda)`);
  const devid = vdevDevid(f.vdev);
  if (devid === undefined) throw bad(`bad vdev '${f.vdev}' (expected xvda, xvdb, ...)`);
  const access = f.access ?? 'rw';
  if (!['rw', 'w', 'ro', 'r'].includes(access)) throw bad(`bad access '${access}' (expected rw or ro)`);
  return { target: diskTarget(target, dir, bad), format: 'raw', vdev: f.vdev, devid, readOnly: access === 'ro' || access === 'r' };
}

/** `mem:SIZE` or a path. */
function diskTarget(text: string, dir: string, bad: (what: string) => UserError): DiskCfg['target'] {
  if (!text.startsWith('mem:')) return { path: resolve(dir, text) };
  const m = /^mem:(\d+)([KMG])$/i.exec(text);
  if (!m) throw bad(`bad memory disk '${text}' (expected e.g. mem:8M)`);
  const bytes = Number(m[1]) * { K: 1024, M: 1 << 20, G: 1 << 30 }[m[2].toUpperCase() as 'K' | 'M' | 'G'];
  if (bytes < 4096 || bytes > 1 << 30) throw bad(`memory disk '${text}' must be 4K..1G`);
  return { memoryBytes: bytes };
}

/**
 * Xen's device number of a vdev (docs/misc/vbd-interface.txt): xvdX for disk 0..15 is
 * 202 << 8 | disk << 4; past that, the extended form 1 << 28 | disk << 8 (disk < 2^20).
 * Disk numbers are base-26 letters: a = 0, z = 25, aa = 26.
 */
export function vdevDevid(vdev: string): number | undefined {
  const m = /^xvd([a-z]{1,3})$/.exec(vdev);
  if (!m) return undefined;
  let disk = 0;
  for (const c of m[1]) disk = disk * 26 + (c.charCodeAt(0) - 96);
  disk -= 1;
  return disk < 16 ? (202 << 8) | (disk << 4) : (1 << 28) + disk * 256;
}

/** One vif specification: `key=value` items separated by commas (mac, bridge, ip). */
function parseVif(spec: string, bad: (what: string) => UserError): VifCfg {
  const out: VifCfg = { bridge: DEFAULT_BRIDGE };
  const seen = new Set<string>();
  for (const raw of spec.split(',')) {
    const item = raw.trim();
    if (item === '') continue;
    const eq = item.indexOf('=');
    if (eq < 0) throw bad(`vif item '${item}' is not key=value`);
    const k = item.slice(0, eq).trim();
    const v = item.slice(eq + 1).trim();
    if (seen.has(k)) throw bad(`vif key '${k}' given twice in '${spec}'`);
    seen.add(k);
    if (k === 'mac') {
      if (!MAC.test(v)) throw bad(`bad mac '${v}' (expected six hex pairs, e.g. 00:16:3e:00:00:01)`);
      if ((parseInt(v.slice(0, 2), 16) & 1) !== 0) throw bad(`mac '${v}' is a multicast address`);
      out.mac = v.toLowerCase();
    } else if (k === 'bridge') {
      if (!/^[A-Za-z0-9_.-]{1,15}$/.test(v)) throw bad(`bad bridge name '${v}'`);
      out.bridge = v;
    } else if (k === 'ip') {
      const parts = v.split('.');
      if (parts.length !== 4 || parts.some((x) => !/^(0|[1-9][0-9]{0,2})$/.test(x) || Number(x) > 255)) throw bad(`bad ip '${v}' (expected an IPv4 address, e.g. 10.0.0.1)`);
      out.ip = v;
    } else {
      throw bad(`unknown vif key '${k}' (known: mac, bridge, ip)`);
    }
  }
  return out;
}
