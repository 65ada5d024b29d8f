/**
 * The target description GDB reads with qXfer:features:read (GDB manual, appendix G "Target
 * Descriptions"; G.5.6 "RISC-V Features"): the features and register numbers QEMU's riscv
 * stub uses, so GDB's riscv code recognizes every register:
 *
 *   org.gnu.gdb.riscv.cpu      x0..x31 (ABI names), pc           regnum 0..32
 *   org.gnu.gdb.riscv.fpu      f0..f31 (ABI names)               regnum 33..64
 *                              fflags, frm, fcsr                 regnum 66, 67, 68 (65 + CSR number)
 *   org.gnu.gdb.riscv.csr      the target's CSRs                 regnum 65 + CSR number
 *   org.gnu.gdb.riscv.virtual  priv (0 U, 1 S, 3 M)              regnum 4161
 */
import type { DebugTarget } from './target';

export const REG_PC = 32;
export const REG_F0 = 33;
export const REG_CSR0 = 65;
export const REG_PRIV = 4161;

export const XREG_NAMES = ['zero', 'ra', 'sp', 'gp', 'tp', 't0', 't1', 't2', 'fp', 's1', 'a0', 'a1', 'a2', 'a3', 'a4', 'a5', 'a6', 'a7',
  's2', 's3', 's4', 's5', 's6', 's7', 's8', 's9', 's10', 's11', 't3', 't4', 't5', 't6'];
export const FREG_NAMES = ['ft0', 'ft1', 'ft2', 'ft3', 'ft4', 'ft5', 'ft6', 'ft7', 'fs0', 'fs1', 'fa0', 'fa1', 'fa2', 'fa3', 'fa4', 'fa5',
  'fa6', 'fa7', 'fs2', 'fs3', 'fs4', 'fs5', 'fs6', 'fs7', 'fs8', 'fs9', 'fs10', 'fs11', 'ft8', 'ft9', 'ft10', 'ft11'];
/** fflags, frm, fcsr: in the fpu feature, 32 bits wide (as QEMU). */
export const FP_CSRS = [1, 2, 3];

const xml = (body: string, feature: string) => `<?xml version="1.0"?>\n<!DOCTYPE feature SYSTEM "gdb-target.dtd">\n<feature name="org.gnu.gdb.riscv.${feature}">\n${body}</feature>\n`;

/** The documents by annex name (target.xml and the files it includes). */
export function targetXml(t: DebugTarget): Map<string, string> {
  const docs = new Map<string, string>();
  docs.set('target.xml', '<?xml version="1.0"?>\n<!DOCTYPE target SYSTEM "gdb-target.dtd">\n<target>\n<architecture>riscv:rv64</architecture>\n' +
    ['riscv-64bit-cpu.xml', 'riscv-64bit-fpu.xml', 'riscv-64bit-csr.xml', 'riscv-64bit-virtual.xml'].map((f) => `<xi:include href="${f}"/>\n`).join('') + '</target>\n');
  let cpu = '';
  XREG_NAMES.forEach((n, i) => { cpu += `<reg name="${n}" bitsize="64" type="${i === 1 ? 'code_ptr' : i === 2 || i === 8 ? 'data_ptr' : 'int'}" regnum="${i}"/>\n`; });
  cpu += `<reg name="pc" bitsize="64" type="code_ptr" regnum="${REG_PC}"/>\n`;
  docs.set('riscv-64bit-cpu.xml', xml(cpu, 'cpu'));
  let fpu = '<union id="riscv_double">\n<field name="float" type="ieee_single"/>\n<field name="double" type="ieee_double"/>\n</union>\n';
  FREG_NAMES.forEach((n, i) => { fpu += `<reg name="${n}" bitsize="64" type="riscv_double" regnum="${REG_F0 + i}"/>\n`; });
  for (const c of FP_CSRS) fpu += `<reg name="${t.csrs.get(c)?.name}" bitsize="32" type="int" regnum="${REG_CSR0 + c}" group="float"/>\n`;
  docs.set('riscv-64bit-fpu.xml', xml(fpu, 'fpu'));
  let csr = '';
  for (const c of [...t.csrs.values()].sort((a, b) => a.num - b.num)) {
    if (FP_CSRS.includes(c.num)) continue;
    csr += `<reg name="${c.name}" bitsize="64" type="int" regnum="${REG_CSR0 + c.num}" group="csr"/>\n`;
  }
  docs.set('riscv-64bit-csr.xml', xml(csr, 'csr'));
  docs.set('riscv-64bit-virtual.xml', xml(`<reg name="priv" bitsize="64" type="int" regnum="${REG_PRIV}"/>\n`, 'virtual'));
  return docs;
}
