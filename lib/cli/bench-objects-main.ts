/**
 * The command line of one `pymem bench --objects` measurement (lib/cli/bench-objects-child.ts):
 * `node --expose-gc dist/cli/bench-objects-main.js FORM COUNT` prints one JSON line.
 */
import { measureObjects } from './bench-objects-child';

const [form, count] = process.argv.slice(2);
process.stdout.write(`${JSON.stringify(measureObjects(form, Number(count)))}\n`);
