"""The thread settings of a benchmark process, made before NumPy (OpenBLAS) and torch (OpenMP, MKL)
load: they read them once, at load time."""
import os


def pin_threads(threads, keep_openblas_env=False):
    """Give every library ``threads`` threads; unless ``keep_openblas_env``, drop the OpenBLAS kernel
    pins (``OPENBLAS_CORETYPE`` holds NumPy's OpenBLAS to an older kernel while torch picks its own)."""
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(threads)
    if not keep_openblas_env:
        for var in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):
            os.environ.pop(var, None)
