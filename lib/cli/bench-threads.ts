/**
 * `pymem bench --threads`: one shared heap used from worker threads (lib/shared-heap.ts), in malloc/free
 * pairs per second, on each backend: one worker on a private heap of its own, one and two workers churning
 * thread-local blocks in one shared heap, and a producer thread whose blocks a consumer thread frees.
 * Each measurement runs in a process of its own (lib/cli/bench-threads-child.ts), rounds interleaved; the
 * ratios are of medians from the same run, the targets beside them:
 *
 *   shared / private, one thread    >= 0.85   (a shared heap costs a thread within 15%)
 *   two threads / one               >= 1.7    (threads do not wait for each other)
 *   producer/consumer / one thread  >= 0.5    (a hand-off costs at most half the rate)
 */
import { runChild } from './child';
import { median } from './median';
import { SCENARIOS, type Scenario, type ThreadMeasurement } from './bench-threads-child';

export const SCENARIO_LABELS: Record<Scenario, string> = {
  'private-1': '1 thread, a private heap of its own',
  'shared-1': '1 thread, a shared heap',
  'shared-2': '2 threads, one shared heap, each its own blocks',
  prodcons: '2 threads, one shared heap: one allocates, the other frees',
};

export interface ThreadResults {
  /** Pairs each churning thread runs (producer/consumer: blocks handed over). */
  pairs: number;
  rounds: number;
  /** Per backend and scenario, the median pairs per second over the rounds. */
  rates: Record<string, Record<Scenario, number>>;
}

/** Measures every scenario on each backend `rounds` times, rounds interleaved; `step` is told before each. */
export function runThreads(backends: readonly string[], pairs: number, rounds: number, step: (label: string) => void): ThreadResults {
  const samples: Record<string, Record<string, number[]>> = Object.fromEntries(backends.map((b) => [b, Object.fromEntries(SCENARIOS.map((s) => [s, []]))]));
  for (let r = 0; r < rounds; r++) {
    for (const backend of backends) {
      for (const scenario of SCENARIOS) {
        step(`threads: ${backend}, ${SCENARIO_LABELS[scenario]}, round ${r + 1} of ${rounds}`);
        samples[backend][scenario].push(runChild<ThreadMeasurement>('bench-threads-main', [backend, scenario, String(pairs)], `threads, ${backend}, ${scenario},`).pairsPerSecond);
      }
    }
  }
  const rates: Record<string, Record<Scenario, number>> = {};
  for (const backend of backends) rates[backend] = Object.fromEntries(SCENARIOS.map((s) => [s, median(samples[backend][s])])) as Record<Scenario, number>;
  return { pairs, rounds, rates };
}

/** The three ratios of a backend's rates, each with its target. */
export function threadRatios(rate: Record<Scenario, number>): { name: string; value: number; target: number }[] {
  return [
    { name: 'shared / private, 1 thread', value: rate['shared-1'] / rate['private-1'], target: 0.85 },
    { name: '2 threads / 1 thread, shared', value: rate['shared-2'] / rate['shared-1'], target: 1.7 },
    { name: 'producer/consumer / 1 thread, shared', value: rate.prodcons / rate['shared-1'], target: 0.5 },
  ];
}

/** The threads table: one row per scenario, a column of millions of pairs per second per backend, then the ratios. */
export function threadsTable(r: ThreadResults): string[][] {
  const backends = Object.keys(r.rates);
  const rows = [['scenario', ...backends.map((b) => `${b} M pairs/s`)]];
  for (const s of SCENARIOS) rows.push([SCENARIO_LABELS[s], ...backends.map((b) => (r.rates[b][s] / 1e6).toFixed(1))]);
  const ratios = backends.map((b) => threadRatios(r.rates[b]));
  ratios[0].forEach((ratio, k) => rows.push([`${ratio.name} (target ${ratio.target})`, ...ratios.map((rs) => `${rs[k].value.toFixed(2)}${rs[k].value >= rs[k].target ? '' : ' (below)'}`)]));
  return rows;
}

/** The sentence under the table. */
export function threadsSummary(r: ThreadResults): string {
  const missed = Object.entries(r.rates).flatMap(([backend, rate]) => threadRatios(rate).filter((x) => x.value < x.target).map((x) => `${x.name} on ${backend}`));
  return (
    `${r.pairs.toLocaleString('en-US')} pairs per thread, medians of ${r.rounds} rounds, every scenario in workers. ` +
    (missed.length === 0 ? 'Every target is met.' : `Below target: ${missed.join('; ')}.`)
  );
}
