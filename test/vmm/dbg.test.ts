import { it } from 'vitest';
import { parseImage } from '../../host/machine/loader';
import { Vm } from '../../host/vmm/vm';
import * as E from '../diff/encode';
import { Asm } from './asm';
it('dbg', async () => {
  const S1 = 9, T0 = 5, T1 = 6, T2 = 7, A0 = 10, A7 = 17;
  const a = new Asm(0x80200000n);
  a.emit(E.aluI('addi', S1, 0, 0), E.aluI('addi', T0, 0, 0)).li64(T1, 600000n);
  a.emit(E.aluI('addi', A0, T1, 0), E.aluI('addi', A7, 0, 1), 0x73, E.jal(0,0));
  const img = a.finish(4096);
  console.log(Buffer.from(img.slice(0, 40)).toString('hex'));
  const tr: string[] = [];
  const vm = await Vm.create({ memSize: Number(process.env.MEM ?? 4) << 20, kernel: parseImage(img, 'b.bin', 0x80200000n), deterministic: true, onTraceExit: (l) => tr.push(l) });
  const r = await vm.run({ maxInstructions: 1000n });
  console.log(r, tr);
});
