"""Where the trials run: in this process, on joblib's loky worker processes, or on a Dask cluster.

Each backend takes the search's :class:`~chainrule.search.trial.Bundle` (data, folds, build,
fit arguments: shipped once per worker) and a list of tasks, and calls ``on_result(record)``
in the driver as each trial finishes, in any order.  Only the driver writes the journal.

* ``sequential``: one trial after another here, with the BLAS/OpenMP threads limited by
  threadpoolctl for the duration of the search.
* ``loky``: ``joblib.Parallel(backend='loky', return_as='generator_unordered')``; joblib reuses
  its warm worker processes between searches and memory-maps large arrays instead of copying
  them into every task.  Each worker limits its BLAS threads with threadpoolctl.  When a worker
  dies (a crash, the kernel's OOM killer), the trials that were in flight are run again one at a
  time; one that kills its worker a second time is recorded as failed.
* ``dask``: Dask futures on a ``distributed.Client`` (one you pass, a scheduler address, or a
  LocalCluster started here).  The bundle goes to every worker once, as a worker plugin (see
  :func:`_bundle_plugin`), so that a worker that joins later, or one that the nanny restarts after a
  crash, gets it too; the tasks depend on nothing.  The search takes it off the workers when it
  ends; one whose driver was killed leaves it there, and the next search on that cluster removes
  it (its client is gone).  Short trials run several to a task (see
  :meth:`DaskBackend.run`).  The scheduler reruns a task whose worker died on another worker
  (``allowed-failures``: 1 on a LocalCluster started here, the cluster's own setting otherwise)
  and then reports it as a killer; the search runs such a trial once more alone before recording
  it as failed (see :meth:`DaskBackend.run`).  The scheduler recomputes a finished result that
  was lost with its worker.
  A LocalCluster started here also leaves the workers' profiler off (``LOCAL_CLUSTER_CONFIG``).
"""
from __future__ import annotations

import math
import os
import socket
import sys
import uuid

from typing import TYPE_CHECKING, Any, Callable, Literal, Sequence, Union

from chainrule.search.space import jsonable
from chainrule.search.trial import Bundle, Task, run_trial, run_trials

if TYPE_CHECKING:
    from distributed import Client, SpecCluster

__all__ = ["cpu_count", "SequentialBackend", "LokyBackend", "DaskBackend", "get_backend"]

#: Dask settings of a LocalCluster started here: a task whose worker died is retried once; the
#: workers' statistical profiler (a stack sample every 10 ms, for the dashboard, which is off) is
#: off: it cost about a fifth of the workers' CPU time on the notes' digits grid; and the worker
#: processes start with glibc's default malloc, not Dask's ``MALLOC_TRIM_THRESHOLD_=65536`` (which
#: also fixes the mmap threshold at 128 KiB): that setting hands freed memory back to the kernel
#: after nearly every NumPy temporary and takes it back with a page fault per 4 KiB, about 12,000
#: faults a trial, which nearly doubled a trial's CPU time (7.7 s of CPU instead of 4.1 s for the
#: digits grid on one worker, 2.5 s of it in the kernel).  A worker of another cluster gets the
#: same during each trial from :func:`chainrule.search.trial.run_trial`.  The BLAS thread limits
#: of Dask's default stay.  The event loops' housekeeping wakes up less often: the blocked-loop
#: check every 500 ms instead of 20 ms, the dashboard's system monitor every 5 s instead of
#: 500 ms, the nannies' memory check every second instead of 100 ms: an idle 2-worker cluster
#: then takes about 1% of a core in the driver (scheduler and nannies) and 0.5% per worker
#: instead of 6% and 3%, CPU that competes with the trials on a small machine.
LOCAL_CLUSTER_CONFIG = {"distributed.scheduler.allowed-failures": 1, "distributed.worker.profile.enabled": False,
                        "distributed.scheduler.active-memory-manager.start": False,
                        "distributed.nanny.pre-spawn-environ": {"OMP_NUM_THREADS": 1, "MKL_NUM_THREADS": 1,
                                                                "OPENBLAS_NUM_THREADS": 1},
                        "distributed.admin.tick.interval": "500ms",
                        "distributed.admin.system-monitor.interval": "5s",
                        "distributed.worker.memory.monitor-interval": "1s"}


