# Text processing: words of the stdlib's docstrings counted with re and collections, then sorted.
import collections
import re
import _trace
import argparse, json, textwrap, dataclasses, pathlib

text = '\n'.join(obj.__doc__ or '' for module in (argparse, json, textwrap, dataclasses, pathlib) for obj in vars(module).values() if hasattr(obj, '__doc__') and isinstance(obj.__doc__, str))
_trace.start()
words = re.findall(r"[a-z']+", text.lower())
counts = collections.Counter(words)
pairs = collections.Counter(zip(words, words[1:]))
top = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:100]
report = '\n'.join(f'{w:>20} {n}' for w, n in top)
_trace.stop()
print(len(words), len(pairs), len(report))
