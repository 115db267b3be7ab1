# A tool that reads source code: stdlib modules parsed to ASTs, walked, and compiled to code objects.
import ast
import _trace
import textwrap

sources = [open(m.__file__, encoding='utf-8').read() for m in (textwrap,)]
_trace.start()
names = 0
for source in sources:
    tree = ast.parse(source)
    names += sum(isinstance(node, ast.Name) for node in ast.walk(tree))
    compile(tree, '<workload>', 'exec')
_trace.stop()
print(names)