def cpu_count() -> int:
    """Cores this process may use (affinity and cgroup quotas included), as joblib counts them."""
    try:
        from joblib import cpu_count as _cpu
        return max(1, int(_cpu()))
    except ImportError:  # pragma: no cover - joblib comes with scikit-learn
        return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)


def _cores_and_host():
    return cpu_count(), socket.gethostname()


def _died(task, message):
    return {"key": task.key, "candidate": task.candidate, "fold": task.fold, "params": jsonable(task.params),
            "seed": task.seed, "status": "failed", "test_score": None, "train_score": None, "fit_time": None,
            "score_time": None, "history": None, "error": message, "traceback": None, "warnings": [],
            "worker": None, **({"rung": task.rung, "n_resources": task.n_resources} if task.rung is not None else {})}


class SequentialBackend:
    """Trials run one after another in this process (``backend='sequential'``), BLAS limited to
    ``threads``."""

    name = "sequential"

    def __init__(self, threads: int) -> None:
        self.threads = threads
        self.n_workers = 1

    def describe(self) -> str:
        """Return a one-line description of where trials run."""
        return f"this process, {self.threads} BLAS thread{'s' if self.threads != 1 else ''} ({cpu_count()} cores)"

    def run(self, bundle: Bundle, tasks: Sequence[Task], on_result: Callable[[dict[str, Any]], None]) -> None:
        """Run the trials one after another in this process, passing each result to ``on_result``."""
        from threadpoolctl import threadpool_limits
        with threadpool_limits(limits=self.threads):
            for t in tasks:
                on_result(run_trial(bundle, t))

    def close(self) -> None:
        """Release resources; there are none to release."""
        pass


class LokyBackend:
    """Trials on joblib's loky worker processes (``backend='loky'``): large arrays travel as memory
    maps, one trial is queued behind each running one."""

    name = "loky"

    #: arrays larger than this go to the workers as memory maps of one file each, not in every task
    MEMMAP_BYTES = 1 << 20

    def __init__(self, n_workers: int, threads: int) -> None:
        self.n_workers, self.threads = n_workers, threads
        self._folder = None
        self._shared = None

    def _share(self, bundle):
        """The bundle with its large arrays replaced by read-only memory maps of .npy files (written once):
        joblib then sends the workers a file name instead of pickling (and hashing) the data per task."""
        if self._shared is not None and self._shared[0] is bundle:
            return self._shared[1]
        import copy
        import tempfile
        import numpy as np
        shared = copy.copy(bundle)
        for name in ("X", "y", "X_val", "y_val"):
            a = getattr(bundle, name)
            if isinstance(a, np.ndarray) and a.nbytes > self.MEMMAP_BYTES and a.dtype.kind in "biuf":
                if self._folder is None:
                    self._folder = tempfile.mkdtemp(prefix="chainrule-search-")
                path = os.path.join(self._folder, f"{name}.npy")
                np.save(path, a, allow_pickle=False)
                setattr(shared, name, np.load(path, mmap_mode="r", allow_pickle=False))
        self._shared = (bundle, shared)
        return shared

    def describe(self) -> str:
        """Return a one-line description of the worker processes and threads."""
        return (f"{self.n_workers} loky worker process{'es' if self.n_workers != 1 else ''} x {self.threads} "
                f"BLAS thread{'s' if self.threads != 1 else ''} ({cpu_count()} cores)")

    def _parallel(self, n_jobs, tasks, bundle):
        from joblib import Parallel, delayed, parallel_config
        with parallel_config(backend="loky", inner_max_num_threads=self.threads):
            # one trial queued behind each running one: a worker that finishes starts the next at once instead
            # of idling while its result travels to the driver and the driver sends the next task
            par = Parallel(n_jobs=n_jobs, return_as="generator_unordered", batch_size=1, pre_dispatch="2*n_jobs")
        return par(delayed(run_trial)(bundle, t, "process") for t in tasks)

    def run(self, bundle: Bundle, tasks: Sequence[Task], on_result: Callable[[dict[str, Any]], None]) -> None:
        """Run the trials in loky worker processes, passing each result to ``on_result`` as it arrives."""
        from joblib.externals.loky.process_executor import TerminatedWorkerError
        bundle = self._share(bundle)
        pending = list(tasks)
        # joblib runs n_jobs=1 in this process: one worker of loky's own is asked for with n_jobs=2 and
        # fed one trial at a time, so that a crash stays away from the driver
        n_jobs = self.n_workers if self.n_workers > 1 else 2
        while pending:
            dispatched, returned = [], set()

            def feed():
                for t in pending:
                    dispatched.append(t)
                    yield t
            try:
                if self.n_workers == 1:
                    for t in feed():
                        for rec in self._parallel(n_jobs, [t], bundle):
                            returned.add(rec["key"])
                            on_result(rec)
                else:
                    for rec in self._parallel(n_jobs, feed(), bundle):
                        returned.add(rec["key"])
                        on_result(rec)
                pending = []
            except TerminatedWorkerError as err:
                suspects = [t for t in dispatched if t.key not in returned]
                done = returned | {t.key for t in suspects}
                pending = [t for t in pending if t.key not in done]
                for t in suspects:  # each alone: a second death is its own
                    try:
                        for rec in self._parallel(2, [t], bundle):
                            on_result(rec)
                    except TerminatedWorkerError as err2:
                        on_result(_died(t, "the worker process died while running this trial, twice "
                                           f"(exit codes {_exit_codes(err)}, then {_exit_codes(err2)})"))

    def close(self) -> None:
        """Drop the shared data and delete its temporary folder."""
        self._shared = None
        if self._folder is not None:
            import shutil
            shutil.rmtree(self._folder, ignore_errors=True)
            self._folder = None


