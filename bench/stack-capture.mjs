// What tracemalloc's stack capture costs by itself: V8's Error.captureStackTrace below a boundary
// function, at a depth of 30 frames, for 2, 9 and 33 frames (tracemalloc captures nframe + 8), three
// ways: captured and never read (V8 then formats nothing), read as CallSites through a temporary
// Error.prepareStackTrace, and read with each site's file name and line, as lib/tracemalloc reads them.
//
//   node bench/stack-capture.mjs      prints microseconds per capture, each the mean of 200,000
function sitesOnly(_error, sites) {
  return sites;
}
function deep(n, f) {
  return n === 0 ? f() : deep(n - 1, f);
}
function boundary(f) {
  return f();
}
const N = 200_000;
let sink;
function time(name, capture) {
  deep(30, () => {
    for (let i = 0; i < 2_000; i++) capture();
  });
  const t0 = process.hrtime.bigint();
  deep(30, () => {
    for (let i = 0; i < N; i++) capture();
  });
  console.log(`${name.padEnd(40)} ${(Number(process.hrtime.bigint() - t0) / N / 1000).toFixed(2)} us`);
}
function sites(limit) {
  const prepare = Error.prepareStackTrace;
  Error.prepareStackTrace = sitesOnly;
  Error.stackTraceLimit = limit;
  const holder = {};
  Error.captureStackTrace(holder, boundary);
  const read = holder.stack;
  Error.prepareStackTrace = prepare;
  return read;
}
for (const limit of [2, 9, 33]) {
  time(`${limit} frames, captured only`, () =>
    boundary(() => {
      Error.stackTraceLimit = limit;
      const holder = {};
      Error.captureStackTrace(holder, boundary);
      sink = holder;
    }),
  );
  time(`${limit} frames, read as CallSites`, () => boundary(() => (sink = sites(limit))));
  time(`${limit} frames, with file names and lines`, () =>
    boundary(() => {
      let n = 0;
      for (const site of sites(limit)) n += (site.getFileName() ?? '').length + (site.getLineNumber() ?? 0);
      sink = n;
    }),
  );
}
