# A web service's day: records built as dicts, serialised to JSON and parsed back, then filtered.
import json
import _trace

_trace.start()
records = [{'id': i, 'name': f'user-{i}', 'tags': ['alpha', 'beta', str(i % 7)], 'score': i * 0.25, 'active': i % 3 == 0} for i in range(600)]
for _ in range(2):
    text = json.dumps(records)
    records = json.loads(text)
active = [r for r in records if r['active'] and r['score'] > 10]
_trace.stop()
print(len(text), len(active))