def _exit_codes(err):
    text = str(err)
    i = text.find("exit codes of the workers are")
    return text[i + len("exit codes of the workers are"):].split("\n")[0].strip() if i >= 0 else "exit code unknown"


def _bundle_plugin(bundle):
    """A Dask worker plugin that holds the search's bundle.

    The scheduler keeps the plugin and hands it to every worker, the ones there now and any that
    join or are restarted later, before that worker runs a task.  The bundle was a scattered
    future before: a trial that killed each worker in turn (a segfault, the OOM killer) then took
    every copy of it down, and Dask cancelled every task that depended on it, finished or not,
    which stopped the search.  Tasks that depend on nothing are simply run again.
    """
    from distributed.diagnostics.plugin import WorkerPlugin

    class BundlePlugin(WorkerPlugin):
        def __init__(self, bundle):
            self.bundle = bundle

    return BundlePlugin(bundle)


#: the names of the bundles' worker plugins: this prefix, the id of the client that registered one, a run id
_BUNDLE = "chainrule-bundle-"


def _stale_bundles(dask_scheduler=None):
    """On the scheduler: the bundle plugins whose client is gone (a driver killed mid-search, which
    could not take its bundle off the workers), so that the next search removes them."""
    live = set(dask_scheduler.clients)
    return [n for n in dask_scheduler.worker_plugins
            if n.startswith(_BUNDLE) and n[len(_BUNDLE):].rsplit("-", 1)[0] not in live]


def _run_shipped(name, group):
    """Run a group of trials on a Dask worker with the bundle its plugin ``name`` holds."""
    from distributed import get_worker
    return run_trials(get_worker().plugins[name].bundle, group, "trial")


