"""chainrule.search on the notes' 7 x 7 digits grid: 1 worker, 2 loky workers, a 2-worker Dask LocalCluster,
and scikit-learn's GridSearchCV(MLPClassifier, n_jobs=2) over the same grid.

The grid is the notes' (eta and lambda in logspace(-5, 1, 7)); the network is the notes' too: one
hidden layer of 50 sigmoid units, a softmax output, plain SGD with learning rate eta and an L2
penalty lambda, 10 epochs of batches of 100, on digits / 16 (80/20 split), every candidate scored
on the held-out 20%.  Rows:

* ``chainrule, 1 worker``: grid_search in this process (the journal written, as in every row);
* ``chainrule, 2 loky workers``: n_jobs=2; joblib's workers are started by a warm-up search first
  (the first search's extra start-up time is printed separately);
* ``chainrule, LocalCluster 2 workers``: scheduler= a dask.distributed LocalCluster of two worker
  processes with one thread each, started before timing (its start-up time is printed), with the
  settings grid_search(backend='dask') gives the LocalCluster it starts (the workers' profiler off);
* the two cold rows: what the first search of a session waits for, the workers' start and imports
  included: ``2 loky workers, cold`` shuts joblib's reusable workers down before each run, and
  ``backend='dask'`` has grid_search start its own LocalCluster of 2 and close it at the end;
  the targets are for the warm rows above, these say what the fixed costs add;
* ``GridSearchCV(sklearn MLPClassifier), n_jobs=2``: the same grid as learning_rate_init x alpha
  (solver='sgd', no momentum, batch 100, 10 epochs, random_state=0) on the same split;
  ``chainrule.search(sklearn MLPClassifier), n_jobs=2``: the same estimator through chainrule's
  search, whose ``cv_results_`` must equal GridSearchCV's (the largest difference is printed);
  ``chainrule.search(chainrule.sklearn MLPClassifier), n_jobs=2``: the drop-in estimator (other
  initial weights, so its accuracies differ a little; printed).

Every trial runs with one BLAS thread (threadpoolctl; joblib does the same for GridSearchCV's
workers), so workers x threads <= cores.  The configurations are interleaved, ``--repeat``
rounds; the table gives the median wall time with its range and the speed-up against 1 worker
(the median of the per-round ratios, with their range).  Targets on 2 quiet cores: >= 1.7x for
2 loky workers, >= 1.5x for the LocalCluster.  With psutil (it comes with dask.distributed) the
table also gives the CPU time of all processes (driver, loky or Dask workers, nannies) and of
the busiest one: CPU(driver on 1 worker) / CPU(busiest process) is the most idle cores would
give, and moves less with the load than the wall times, so it is a figure to read on a shared
machine (CPU time still grows a little when the cores are oversubscribed).

    python bench/search.py [--repeat 3] [--epochs 10] [--no-dask] [--no-sklearn] [--no-cold] [--quick]

A benchmark prints figures; it is not a test.
"""
from __future__ import annotations

import argparse
import os
import platform
import statistics
import tempfile
import time
import warnings

import numpy as np


def digits():
    from chainrule.datasets import load_digits, train_test_split
    X, y = load_digits()
    X = (np.asarray(X) / 16.0).astype(np.float32)
    return train_test_split(X, np.asarray(y), test_size=0.2, seed=0)


class NotesNetwork:
    """build(params) of the chainrule rows: 64-50-10, sigmoid, softmax, SGD(eta), L2(lambda) (picklable)."""

    def __call__(self, p):
        from chainrule import nn, optim
        reg = nn.l2(p["lmbd"])
        model = nn.Sequential([nn.Dense(50, activation="sigmoid", kernel_regularizer=reg, input_dim=64),
                               nn.Dense(10, activation="softmax", kernel_regularizer=reg)])
        return model.compile(optimizer=optim.SGD(lr=p["eta"]), loss="sparse_categorical_crossentropy",
                             metrics=["accuracy"])


def sk_params(epochs):
    return dict(hidden_layer_sizes=(50,), activation="logistic", solver="sgd", momentum=0.0,
                nesterovs_momentum=False, batch_size=100, max_iter=epochs, n_iter_no_change=epochs + 1,
                random_state=0)


