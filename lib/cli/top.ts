/**
 * pymem top: a tracemalloc snapshot file's top statistics, printed as the tracemalloc documentation's
 * "Display the top 10" example prints them:
 *
 *   snapshot = tracemalloc.take_snapshot()
 *   top_stats = snapshot.statistics('lineno')
 *   print("[ Top 10 ]")
 *   for stat in top_stats[:10]:
 *       print(stat)
 */
import { Snapshot, type KeyType } from '../hooks/tracemalloc/snapshot';
import { UsageError, type Command } from './args';

export const topCommand: Command = {
  summary: "print a tracemalloc snapshot's top statistics",
  usage: `Usage: pymem top FILE [options]

Reads a snapshot written by heap.tracemalloc.takeSnapshot().dump(FILE) and prints its largest
statistics, one line each ("file:line: size=..., count=..., average=..."), under "[ Top N ]".

Options:
  --limit N                        how many statistics (default: 10)
  --key lineno|filename|traceback  how to group the traces (default: lineno)
  --cumulative                     count every frame of each trace, not only the most recent
  -h, --help                       this text`,
  options: {
    limit: { type: 'string', default: '10' },
    key: { type: 'string', default: 'lineno' },
    cumulative: { type: 'boolean', default: false },
  },
  run(values, positionals, io) {
    if (positionals.length !== 1) throw new UsageError(positionals.length === 0 ? 'a snapshot FILE is needed' : `unexpected argument '${positionals[1]}'`);
    const limit = Number(values.limit);
    if (!(Number.isInteger(limit) && limit >= 1)) throw new UsageError(`--limit must be a whole number from 1; got '${values.limit}'`);
    const key = values.key as KeyType;
    if (!['lineno', 'filename', 'traceback'].includes(key)) throw new UsageError(`--key must be lineno, filename or traceback; got '${key}'`);
    if (values.cumulative && key === 'traceback') throw new UsageError('--cumulative cannot be used with --key traceback');
    const stats = Snapshot.load(positionals[0]).statistics(key, values.cumulative as boolean);
    const lines = [`[ Top ${limit} ]`, ...stats.slice(0, limit).map((stat) => (key === 'traceback' ? [String(stat), ...stat.traceback.format()].join('\n') : String(stat)))];
    io.stdout.write(`${lines.join('\n')}\n`);
    return 0;
  },
};