class DaskBackend:
    """Trials as Dask futures (``backend='dask'``) on a Client you pass, a scheduler address, or a
    LocalCluster the search starts and closes; the data go to each worker once per search."""

    name = "dask"

    def __init__(self, scheduler: Client | SpecCluster | str | None, n_workers: int, threads: int,
                 quiet: bool = False) -> None:
        try:
            from distributed import Client
        except ImportError:
            raise ImportError("backend='dask' needs Dask distributed: pip install 'chainrule[dask]'") from None
        self.threads = threads
        self._own_client = self._own_cluster = self._shipped = None
        if scheduler is None:
            import dask
            from distributed import LocalCluster
            with dask.config.set(LOCAL_CLUSTER_CONFIG):
                self._own_cluster = LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True,
                                                 host="127.0.0.1", dashboard_address=None)
            self.client = self._own_client = Client(self._own_cluster)
        elif isinstance(scheduler, Client):
            self.client = scheduler
        elif isinstance(scheduler, str) or hasattr(scheduler, "scheduler_address"):
            self.client = self._own_client = Client(scheduler)
        else:
            raise TypeError(f"scheduler: expected a dask.distributed Client, a cluster or an address such as "
                            f"'tcp://host:8786', got {type(scheduler).__name__}")
        info = self.client.scheduler_info()
        workers = info.get("workers", {})
        if not workers:
            raise RuntimeError(f"the Dask scheduler {self.client.scheduler.address} has no workers; start some "
                               f"(dask worker {self.client.scheduler.address}) and run the search again")
        self.n_workers = len(workers)
        cores = self.client.run(_cores_and_host)
        per_host = {}
        for addr, (n, host) in cores.items():
            h = per_host.setdefault(host, {"cores": n, "workers": 0})
            h["workers"] += 1
        self.hosts = per_host
        self.address = self.client.scheduler.address
        over = [h for h, v in per_host.items() if v["workers"] * threads > v["cores"]]
        if over and not quiet:
            print(f"chainrule.search: warning: on {', '.join(over)} the Dask workers x {threads} BLAS threads "
                  f"exceed the cores; start fewer worker processes there or pass threads=1", file=sys.stderr)

    def describe(self) -> str:
        """Return a one-line description of the Dask cluster and its workers."""
        hosts = ", ".join(f"{h}: {v['workers']} worker{'s' if v['workers'] != 1 else ''}/{v['cores']} cores"
                          for h, v in self.hosts.items())
        return (f"Dask at {self.address}: {self.n_workers} worker process{'es' if self.n_workers != 1 else ''} x "
                f"{self.threads} BLAS thread{'s' if self.threads != 1 else ''} ({hosts})")

    #: trials shorter than this run several to a Dask task, so that a task lasts about this long (seconds)
    TASK_SECONDS = 0.25
    #: at most this many trials to a task
    MAX_GROUP = 16

    def run(self, bundle: Bundle, tasks: Sequence[Task], on_result: Callable[[dict[str, Any]], None]) -> None:
        """Run the trials on the Dask cluster, passing each result to ``on_result`` as its task completes.

        A Dask task costs the scheduler and the worker's event loop about 30 ms of CPU here
        (submitting, queuing, running, fetching the result), a third of a trial of the notes'
        digits grid.  So the first ``2 x workers`` trials go one to a task, and the rest in groups
        sized from the trials seen so far to last about :attr:`TASK_SECONDS`; a trial longer than
        that is always a task of its own.  A group's records reach the driver when the group
        ends, so an interrupted driver loses at most that much finished work; a group whose
        worker died is run again one trial to a task.

        When a worker dies, the scheduler counts the death against every task it had sent there,
        the one running and any waiting behind it, so a trial can be reported as a killer
        (``KilledWorker``) for deaths it only witnessed.  Such a trial runs once more alone, with
        nothing else on the cluster (the tasks in flight finish first, nothing new starts), and is
        recorded as failed only if its workers die again.
        """
        from distributed import as_completed
        client = self.client
        run_id = uuid.uuid4().hex[:8]
        if self._shipped is None or self._shipped[0] is not bundle:  # once per search, for every rung
            self._release_bundle()
            for stale in client.run_on_scheduler(_stale_bundles):
                client.unregister_worker_plugin(stale)
            name = f"{_BUNDLE}{client.id}-{run_id}"
            client.register_plugin(_bundle_plugin(bundle), name=name)
            self._shipped = (bundle, name)
        name = self._shipped[1]
        pending = list(tasks)
        pending.reverse()                      # pop() takes them in the search's order
        groups, futures, times = {}, [], []
        suspects, alone = [], set()            # trials reported as killers; the key of the one running alone
        ac = as_completed()
        count = [0]

        def submit(group):
            count[0] += 1
            key = f"chainrule-trials-{group[0].key}-{len(group)}-{run_id}-{count[0]}"
            f = client.submit(_run_shipped, name, group, key=key, pure=False)
            groups[f.key] = group
            futures.append(f)
            ac.add(f)

        def top_up():
            if suspects or alone:             # a suspect runs alone: once the cluster is empty
                if suspects and not alone and ac.count() == 0:
                    submit([suspects.pop(0)])
                    alone.add(futures[-1].key)
                return
            while pending and ac.count() < 2 * self.n_workers:
                size = self._group_size(times, len(pending))
                submit([pending.pop() for _ in range(min(size, len(pending)))])

        try:
            top_up()
            for f in ac:
                group = groups.pop(f.key)
                try:
                    recs = f.result()
                except Exception as err:
                    if type(err).__name__ != "KilledWorker":
                        raise RuntimeError(f"lost the Dask cluster at {self.address}: {type(err).__name__}: "
                                           f"{err}") from err
                    if len(group) > 1:    # which trial killed it is unknown: each again on its own
                        pending.extend(reversed(group))
                        times.append(math.inf)    # and no more groups: a crash is worth isolating
                        f.release()
                        top_up()
                        continue
                    if f.key not in alone:    # perhaps a witness of another trial's crash: once more alone
                        suspects.append(group[0])
                        f.release()
                        top_up()
                        continue
                    alone.discard(f.key)
                    recs = [_died(group[0], f"every Dask worker that ran this trial died, also when it ran alone: "
                                            f"{err}")]
                alone.discard(f.key)
                for rec in recs:
                    if rec.get("fit_time") is not None:
                        times.append(rec["fit_time"] + (rec.get("score_time") or 0.0))
                    on_result(rec)
                f.release()
                top_up()
        finally:
            client.cancel([f for f in futures if not f.done()])

    def _group_size(self, times, left):
        """Trials per task from the durations seen so far: 1 until 2 x workers trials have finished,
        and never more than an even share of the ``left`` trials (so that the last tasks end together)."""
        if len(times) < 2 * self.n_workers or math.inf in times:
            return 1
        typical = sorted(times)[len(times) // 2]
        size = self.MAX_GROUP if typical <= 0 else int(self.TASK_SECONDS / typical)
        return max(1, min(size, self.MAX_GROUP, left // (2 * self.n_workers)))

    def _release_bundle(self):
        if self._shipped is not None:
            try:
                self.client.unregister_worker_plugin(self._shipped[1])
            except Exception:  # a lost scheduler: nothing to release
                pass
            self._shipped = None

    def close(self) -> None:
        """Take the bundle off the workers and close any client and cluster this backend started."""
        self._release_bundle()
        if self._own_client is not None:
            self._own_client.close()
        if self._own_cluster is not None:
            self._own_cluster.close()


#: any of the three backends
Backend = Union["SequentialBackend", "LokyBackend", "DaskBackend"]


def get_backend(backend: Literal["sequential", "loky", "dask"], n_jobs: int,
                scheduler: Client | SpecCluster | str | None, threads: int) -> Backend:
    """The backend a search runs its trials on, from its ``backend=``, ``n_jobs=`` and ``scheduler=``."""
    if backend == "sequential":
        return SequentialBackend(threads)
    if backend == "loky":
        return LokyBackend(n_jobs, threads)
    if backend == "dask":
        return DaskBackend(scheduler, n_jobs, threads)
    raise ValueError(f"backend must be 'sequential', 'loky' or 'dask', got {backend!r}")