class ChainruleMLP:
    """build(params) of the estimator row: chainrule.sklearn.MLPClassifier with scikit-learn's parameters."""

    def __init__(self, epochs):
        self.epochs = epochs

    def __call__(self, p):
        from chainrule.sklearn import MLPClassifier
        return MLPClassifier(**sk_params(self.epochs), learning_rate_init=p["learning_rate_init"], alpha=p["alpha"])


class SklearnMLP(ChainruleMLP):
    """build(params) of the agreement row: scikit-learn's own MLPClassifier, as GridSearchCV gets it."""

    def __call__(self, p):
        from sklearn.neural_network import MLPClassifier
        return MLPClassifier(**sk_params(self.epochs), learning_rate_init=p["learning_rate_init"], alpha=p["alpha"])


ONE = "chainrule, 1 worker"
GSCV = "GridSearchCV(sklearn MLPClassifier), n_jobs=2"
CR_SK = "chainrule.search(sklearn MLPClassifier), n_jobs=2"
CR_EST = "chainrule.search(chainrule.sklearn MLPClassifier), n_jobs=2"
COLD_LOKY = "chainrule, 2 loky workers, cold (workers started in the timed region)"
COLD_DASK = "chainrule, backend='dask' (LocalCluster of 2 started and closed in the timed region)"


def cpu_seconds():
    """CPU seconds (user + system) of this process and of each of its descendants (loky and Dask workers), by pid;
    None without psutil (it comes with dask.distributed)."""
    try:
        import psutil
    except ImportError:
        return None
    me = psutil.Process()
    out = {}
    for p in [me] + me.children(recursive=True):
        try:
            t = p.cpu_times()
            out[p.pid] = t.user + t.system
        except psutil.Error:
            pass
    return out


