/**
 * Python's text for numbers and strings, where tracemalloc's str() and repr() use it: printf's %.Nf
 * (which rounds a tie to even, where Number.prototype.toFixed rounds it up), tracemalloc's
 * _format_size, and repr() of a str.
 */

/** printf's "%.{digits}f", with "%+" when `sign`: round-half-even on the exact binary value, as CPython. */
export function pyFixed(x: number, digits: number, sign = false): string {
  const scale = 10 ** digits;
  const scaled = x * scale;
  let text: string;
  // A tie is only possible when x * 10^digits is exact and ends in .5; then round to even.
  if (scaled / scale === x && Math.abs(scaled % 1) === 0.5) {
    const down = Math.trunc(scaled);
    const even = down % 2 === 0 ? down : down + Math.sign(scaled);
    text = (even / scale).toFixed(digits);
  } else {
    text = x.toFixed(digits);
  }
  return sign && !text.startsWith('-') ? `+${text}` : text;
}

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];

/** tracemalloc._format_size: 'B', 'KiB', ... with 3 or 4 significant digits; 'TiB' takes any size. */
export function formatSize(size: number, sign: boolean): string {
  for (const unit of UNITS) {
    if (Math.abs(size) < 100 && unit !== 'B') return `${pyFixed(size, 1, sign)} ${unit}`;
    if (Math.abs(size) < 10 * 1024) return `${pyFixed(size, 0, sign)} ${unit}`;
    size /= 1024;
  }
  // Past the loop the size is in TiB and at least 10,240 of them: the last unit takes any size.
  return `${pyFixed(size * 1024, 0, sign)} TiB`;
}

/** repr() of a str: single quotes unless the text holds one and no double quote. */
export function pyRepr(text: string): string {
  const quote = text.includes("'") && !text.includes('"') ? '"' : "'";
  let out = quote;
  for (const ch of text) {
    const code = ch.codePointAt(0)!;
    if (ch === quote || ch === '\\') out += `\\${ch}`;
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (code < 0x20 || code === 0x7f) out += `\\x${code.toString(16).padStart(2, '0')}`;
    else out += ch;
  }
  return out + quote;
}

/** printf's "%+i". */
export function signed(n: number): string {
  return n >= 0 ? `+${n}` : `${n}`;
}
