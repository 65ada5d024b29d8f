/**
 * The demo page's files: booting a guest of the user's own (file picker, drag and drop onto the
 * page, or a URL) with the CLI's boot options (--append, --initrd, --dtb, --mem, --bare), and
 * saving / restoring the guest's state as a snapshot file (host/snapshot, as the CLI's
 * --save-on-exit / --restore), as v86's page offers.
 *
 * Errors are one line under the form: the file's name and what is wrong with it.
 */
import type { Vm, VmMode } from '../api';

const $ = <T extends HTMLElement = HTMLElement>(id: string): T => {
  const el = document.getElementById(id);
  if (!el) throw new Error(`demo page: #${id} missing`);
  return el as T;
};

/** The RISC-V Linux Image header's magics (Documentation/arch/riscv/boot-image-header.rst): "RISCV\0\0\0" at 0x30, "RSC\x05" at 0x38. */
function isRiscvImage(b: Uint8Array): boolean {
  const at = (off: number, s: string) => [...s].every((c, i) => b[off + i] === c.charCodeAt(0));
  return b.length >= 0x40 && at(0x30, 'RISCV\0\0\0') && at(0x38, 'RSC\x05');
}

/**
 * Why `bytes` cannot be booted, in one line, or undefined. The VMM and the machine take ELF64
 * files and raw kernels; the page accepts a raw file only when it is a RISC-V Linux Image (a
 * dropped text file or an HTML error page is almost certainly a mistake) or mode says raw.
 */
export function imageProblem(name: string, bytes: Uint8Array, memSize: number): string | undefined {
  if (bytes.length === 0) return `${name}: empty file`;
  const elf = bytes[0] === 0x7f && bytes[1] === 0x45 && bytes[2] === 0x4c && bytes[3] === 0x46;
  if (elf && bytes[4] !== 2) return `${name}: a 32-bit ELF (EI_CLASS ${bytes[4]}), wasmvisor runs RV64 ELF64 images`;
  if (!elf && !isRiscvImage(bytes)) {
    const head = [...bytes.slice(0, 4)].map((x) => x.toString(16).padStart(2, '0')).join(' ');
    return `${name}: not an ELF file nor a RISC-V Linux Image (starts with ${head})`;
  }
  if (bytes.length > memSize) return `${name}: ${mib(bytes.length)} does not fit in ${mib(memSize)} of guest RAM (raise mem)`;
  return undefined;
}

const mib = (n: number): string => (n >= 2 ** 20 ? `${(n / 2 ** 20).toFixed(n % 2 ** 20 === 0 ? 0 : 1)} MiB` : `${n} bytes`);

/** A File or a URL's body as bytes, with the name errors use. */
async function fetchBytes(src: File | string): Promise<{ name: string; bytes: Uint8Array }> {
  if (typeof src !== 'string') return { name: src.name, bytes: new Uint8Array(await src.arrayBuffer()) };
  let res: Response;
  try {
    res = await fetch(src);
  } catch (e) {
    throw new Error(`${src}: cannot fetch (${e instanceof Error ? e.message : String(e)}; a server of another origin must allow CORS)`);
  }
  if (!res.ok) throw new Error(`${src}: HTTP ${res.status}`);
  return { name: src.split('/').pop() || src, bytes: new Uint8Array(await res.arrayBuffer()) };
}

export interface OwnGuestHooks {
  /** Before a load: the page leaves Xen mode, clears the terminal and charts. */
  beforeLoad(label: string, mode: VmMode): void;
  /** Before a restore: the terminal and the charts start again (the snapshot has no screen). */
  beforeRestore(): void;
  /** After a load or restore attempt (focus the terminal). */
  afterLoad(): void;
}

/** Wire the form (#own-*) and the snapshot buttons (#save, #restore). */
export class OwnGuest {
  private readonly error = $('own-error');
  /** What the last own-guest boot was, for the snapshot's file name. */
  current = '';

  constructor(private readonly vm: Vm, private readonly hooks: OwnGuestHooks) {
    const kernel = $<HTMLInputElement>('own-file');
    kernel.onchange = () => { const f = kernel.files?.[0]; if (f) void this.boot(f); };
    $('own-boot-url').onclick = () => { const u = $<HTMLInputElement>('own-url').value.trim(); if (u) void this.boot(u); };
    // Drag and drop anywhere on the page.
    document.addEventListener('dragover', (e) => { e.preventDefault(); document.body.classList.add('dropping'); });
    document.addEventListener('dragleave', (e) => { if (e.relatedTarget === null) document.body.classList.remove('dropping'); });
    document.addEventListener('drop', (e) => {
      e.preventDefault();
      document.body.classList.remove('dropping');
      const f = e.dataTransfer?.files[0];
      if (f) void this.boot(f);
    });
    $('save').onclick = () => void this.saveState();
    const restore = $<HTMLInputElement>('restore-file');
    $('restore').onclick = () => restore.click();
    restore.onchange = () => { const f = restore.files?.[0]; restore.value = ''; if (f) void this.restoreState(f); };
  }

  /** Show a one-line error (empty: none). */
  showError(line: string): void {
    this.error.textContent = line;
    this.error.hidden = line === '';
  }

  /** Boot `src` (a File or a URL) with the form's options. */
  async boot(src: File | string): Promise<void> {
    this.showError('');
    const mode = $<HTMLSelectElement>('own-mode').value as VmMode;
    const memSize = Number($<HTMLSelectElement>('own-mem').value) * 2 ** 20;
    const append = $<HTMLInputElement>('own-append').value;
    const initrdFile = $<HTMLInputElement>('own-initrd').files?.[0];
    const dtbFile = $<HTMLInputElement>('own-dtb').files?.[0];
    try {
      const { name, bytes } = await fetchBytes(src);
      const why = imageProblem(name, bytes, memSize);
      if (why) throw new Error(why);
      const initrd = initrdFile ? new Uint8Array(await initrdFile.arrayBuffer()) : undefined;
      const dtb = dtbFile ? new Uint8Array(await dtbFile.arrayBuffer()) : undefined;
      this.current = name;
      this.hooks.beforeLoad(name, mode);
      await this.vm.load(bytes, { name, mode, memSize, ...(append !== '' ? { append } : {}), ...(initrd ? { initrd } : {}), ...(dtb ? { dtb } : {}) });
    } catch (e) {
      this.showError(oneLine(e));
    }
    this.hooks.afterLoad();
  }

  /** Save the guest's state and download it as NAME.wvsnap. */
  async saveState(): Promise<Uint8Array | undefined> {
    this.showError('');
    try {
      const bytes = await this.vm.save();
      const a = document.createElement('a');
      a.href = URL.createObjectURL(new Blob([bytes as BlobPart], { type: 'application/octet-stream' }));
      a.download = `${(this.current || 'guest').replace(/[^\w.-]+/g, '_')}.wvsnap`;
      a.click();
      setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
      return bytes;
    } catch (e) {
      this.showError(oneLine(e));
      return undefined;
    }
  }

  /** Restore a snapshot file into a fresh machine of the guest selected now. */
  async restoreState(f: File): Promise<void> {
    this.showError('');
    this.hooks.beforeRestore();
    try {
      await this.vm.restore(new Uint8Array(await f.arrayBuffer()), { name: f.name });
    } catch (e) {
      this.showError(oneLine(e));
    }
    this.hooks.afterLoad();
  }
}

const oneLine = (e: unknown): string => (e instanceof Error ? e.message : String(e)).split('\n')[0];
