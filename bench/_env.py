"""The thread settings of a benchmark process, made before NumPy (OpenBLAS) and torch (OpenMP, MKL)
load: they read them once, at load time; and the pause between two implementations' turns."""
import os
import time


def pin_threads(threads, keep_openblas_env=False):
    """Give every library ``threads`` threads; unless ``keep_openblas_env``, drop the OpenBLAS kernel
    pins (``OPENBLAS_CORETYPE`` holds NumPy's OpenBLAS to an older kernel while torch picks its own)."""
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(threads)
    if not keep_openblas_env:
        for var in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):
            os.environ.pop(var, None)


def settle(limit=0.5):
    """Wait, untimed, until the process is idle.  After its last parallel call a thread pool keeps
    spinning: OpenBLAS' workers for about 0.1 s, PyTorch's OpenMP threads for about 8 ms (measured
    as the CPU time a sleep right after a PyTorch LSTM step uses).  Without the wait that tail
    runs into the next implementation's turn and slows it."""
    end = time.perf_counter() + limit
    while True:
        c0, w0 = time.process_time(), time.perf_counter()
        time.sleep(0.005)
        busy = (time.process_time() - c0) / (time.perf_counter() - w0)
        if busy < 0.1 or w0 > end:
            return
