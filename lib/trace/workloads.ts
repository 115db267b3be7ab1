/**
 * The built-in workloads of the pymem command, each a TraceProgram: the traces recorded from CPython
 * that ship in bench/traces/, and synthetic ones generated from a fixed seed (so every run, and both
 * backends, replay the same events):
 *
 *   small     10,000 random small blocks live (8..512 bytes: all 32 size classes, pymalloc's worst
 *             case), then 200,000 times a random one freed and a new one allocated
 *   sweep     sizes doubling from 16 B to 4 MiB, 64 blocks each, every other one freed
 *   realloc   5,000 buffers grown by realloc, 1.5x a step, from 16 B to 64 KiB, as a list grows
 *   large     raw large blocks of 1 to 8 MiB, allocated and freed in a sliding window of 16
 *
 * Each leaves some blocks live at the end, so that `pymem stats` and `pymem map` have a heap to show.
 */
import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { OP_FREE, OP_MALLOC, OP_REALLOC, parseTrace, type TraceProgram } from './format';

/** bench/traces/, from lib/trace (sources) and dist/trace (compiled) alike. */
export const TRACES_DIR = path.resolve(__dirname, '..', '..', 'bench', 'traces');

/** Builds a program event by event; IDs are the slots. */
class Builder {
  private op: number[] = [];
  private slot: number[] = [];
  private a: number[] = [];
  private live = new Map<number, number>();
  private blocks = 0;
  private bytes = 0;
  private peakBlocks = 0;
  private peakBytes = 0;

  malloc(size: number): number {
    const id = this.blocks++;
    this.push(OP_MALLOC, id, size);
    this.live.set(id, size);
    this.note(size);
    return id;
  }

  realloc(id: number, size: number): void {
    this.push(OP_REALLOC, id, size);
    this.note(size - this.live.get(id)!);
    this.live.set(id, size);
  }

  free(id: number): void {
    this.push(OP_FREE, id, 0);
    this.note(-this.live.get(id)!);
    this.live.delete(id);
  }

  build(): TraceProgram {
    const length = this.op.length;
    return {
      length,
      op: Uint8Array.from(this.op),
      slot: Uint32Array.from(this.slot),
      a: Float64Array.from(this.a),
      b: new Float64Array(length),
      slots: this.blocks,
      peakBlocks: this.peakBlocks,
      peakBytes: this.peakBytes,
      liveBlocks: this.live.size,
    };
  }

  private push(op: number, id: number, a: number): void {
    this.op.push(op);
    this.slot.push(id);
    this.a.push(a);
  }

  private note(bytes: number): void {
    this.bytes += bytes;
    this.peakBlocks = Math.max(this.peakBlocks, this.live.size);
    this.peakBytes = Math.max(this.peakBytes, this.bytes);
  }
}

/** mulberry32: a seeded PRNG, so a workload is the same events on every run (the tests use it too). */
export function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    let t = (state = (state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SEED = 20261124;

const SYNTHETIC: Record<string, (scale: number) => TraceProgram> = {
  small(scale) {
    const rng = random(SEED);
    const t = new Builder();
    const size = () => 8 + Math.floor(rng() * 505);
    const live = Array.from({ length: 10_000 }, () => t.malloc(size()));
    for (let i = 0; i < Math.round(200_000 * scale); i++) {
      const k = Math.floor(rng() * live.length);
      t.free(live[k]);
      live[k] = t.malloc(size());
    }
    return t.build();
  },
  sweep(scale) {
    const t = new Builder();
    const per = Math.max(2, Math.round(64 * scale));
    for (let size = 16; size <= 4 << 20; size *= 2) {
      const ids = Array.from({ length: per }, () => t.malloc(size));
      ids.forEach((id, i) => i % 2 === 1 && t.free(id));
    }
    return t.build();
  },
  realloc(scale) {
    const t = new Builder();
    const ids = Array.from({ length: Math.round(5000 * scale) }, () => t.malloc(16));
    for (let size = 16; size < 64 << 10; ) {
      size = Math.min(64 << 10, Math.ceil(size * 1.5));
      for (const id of ids) t.realloc(id, size);
    }
    ids.forEach((id, i) => i % 4 !== 0 && t.free(id));
    return t.build();
  },
  large(scale) {
    const rng = random(SEED);
    const t = new Builder();
    const window: number[] = [];
    for (let i = 0; i < Math.round(400 * scale); i++) {
      window.push(t.malloc((1 + Math.floor(rng() * 8)) << 20));
      if (window.length > 16) t.free(window.splice(Math.floor(rng() * window.length), 1)[0]);
    }
    return t.build();
  },
};

/** Names of the traces shipped in bench/traces/ (file names without .trace.gz). */
export function recordedTraces(): string[] {
  return readdirSync(TRACES_DIR)
    .filter((f) => f.endsWith('.trace.gz'))
    .map((f) => f.slice(0, -'.trace.gz'.length))
    .sort();
}

/** Every built-in workload's name: the synthetic ones, then the recorded traces. */
export function workloadNames(): string[] {
  return [...Object.keys(SYNTHETIC), ...recordedTraces()];
}

/**
 * A workload by name, or a trace file by path (anything with a '/' or ending in .trace or .trace.gz).
 * `scale` shrinks or grows a synthetic workload's counts (the tests use small ones). Undefined when
 * the name is neither.
 */
export function loadWorkload(name: string, scale = 1): TraceProgram | undefined {
  if (name.includes('/') || name.endsWith('.trace') || name.endsWith('.trace.gz')) return parseTrace(readFileSync(name), name);
  if (Object.hasOwn(SYNTHETIC, name)) return SYNTHETIC[name](scale);
  if (recordedTraces().includes(name)) {
    const file = path.join(TRACES_DIR, `${name}.trace.gz`);
    return parseTrace(readFileSync(file), file);
  }
  return undefined;
}
