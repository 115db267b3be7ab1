# A test suite: CPython's own tests of textwrap, string and keyword run by unittest, as a project's CI
# runs its tests: test classes set up and torn down, assertion helpers, formatted messages built and
# dropped, templates and many short-lived containers.
import io
import unittest
import _trace
from test import test_keyword, test_string, test_textwrap

loader = unittest.TestLoader()
suite = unittest.TestSuite(loader.loadTestsFromModule(m) for m in (test_textwrap, test_string, test_keyword))
stream = io.StringIO()
_trace.start()
result = unittest.TextTestRunner(stream=stream, verbosity=0).run(suite)
_trace.stop()
print(result.testsRun, len(result.failures), len(result.errors), len(result.skipped))
