"""Records the block sizes of a real program, CPython 3.12 itself, for bench/obmalloc.mjs's second workload.

The program: importing a set of standard-library modules, then a JSON round trip of 20,000 small
records and a regular-expression and string workload over them. tracemalloc traces every live block
with its exact size; the histogram of those sizes (every block CPython's allocators hold at the end)
is written to bench/fixtures/cpython-size-mix.json as [[size, count], ...].

Run: PYENV_VERSION=3.12.1 python3.12 bench/obmalloc/cpython-size-mix.py
"""
import collections
import json
import os
import sys
import tracemalloc

tracemalloc.start()
import argparse, csv, decimal, email.parser, http.client, logging, pathlib, re, textwrap, xml.dom.minidom  # noqa: E401,F401

records = [{'id': i, 'name': 'item-%d' % i, 'tags': ['t%d' % (i % 7), 't%d' % (i % 11)], 'price': i * 0.25} for i in range(20000)]
data = json.loads(json.dumps(records))
index = {r['name']: r for r in data}
words = collections.Counter(w for r in data for w in re.findall(r'[a-z]+|\d+', r['name']))
lines = textwrap.wrap(' '.join(r['name'] for r in data[:2000]), 72)
snapshot = tracemalloc.take_snapshot()
tracemalloc.stop()

sizes = collections.Counter(trace.size for trace in snapshot.traces)
out = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'fixtures', 'cpython-size-mix.json')
with open(out, 'w') as f:
    json.dump({'python': sys.version.split()[0], 'blocks': sum(sizes.values()), 'histogram': sorted(sizes.items())}, f, separators=(',', ':'))
print('%d blocks, %d distinct sizes, %.1f%% <= 512 bytes' % (sum(sizes.values()), len(sizes), 100 * sum(c for s, c in sizes.items() if s <= 512) / sum(sizes.values())))
