/**
 * The command line of one bench measurement (lib/cli/bench-child.ts), run by the bench as a process
 * of its own: `node dist/cli/bench-child-main.js CONTENDER PROGRAM_FILE WARMUP_MS` prints one JSON line.
 */
import { readFileSync } from 'node:fs';
import { decodeProgram } from '../trace/binary';
import { measure } from './bench-child';

const [contender, file, warmMs] = process.argv.slice(2);
process.stdout.write(`${JSON.stringify(measure(contender, decodeProgram(readFileSync(file)), Number(warmMs)))}\n`);
