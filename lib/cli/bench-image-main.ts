/**
 * The command line of one `pymem bench --image` measurement (lib/cli/bench-image-child.ts):
 * `node dist/cli/bench-image-main.js FORM COUNT FILE save|open` prints one JSON line.
 */
import { measureImage } from './bench-image-child';

const [form, count, file, phase] = process.argv.slice(2);
process.stdout.write(`${JSON.stringify(measureImage(form, Number(count), file, phase))}\n`);
