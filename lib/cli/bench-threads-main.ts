/**
 * The command line of one `pymem bench --threads` measurement (lib/cli/bench-threads-child.ts):
 * `node dist/cli/bench-threads-main.js BACKEND SCENARIO PAIRS` prints one JSON line.
 */
import { measureThreads, type Scenario } from './bench-threads-child';

const [backend, scenario, pairs] = process.argv.slice(2);
measureThreads(backend as 'native' | 'fallback', scenario as Scenario, Number(pairs)).then((m) => process.stdout.write(`${JSON.stringify(m)}\n`));
