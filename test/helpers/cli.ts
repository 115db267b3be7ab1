// The pymem command run in this process, with its output kept, for the CLI's tests.
import { main } from '../../lib/cli/main';

/** An Io that keeps what is written; stderr is a terminal when `tty`. */
export function capture(tty = false) {
  const io = { out: '', err: '', stdout: { write: (s: string) => (io.out += s) }, stderr: { isTTY: tty, write: (s: string) => (io.err += s) } };
  return io;
}

/** `pymem ...argv`: its exit status and what it wrote to stdout and stderr. */
export function pymem(...argv: string[]): { status: number; stdout: string; stderr: string } {
  const io = capture();
  const status = main(argv, io);
  return { status, stdout: io.out, stderr: io.err };
}
