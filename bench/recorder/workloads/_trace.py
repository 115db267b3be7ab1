# Starts and stops the LD_PRELOAD recorder (bench/recorder/record.c) around a workload; a no-op when
# the recorder is not loaded, so each workload also runs on its own.
import ctypes

_lib = ctypes.CDLL(None)
start = getattr(_lib, 'pymem_trace_start', lambda: None)
stop = getattr(_lib, 'pymem_trace_stop', lambda: None)
