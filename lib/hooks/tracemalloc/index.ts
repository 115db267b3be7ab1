/**
 * `pymem/tracemalloc`: CPython 3.12's tracemalloc classes, for snapshots taken with
 * heap.tracemalloc.takeSnapshot() or built by hand from raw traces.
 */
export { Frame, Traceback, Trace, Traces, Statistic, StatisticDiff, Snapshot, Filter, DomainFilter, BaseFilter } from './snapshot';
export type { RawFrame, RawTrace, KeyType } from './snapshot';
export type { Tracemalloc } from './tracer';
