import { describe, expect, it } from 'vitest';
import { EXIT_TIME_SAMPLE, ExitStats, formatExitStats } from '../../host/vmm/stats';

describe('ExitStats', () => {
  it('interns reasons as stable small ids', () => {
    const s = new ExitStats();
    const a = s.id('SBI ecall (TIME set_timer)');
    const b = s.id('WFI (vCPU halts)');
    expect([a, b]).toEqual([0, 1]);
    expect(s.id('SBI ecall (TIME set_timer)')).toBe(a);
    expect(s.reason(b)).toBe('WFI (vCPU halts)');
  });

  it('samples the first exit of each reason and every EXIT_TIME_SAMPLE-th; counts every one; the mean is over the samples', () => {
    const s = new ExitStats();
    const hot = s.id('hot');
    const rare = s.id('rare');
    const sampledAt: number[] = [];
    for (let i = 0; i < 2 * EXIT_TIME_SAMPLE + 1; i++) {
      if (s.sampled(hot)) {
        sampledAt.push(i);
        s.count(hot, 100 * (sampledAt.length)); // 100, 200, 300 ns
      } else {
        s.count(hot);
      }
    }
    expect(sampledAt).toEqual([0, EXIT_TIME_SAMPLE, 2 * EXIT_TIME_SAMPLE]);
    expect(s.sampled(rare)).toBe(true);
    s.count(rare, 5000);
    expect(s.exits).toBe(2 * EXIT_TIME_SAMPLE + 2);
    expect(s.rows()).toEqual([
      { reason: 'hot', count: 2 * EXIT_TIME_SAMPLE + 1, share: ((2 * EXIT_TIME_SAMPLE + 1) / s.exits) * 100, meanNs: 200 },
      { reason: 'rare', count: 1, share: (1 / s.exits) * 100, meanNs: 5000 },
    ]);
  });

  it('clear() forgets the counts but keeps the ids; reasons with no exits are not rows', () => {
    const s = new ExitStats();
    const a = s.id('a');
    s.id('never');
    s.count(a, 10);
    s.count(a);
    s.clear();
    expect(s.rows()).toEqual([]);
    expect(s.exits).toBe(0);
    expect(s.sampled(a)).toBe(true);
    s.count(a, 30);
    expect(s.id('a')).toBe(a);
    expect(s.rows()).toEqual([{ reason: 'a', count: 1, share: 100, meanNs: 30 }]);
  });

  it('says in the table header that the host time is sampled', () => {
    const s = new ExitStats();
    s.count(s.id('SBI ecall (BASE get_spec_version)'), 250);
    const text = formatExitStats(s, 1000n, { walks1d: 0n, refs1d: 0n });
    expect(text.split('\n')[1]).toBe(`  reason                             count     share  mean host time (1 in ${EXIT_TIME_SAMPLE} timed)`);
    expect(text.split('\n')[2]).toBe('  SBI ecall (BASE get_spec_version)      1  100.00 %                          250 ns');
  });

  it('counts exits in bulk, untimed (in-core SBI), and shows their host time as -', () => {
    const s = new ExitStats();
    const t = s.id('SBI ecall (TIME set_timer)');
    s.countMany(t, 41);
    s.count(t);
    expect(s.exits).toBe(42);
    expect(s.rows()).toEqual([{ reason: 'SBI ecall (TIME set_timer)', count: 42, share: 100, meanNs: NaN }]);
    const text = formatExitStats(s, 1000n, { walks1d: 0n, refs1d: 0n });
    expect(text.split('\n')[2]).toBe('  SBI ecall (TIME set_timer)     42  100.00 %                               -');
  });
});