def fmt_range(values, digits=2):
    return f"{statistics.median(values):.{digits}f} ({min(values):.{digits}f}-{max(values):.{digits}f})"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--no-dask", action="store_true", help="leave out the LocalCluster row")
    ap.add_argument("--no-sklearn", action="store_true", help="leave out the GridSearchCV rows")
    ap.add_argument("--no-cold", action="store_true", help="leave out the rows that start their workers when timed")
    ap.add_argument("--quick", action="store_true", help="a 3 x 3 grid, 2 epochs, 1 round (a smoke run)")
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    from chainrule.search import grid_search
    from chainrule.search.backends import cpu_count
    Xtr, Xte, ytr, yte = digits()
    n_vals, epochs, repeat = (3, 2, 1) if args.quick else (7, args.epochs, args.repeat)
    vals = np.logspace(-5, 1, n_vals)
    grid = {"eta": vals, "lmbd": vals}
    fit = {"epochs": epochs, "batch_size": 100}
    tmp = tempfile.mkdtemp(prefix="bench-search-")
    counter = [0]

    def journal():
        counter[0] += 1
        return os.path.join(tmp, f"run{counter[0]}.jsonl")

    print(f"digits: {len(Xtr)} train / {len(Xte)} validation; the notes' {n_vals} x {n_vals} grid, 64-50-10 sigmoid, "
          f"SGD, {epochs} epochs of batch 100; {cpu_count()} cores, load average {os.getloadavg()[0]:.1f}; numpy "
          f"{np.__version__}, python {platform.python_version()}; {repeat} interleaved rounds")

    configs = {ONE: dict(n_jobs=1),
               "chainrule, 1 worker, no journal": dict(n_jobs=1, journal=None),
               "chainrule, 2 loky workers": dict(n_jobs=2)}
    client = cluster = None
    if not args.no_dask:
        try:
            from distributed import Client, LocalCluster
        except ImportError:
            print("(dask.distributed is not installed: pip install chainrule[dask]; the LocalCluster row is left out)")
        else:
            import dask
            from chainrule.search.backends import LOCAL_CLUSTER_CONFIG
            t0 = time.perf_counter()
            with dask.config.set(LOCAL_CLUSTER_CONFIG):   # as grid_search(backend='dask') starts its own
                cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                       dashboard_address=None)
            client = Client(cluster)
            print(f"LocalCluster of 2 worker processes started in {time.perf_counter() - t0:.2f} s")
            configs["chainrule, LocalCluster 2 workers"] = dict(scheduler=client)
    if not args.no_cold:
        configs[COLD_LOKY] = dict(n_jobs=2, cold=True)
        if client is not None:
            configs[COLD_DASK] = dict(n_jobs=2, backend="dask")

    def run_chainrule(kw):
        kw = dict(kw)
        j = kw.pop("journal", "new")
        if kw.pop("cold", False):   # what a first search in a fresh session waits for: loky starts its workers
            from joblib.externals.loky import get_reusable_executor
            get_reusable_executor().shutdown(wait=True)
        return grid_search(NotesNetwork(), grid, Xtr, ytr, validation=(Xte, yte), fit_kwargs=fit, verbose=0,
                           journal=journal() if j == "new" else j, **kw)

    # warm-ups: this process, every loky worker and every cluster worker import chainrule and run trials once
    # (the whole grid for one epoch, so that no worker is left cold)
    warm = {"epochs": 1, "batch_size": 100}
    grid_search(NotesNetwork(), grid, Xtr, ytr, validation=(Xte, yte), fit_kwargs=warm, journal=None, verbose=0)
    t0 = time.perf_counter()
    grid_search(NotesNetwork(), grid, Xtr, ytr, validation=(Xte, yte), fit_kwargs=warm, n_jobs=2, journal=None,
                verbose=0)
    print(f"first loky search (starting the workers, {n_vals * n_vals} one-epoch trials): "
          f"{time.perf_counter() - t0:.2f} s")
    if client is not None:
        grid_search(NotesNetwork(), grid, Xtr, ytr, validation=(Xte, yte), fit_kwargs=warm, scheduler=client,
                    journal=None, verbose=0)

    sk_rows = {}
    if not args.no_sklearn:
        from sklearn.model_selection import GridSearchCV
        from sklearn.neural_network import MLPClassifier
        X_all = np.concatenate([Xtr, Xte]).astype(np.float64)
        y_all = np.concatenate([ytr, yte])
        folds = [(np.arange(len(Xtr)), np.arange(len(Xtr), len(X_all)))]
        sk_grid = {"learning_rate_init": vals, "alpha": vals}

        def run_gscv():
            gs = GridSearchCV(MLPClassifier(**sk_params(epochs)), sk_grid, cv=folds, n_jobs=2, refit=False,
                              return_train_score=True, error_score=np.nan)
            return gs.fit(X_all, y_all).cv_results_

        def run_cr_sk():
            return grid_search(SklearnMLP(epochs), sk_grid, X_all, y_all, cv=folds, n_jobs=2, journal=journal(),
                               verbose=0).cv_results_

        def run_cr_est():
            return grid_search(ChainruleMLP(epochs), sk_grid, X_all, y_all, cv=folds, n_jobs=2, journal=journal(),
                               verbose=0).cv_results_
        sk_rows = {GSCV: run_gscv, CR_SK: run_cr_sk, CR_EST: run_cr_est}
        run_gscv()   # warm-up: scikit-learn's imports in joblib's workers

    times = {name: [] for name in list(configs) + list(sk_rows)}
    cpu = {name: [] for name in times}
    busiest = {name: [] for name in times}
    loads = []
    run_load = {name: [] for name in times}
    results = {}
    for _ in range(repeat):
        for name, fn in [(n, (lambda kw=kw: run_chainrule(kw))) for n, kw in configs.items()] + list(sk_rows.items()):
            before = cpu_seconds()
            t0 = time.perf_counter()
            results[name] = fn()
            times[name].append(time.perf_counter() - t0)
            run_load[name].append(os.getloadavg()[0])
            if before is not None:
                used = [t - before.get(pid, 0.0) for pid, t in cpu_seconds().items()]
                cpu[name].append(sum(used))
                busiest[name].append(max(used))
        loads.append(os.getloadavg()[0])

    base = times[ONE]
    has_cpu = bool(cpu[ONE])
    print()
    print("| configuration | wall s, median (range) | speed-up vs 1 worker, median (range) |"
          + (" CPU s, all processes | CPU s, busiest process |" if has_cpu else "")
          + " best validation accuracy | load (1 min) after the runs |")
    print("|---|---|---|" + ("---|---|" if has_cpu else "") + "---|---|")
    for name, ts in times.items():
        res = results[name]
        cv = res.cv_results_ if hasattr(res, "cv_results_") else res
        best = float(np.nanmax(cv["mean_test_score"]))
        ratios = [b / t for b, t in zip(base, ts)]
        speed = "" if name == ONE else fmt_range(ratios) + "x"
        extra = f" {fmt_range(cpu[name])} | {fmt_range(busiest[name])} |" if has_cpu else ""
        print(f"| {name} | {fmt_range(ts)} | {speed} |{extra} {best:.4f} | {fmt_range(run_load[name], 1)} |")
    print(f"load average after each round: {', '.join(f'{x:.1f}' for x in loads)} on {cpu_count()} cores")
    if has_cpu:
        # on idle cores a search cannot take less wall time than its busiest process's CPU time, so the
        # driver's CPU time on 1 worker over the busiest process's here bounds the speed-up from above; it
        # moves less with the load than wall times do (the idle workers of the other rows tick along too,
        # which is why "all processes" of the 1-worker row exceeds its driver's)
        for name in configs:
            if name != ONE and "no journal" not in name and name not in (COLD_LOKY, COLD_DASK):
                bound = [a / b for a, b in zip(busiest[ONE], busiest[name])]
                eff = [a / b for a, b in zip(busiest[ONE], cpu[name])]
                print(f"{name}: CPU(1-worker driver) / CPU(busiest process) = {fmt_range(bound)}x (the most idle "
                      f"cores would give); CPU(1-worker driver) / CPU(all processes) = {fmt_range(eff)} (1: the "
                      f"trials cost no more CPU than on 1 worker)")
    for name, target in (("chainrule, 2 loky workers", 1.7), ("chainrule, LocalCluster 2 workers", 1.5)):
        if name in times:
            r = statistics.median(b / t for b, t in zip(base, times[name]))
            print(f"target {name}: >= {target}x; measured {r:.2f}x: {'met' if r >= target else 'missed'}")
    ref = results[ONE].cv_results_
    for name in configs:
        other = results[name].cv_results_
        same = all(np.array_equal(ref[k], other[k], equal_nan=True)
                   for k in ("mean_test_score", "mean_train_score", "rank_test_score", "seed"))
        print(f"{name}: the same table as 1 worker (scores, ranks, seeds bit for bit): {'yes' if same else 'NO'}")
    if sk_rows:
        a, b, c = results[GSCV], results[CR_SK], results[CR_EST]
        keys = ("split0_test_score", "mean_test_score", "std_test_score", "rank_test_score", "split0_train_score",
                "mean_train_score")
        diff = max(float(np.nanmax(np.abs(np.asarray(a[k], float) - np.asarray(b[k], float)))) for k in keys)
        same_params = list(a["params"]) == [dict(p) for p in b["params"]]
        print(f"GridSearchCV vs chainrule.search, both on scikit-learn's MLPClassifier: params in the same order: "
              f"{'yes' if same_params else 'NO'}; largest |difference| over {', '.join(keys)}: {diff:.3g}; "
              f"missing keys of GridSearchCV's cv_results_: {sorted(set(a) - set(b)) or 'none'}")
        both = np.isfinite(a["mean_test_score"]) & np.isfinite(c["mean_test_score"])
        d = np.abs(a["mean_test_score"][both] - c["mean_test_score"][both])
        print(f"scikit-learn's vs chainrule.sklearn's MLPClassifier (other initial weights and batch order): "
              f"validation accuracies differ by {np.median(d):.4f} median, {np.max(d):.4f} at most over "
              f"{int(both.sum())} candidates; best {np.nanmax(a['mean_test_score']):.4f} vs "
              f"{np.nanmax(c['mean_test_score']):.4f}")
        g = times[GSCV]
        for name in ("chainrule, 2 loky workers", CR_SK, CR_EST):
            print(f"GridSearchCV / {name}: {fmt_range([x / y for x, y in zip(g, times[name])])}x "
                  f"(> 1: chainrule is faster)")
    end_load = os.getloadavg()[0]
    print(f"load average at the end: {end_load:.1f} on {cpu_count()} cores"
          + (": the machine was busy, so the wall-time ratios are low and noisy; read the CPU-time bounds above, "
             "or run again on a quiet machine" if max(loads + [end_load]) > cpu_count() + 1 else
             " (quiet enough for the wall-time ratios)"))
    if client is not None:
        client.close()
        cluster.close()


if __name__ == "__main__":
    main()
