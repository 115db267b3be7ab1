/**
 * A heap belongs to the thread that created it. Its allocators keep their state in the region and run
 * without locks, and the native region is unmapped by that thread's close(): another thread must
 * never hold it. Node's structured clone would otherwise try to copy a Heap handed to postMessage()
 * or `workerData` property by property, copying the whole region (up to 4 GiB) through its views
 * before it met a function it cannot clone, and then fail with a message naming that function.
 *
 * So a Heap, each of its domains and its system allocator have an `owner` property ahead of every
 * view and function they hold, a Symbol: structured clone refuses it before it copies anything large,
 * with a DataCloneError whose message is the Symbol's description, saying what happened and what to do.
 */
import { threadId } from 'node:worker_threads';

export function ownerMark(what: string): symbol {
  return Symbol(`pymem: ${what} belongs to the thread that created it (thread ${threadId}) and cannot be sent to another thread; create a heap in each worker`);
}

/** A shared heap's Heap object is its thread's too; the heap itself travels as heap.share()'s value. */
export function sharedOwnerMark(): symbol {
  return Symbol(`pymem: this SharedHeap is thread ${threadId}'s view of a shared heap and cannot be sent to another thread; send heap.share() and call attachHeap() there`);
}
