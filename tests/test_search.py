"""chainrule.search: the same table on one process, loky workers and a Dask cluster; the journal; resume.

The networks are tiny (64-8-10, two epochs on 300 samples) so that the whole file stays within a
few seconds of CPU apart from starting the worker processes.
"""
import json
import math
import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

from chainrule import nn, optim
from chainrule.search import JournalError, TrialError, grid_search, halving_search, random_search

# ten Gaussian classes in 64 dimensions, made with NumPy alone: the worker processes import this module
# to unpickle build, so it must be cheap to import
_rng = np.random.default_rng(0)
Y = _rng.integers(0, 10, 300)
X = (_rng.normal(size=(10, 64))[Y] + 1.5 * _rng.normal(size=(300, 64))).astype(np.float32)
FIT = {"epochs": 2, "batch_size": 50}
GRID = {"lr": [0.03, 0.1], "l2": [1e-4, 1e-2]}
TIMES = ("mean_fit_time", "std_fit_time", "mean_score_time", "std_score_time")


def build(p):
    """The notes' network in small: sigmoid hidden layer, softmax output, L2 on the weights (Adam: it learns in two epochs)."""
    if p.get("fail"):
        raise ValueError("asked to fail")
    if p.get("die"):
        os._exit(7)  # a worker that dies (a segfault, the OOM killer)
    if p.get("die_times"):  # a worker that dies on this trial's first die_times runs (counted in files)
        runs = len(os.listdir(p["counter"]))
        if runs < p["die_times"]:
            open(os.path.join(p["counter"], str(runs)), "w").close()
            os._exit(7)
    reg = nn.l2(p["l2"]) if p.get("l2") else None
    model = nn.Sequential([nn.Dense(p.get("width", 8), activation="sigmoid", kernel_regularizer=reg, input_dim=64),
                           nn.Dense(10, activation="softmax", kernel_regularizer=reg)])
    opt = optim.SGD(lr=p["lr"]) if p.get("sgd") else optim.Adam(lr=p["lr"])
    return model.compile(optimizer=opt, loss="sparse_categorical_crossentropy",
                         metrics=["accuracy"])


def same_tables(a, b):
    assert list(a) == list(b)
    for k in a:
        if k in TIMES:
            continue
        va, vb = a[k], b[k]
        if k == "params" or k.startswith("param_"):
            assert list(va) == list(vb), k
        elif np.asarray(va).dtype.kind == "f":
            assert np.array_equal(va, vb, equal_nan=True), (k, va, vb)
        else:
            assert list(va) == list(vb), k


def trial_lines(path):
    with open(path) as f:
        return [json.loads(line) for line in f if '"kind":"trial"' in line]


@pytest.fixture(scope="module")
def cluster():
    """A real dask.distributed LocalCluster: two worker processes on loopback, for this module."""
    distributed = pytest.importorskip("distributed")
    c = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                 dashboard_address=None)
    yield c
    c.close()


# ------------------------------------------------------------------ one table everywhere
def test_short_dask_trials_run_in_groups_with_the_same_table(monkeypatch, cluster):
    """Trials shorter than DaskBackend.TASK_SECONDS go several to a task after the first 2 x workers, never more
    than an even share of what is left; the table is the one a trial per task gives."""
    pytest.importorskip("distributed")
    from chainrule.search import backends
    sizes = []
    real = backends.DaskBackend._group_size

    def spy(self, times, left):
        sizes.append(real(self, times, left))
        assert sizes[-1] <= max(1, left // 4)
        return sizes[-1]
    monkeypatch.setattr(backends.DaskBackend, "_group_size", spy)
    monkeypatch.setattr(backends.DaskBackend, "TASK_SECONDS", 100.0)
    grid = {"lr": [0.03, 0.1, 0.3], "l2": [1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 0.1, 0.3]}
    kw = dict(validation_split=0.25, fit_kwargs=FIT, journal=None, verbose=0, seed=1)
    seq = grid_search(build, grid, X, Y, **kw).cv_results_
    grouped = grid_search(build, grid, X, Y, scheduler=cluster.scheduler_address, **kw).cv_results_
    assert sizes[:4] == [1, 1, 1, 1] and max(sizes) > 1 and sum(s > 1 for s in sizes) >= 2
    assert list(grouped["status"]) == ["ok"] * 24
    same_tables(seq, grouped)


def test_sequential_loky_and_dask_give_the_same_table(tmp_path, cluster, capsys):
    distributed = pytest.importorskip("distributed")
    kw = dict(cv=2, fit_kwargs=FIT, seed=3)
    seq = grid_search(build, GRID, X, Y, journal=tmp_path / "seq.jsonl", verbose=0, **kw)
    loky = grid_search(build, GRID, X, Y, journal=tmp_path / "loky.jsonl", n_jobs=2, **kw)
    out = capsys.readouterr()
    assert "running 8 on 2 loky worker processes x 1 BLAS thread" in out.out   # what it chose, said once
    assert "best=" in out.err   # the progress bar shows the best score so far
    dask = grid_search(build, GRID, X, Y, journal=tmp_path / "dask.jsonl", scheduler=cluster.scheduler_address,
                       verbose=0, **kw)
    assert dask.backend.startswith("Dask at tcp://127.0.0.1:") and "2 worker processes" in dask.backend
    assert loky.backend.startswith("2 loky worker processes")

    r = seq.cv_results_
    assert len(r["params"]) == 4 and list(r["status"]) == ["ok"] * 4
    assert np.all((r["mean_test_score"] > 0.2) & (r["mean_test_score"] <= 1.0))   # learned something (chance 0.1)
    assert sorted(r["rank_test_score"]) == sorted(np.argsort(np.argsort(-r["mean_test_score"])) + 1)
    same_tables(seq.cv_results_, loky.cv_results_)
    same_tables(seq.cv_results_, dask.cv_results_)
    # the journals hold the same trials, histories included, whichever process ran them and in whatever order
    lines = {name: {t["key"]: (t["test_score"], t["train_score"], t["seed"], t["history"])
                    for t in trial_lines(tmp_path / f"{name}.jsonl")} for name in ("seq", "loky", "dask")}
    assert len(lines["seq"]) == 8 and lines["seq"] == lines["loky"] == lines["dask"]
    workers = {t["worker"] for t in trial_lines(tmp_path / "dask.jsonl")}
    assert len(workers) >= 1 and all(w.split(":")[1] != str(os.getpid()) for w in workers)

    # data over 1 MiB reaches joblib's workers as a memory map of one file, with the same results
    big = np.tile(X, (15, 1)), np.tile(Y, 15)
    one = {"lr": [0.1], "l2": [1e-4]}
    a = grid_search(build, one, *big, validation=(X, Y), fit_kwargs=FIT, journal=None, verbose=0, n_jobs=2)
    b = grid_search(build, one, *big, validation=(X, Y), fit_kwargs=FIT, journal=None, verbose=0)
    same_tables(a.cv_results_, b.cv_results_)

    # a Client passed in is used as is (and left open); random candidates are the same there too
    with distributed.Client(cluster) as client:
        dist = {"lr": [0.03, 0.1], "width": [4, 8, 16]}
        a = random_search(build, dist, X, Y, n_iter=3, validation_split=0.25, fit_kwargs=FIT, journal=None,
                          verbose=0, scheduler=client)
        assert client.status == "running"
    b = random_search(build, dist, X, Y, n_iter=3, validation_split=0.25, fit_kwargs=FIT, journal=None, verbose=0)
    same_tables(a.cv_results_, b.cv_results_)


# -------------------------------------------------------------------------------- resume
_KILLED = """
import os, sys, time
import numpy as np
sys.path.insert(0, {tests!r})
import test_search as t
from chainrule.search import grid_search

def slow(p):
    time.sleep(0.25)
    return t.build(p)

grid_search(slow, {grid!r}, t.X, t.Y, validation_split=0.25, fit_kwargs=t.FIT, journal={journal!r}, verbose=0)
"""


def test_resume_after_the_driver_is_killed_runs_only_the_missing_trials(tmp_path):
    journal = str(tmp_path / "search.jsonl")
    grid = {"lr": [0.01, 0.03, 0.1], "l2": [1e-4, 1e-3, 1e-2]}
    script = tmp_path / "killed.py"
    script.write_text(_KILLED.format(tests=os.path.dirname(__file__), grid=grid, journal=journal))
    proc = subprocess.Popen([sys.executable, str(script)], env=dict(os.environ))
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            if os.path.exists(journal) and len(trial_lines(journal)) >= 3:
                break
            time.sleep(0.05)
        assert proc.poll() is None, "the search ended before it could be interrupted"
        proc.send_signal(signal.SIGKILL)   # no chance to clean up
    finally:
        proc.wait(30)
    done = {t["key"] for t in trial_lines(journal)}
    assert 3 <= len(done) < 9

    calls = []

    def counted(p):
        calls.append(dict(p))
        return build(p)
    r = grid_search(counted, grid, X, Y, validation_split=0.25, fit_kwargs=FIT, journal=journal, resume=True,
                    verbose=0)
    assert len(calls) == 9 - len(done)   # only the missing trials ran
    keys = [t["key"] for t in trial_lines(journal)]
    assert len(keys) == 9 and set(keys) >= done   # each trial once, the killed run's ones kept
    fresh = grid_search(build, grid, X, Y, validation_split=0.25, fit_kwargs=FIT, journal=None, verbose=0)
    same_tables(r.cv_results_, fresh.cv_results_)   # and the table is the one an uninterrupted search gives
    # resuming a finished search runs nothing
    calls.clear()
    grid_search(counted, grid, X, Y, validation_split=0.25, fit_kwargs=FIT, journal=journal, resume=True, verbose=0)
    assert calls == []


# ------------------------------------------------------------------- failures, divergence
def test_a_failing_and_a_diverging_trial_are_recorded_and_the_search_goes_on(tmp_path):
    grid = [{"lr": [0.03]}, {"lr": [1e30], "sgd": [True], "l2": [1e-2]}, {"lr": [0.03], "fail": [True]}]
    j = tmp_path / "s.jsonl"
    r = grid_search(build, grid, X, Y, validation_split=0.25, fit_kwargs=FIT, error_score=-1.0, journal=j, verbose=0)
    res = r.cv_results_
    by = {json.dumps(p, sort_keys=True): i for i, p in enumerate(res["params"])}
    ok, div, fail = by['{"lr": 0.03}'], by['{"l2": 0.01, "lr": 1e+30, "sgd": true}'], by['{"fail": true, "lr": 0.03}']
    assert res["status"][ok] == "ok" and 0.1 < res["mean_test_score"][ok] <= 1
    assert res["status"][div] == "diverged" and res["error"][div].startswith("the training loss became nan")
    assert res["status"][fail] == "failed" and res["error"][fail] == "ValueError: asked to fail"
    for i in (div, fail):
        assert res["mean_test_score"][i] == res["split0_train_score"][i] == -1.0   # error_score
    assert res["rank_test_score"][ok] == 1 and r.best_params == {"lr": 0.03}
    assert (r.n_failed, r.n_diverged) == (1, 1)
    lines = {json.dumps(t["params"], sort_keys=True): t for t in trial_lines(j)}
    assert "raise ValueError(\"asked to fail\")" in lines['{"fail": true, "lr": 0.03}']["traceback"]
    assert math.isnan(grid_search(build, grid, X, Y, validation_split=0.25, fit_kwargs=FIT, journal=None,
                                  verbose=0).cv_results_["mean_test_score"][fail])   # error_score=nan by default

    # resume runs the failed trial again (a fixed bug, a lost worker), never the scored or diverged ones
    calls = []

    def fixed(p):
        calls.append(dict(p))
        return build({k: v for k, v in p.items() if k != "fail"})
    r2 = grid_search(fixed, grid, X, Y, validation_split=0.25, fit_kwargs=FIT, error_score=-1.0, journal=j,
                     resume=True, verbose=0)
    assert calls == [{"lr": 0.03, "fail": True}] and r2.cv_results_["status"][fail] == "ok"

    with pytest.raises(TrialError, match=r"failed: ValueError: asked to fail"):
        grid_search(build, grid, X, Y, validation_split=0.25, fit_kwargs=FIT, error_score="raise", journal=None,
                    verbose=0)


def test_a_worker_that_dies_is_retried_once_then_recorded_as_failed():
    grid = [{"lr": [0.03]}, {"lr": [0.03], "die": [True]}]
    r = grid_search(build, grid, X, Y, validation_split=0.25, fit_kwargs=FIT, n_jobs=2, journal=None, verbose=0)
    res = r.cv_results_
    died = [i for i, p in enumerate(res["params"]) if p.get("die")]
    assert len(died) == 1 and res["status"][died[0]] == "failed"
    assert "worker process died while running this trial, twice" in res["error"][died[0]]
    assert "EXIT(7)" in res["error"][died[0]]
    others = [i for i in range(2) if i not in died]
    assert all(res["status"][i] == "ok" and res["mean_test_score"][i] > 0.2 for i in others)


def test_a_trial_that_kills_every_dask_worker_it_meets_is_recorded_as_failed_and_nothing_else_is_lost():
    """On a 2-worker LocalCluster the dying trial takes down both workers in turn (the scheduler retries it once),
    and with them results that were finished but not yet fetched: those are run again, and the search completes
    with the table a sequential search gives for the other trials."""
    pytest.importorskip("distributed")
    healthy = [{"lr": [0.01, 0.03]}, {"lr": [0.1, 0.3], "l2": [1e-4, 1e-3, 1e-2]}]
    kw = dict(validation_split=0.25, fit_kwargs=FIT, journal=None, verbose=0, seed=2)
    seq = grid_search(build, healthy, X, Y, **kw).cv_results_
    grid = healthy[:1] + [{"lr": [0.03], "die": [True]}] + healthy[1:]
    res = grid_search(build, grid, X, Y, backend="dask", n_jobs=2, **kw).cv_results_
    died = [i for i, p in enumerate(res["params"]) if p.get("die")]
    assert died == [2] and res["status"][2] == "failed" and res["mean_test_score"][2] != res["mean_test_score"][2]
    assert "every Dask worker that ran this trial died, also when it ran alone" in res["error"][2]
    assert "2 different workers" in res["error"][2]
    rest = [i for i in range(len(res["params"])) if i != 2]
    assert [res["params"][i] for i in rest] == list(seq["params"])
    assert [res["status"][i] for i in rest] == ["ok"] * 8
    assert np.array_equal([res["mean_test_score"][i] for i in rest], seq["mean_test_score"])
    assert min(seq["mean_test_score"]) > 0.2


def test_a_trial_reported_as_a_dask_killer_runs_once_more_alone_before_it_is_recorded_as_failed(tmp_path):
    """Dask charges a worker's death to every task it had sent there, so a trial waiting behind a crash can be
    reported as a killer (KilledWorker) without being one.  Such a trial runs once more alone: here one that
    kills its worker on its first two runs (the scheduler's allowed-failures is 1) and then trains."""
    pytest.importorskip("distributed")
    grid = [{"lr": [0.03], "die_times": [2], "counter": [str(tmp_path)]}, {"lr": [0.1]}]
    kw = dict(validation_split=0.25, fit_kwargs=FIT, journal=None, verbose=0, seed=2)
    res = grid_search(build, grid, X, Y, backend="dask", n_jobs=2, **kw).cv_results_
    assert list(res["status"]) == ["ok", "ok"] and sorted(os.listdir(tmp_path)) == ["0", "1"]
    seq = grid_search(build, [{"lr": [0.03], "die_times": [2], "counter": [str(tmp_path)]}, {"lr": [0.1]}], X, Y,
                      **kw).cv_results_   # (the counter is spent: no more deaths)
    assert np.array_equal(res["mean_test_score"], seq["mean_test_score"]) and min(seq["mean_test_score"]) > 0.2


def test_a_dask_search_takes_its_data_off_the_workers_and_clears_what_a_killed_driver_left(cluster):
    """The bundle travels as a worker plugin: gone from the cluster when the search ends, and a plugin
    left by a driver that was killed mid-search (its client no longer connected) is removed by the next."""
    distributed = pytest.importorskip("distributed")
    from chainrule.search.backends import _bundle_plugin

    def bundles(dask_scheduler=None):
        return sorted(n for n in dask_scheduler.worker_plugins if n.startswith("chainrule-bundle-"))
    with distributed.Client(cluster.scheduler_address) as client:
        left = "chainrule-bundle-Client-0123-gone-abcd1234"
        client.register_plugin(_bundle_plugin("the data of a killed search"), name=left)
        held = client.run(lambda dask_worker: sorted(n for n in dask_worker.plugins if n.startswith("chainrule-")))
        assert all(v == [left] for v in held.values()) and len(held) == 2
        r = grid_search(build, {"lr": [0.03, 0.1]}, X, Y, validation_split=0.25, fit_kwargs=FIT, journal=None,
                        verbose=0, scheduler=client)
        assert list(r.cv_results_["status"]) == ["ok", "ok"]
        assert client.run_on_scheduler(bundles) == []
        held = client.run(lambda dask_worker: sorted(n for n in dask_worker.plugins if n.startswith("chainrule-")))
        assert all(v == [] for v in held.values())


# ------------------------------------------------------------------------------- journal
def test_the_journal_refuses_another_grid_other_data_and_an_unasked_resume(tmp_path):
    j = tmp_path / "s.jsonl"
    kw = dict(validation_split=0.25, fit_kwargs=FIT, journal=j, verbose=0)
    grid_search(build, {"lr": [0.03, 0.1]}, X, Y, **kw)
    with pytest.raises(JournalError, match=r"another search space.*lr is \[0.03, 0.1\] there, \[0.03, 0.2\] here"):
        grid_search(build, {"lr": [0.03, 0.2]}, X, Y, resume=True, **kw)
    with pytest.raises(JournalError, match=r"other data: data.fingerprint"):
        grid_search(build, {"lr": [0.03, 0.1]}, X + 1, Y, resume=True, **kw)
    with pytest.raises(JournalError, match=r"other data: data.X is \"\(300, 64\) float32\" there, \"\(200, 64\)"):
        grid_search(build, {"lr": [0.03, 0.1]}, X[:200], Y[:200], resume=True, **kw)
    with pytest.raises(JournalError, match=r"another validation: validation.kind is \"validation_split\" there, "
                                           r"\"cv\" here"):
        grid_search(build, {"lr": [0.03, 0.1]}, X, Y, resume=True, **dict(kw, validation_split=None, cv=3))
    with pytest.raises(JournalError, match=r"other settings: settings.fit_kwargs.epochs is 2 there, 3 here"):
        grid_search(build, {"lr": [0.03, 0.1]}, X, Y, resume=True, **dict(kw, fit_kwargs=dict(FIT, epochs=3)))
    with pytest.raises(JournalError, match=r"another validation: validation.folds"):   # the seed shuffles the folds
        grid_search(build, {"lr": [0.03, 0.1]}, X, Y, resume=True, seed=1, **kw)
    with pytest.raises(JournalError, match=r"already holds a search \(2 finished trials\); pass resume=True"):
        grid_search(build, {"lr": [0.03, 0.1]}, X, Y, **kw)
    # a line torn by a kill is cut off on resume, and its trial runs again
    text = j.read_text()
    j.write_text(text[:-25])
    calls = []

    def counted(p):
        calls.append(p)
        return build(p)
    grid_search(counted, {"lr": [0.03, 0.1]}, X, Y, resume=True, **kw)
    assert len(calls) == 1 and len(trial_lines(j)) == 2 and j.read_text().endswith("\n")
    # two searches cannot write one journal at once
    from chainrule.search import Journal
    with Journal.open(j, json.loads(j.read_text().splitlines()[0]), resume=True):
        with pytest.raises(JournalError, match="another search is writing the journal"):
            grid_search(build, {"lr": [0.03, 0.1]}, X, Y, resume=True, **kw)


def test_parameters_the_journal_cannot_hold_and_bad_arguments_are_refused():
    with pytest.raises(TypeError, match=r"param_grid\['act'\] holds <built-in function print>"):
        grid_search(build, {"lr": [0.1], "act": [print]}, X, Y, journal=None, verbose=0)
    with pytest.raises(ValueError, match="pass one of validation=.*not validation_split and cv"):
        grid_search(build, GRID, X, Y, validation_split=0.2, cv=3, journal=None)
    with pytest.raises(ValueError, match="X has 300 samples but y has 299"):
        grid_search(build, GRID, X, Y[:-1], journal=None)
    with pytest.raises(TypeError, match=r"param_grid\['lr'\] must be a list of values, got 0.1; write \[0.1\]"):
        grid_search(build, {"lr": 0.1}, X, Y, journal=None)
    with pytest.raises(ValueError, match="'seed' is set for every trial"):
        grid_search(build, {"lr": [0.1]}, X, Y, fit_kwargs={"seed": 1}, journal=None, verbose=0)


# ------------------------------------------------------------------ results and builds
def test_cv_results_match_scikit_learns_gridsearchcv():
    """The same estimator, grid and folds through GridSearchCV: the same scores, ranks and layout."""
    from sklearn.model_selection import GridSearchCV, KFold
    from chainrule.sklearn import MLPClassifier
    est = MLPClassifier(hidden_layer_sizes=(8,), solver="sgd", max_iter=3, batch_size=50, random_state=0)
    grid = {"alpha": [1e-4, 1e-1], "learning_rate_init": [0.01, 0.1]}
    folds = list(KFold(2, shuffle=True, random_state=0).split(X))
    with pytest.warns(Warning):   # ConvergenceWarning: three epochs only
        ref = GridSearchCV(est, grid, cv=folds, return_train_score=True).fit(X, Y).cv_results_
    ours = grid_search(lambda p: MLPClassifier(**{**est.get_params(), **p}), grid, X, Y, cv=folds, journal=None,
                       verbose=0)
    r = ours.cv_results_
    assert set(ref) - set(r) == set()   # every key of scikit-learn's layout
    assert r["params"] == ref["params"]
    for k in ("split0_test_score", "split1_test_score", "mean_test_score", "std_test_score", "rank_test_score",
              "split0_train_score", "mean_train_score", "std_train_score"):
        np.testing.assert_allclose(r[k], ref[k], rtol=0, atol=1e-12, err_msg=k)
    for k in ("param_alpha", "param_learning_rate_init"):
        assert list(r[k]) == list(ref[k])
    assert ours.scoring == "score" and ours.best_params == ref["params"][int(np.argmin(ref["rank_test_score"]))]
    assert all(t["warnings"] and "ConvergenceWarning" in t["warnings"][0] for t in ours.trials)


def test_an_ffnn_with_its_scheduler_an_estimator_and_refit():
    from sklearn.linear_model import LogisticRegression
    from chainrule.ffnn import FFNN, Constant, CostCrossEntropy, softmax
    from chainrule.ffnn import sigmoid as f_sigmoid

    def notes(p):
        net = FFNN((64, 8, 10), hidden_func=f_sigmoid, output_func=softmax, cost_func=CostCrossEntropy)
        return net, Constant(eta=p["eta"]), {"lam": p["lmbd"]}
    r = grid_search(notes, {"eta": [1e-2, 1e-1], "lmbd": [1e-3]}, X, Y, validation_split=0.25,
                    fit_kwargs={"epochs": 5, "batches": 10}, journal=None, refit=True, verbose=0)
    assert list(r.cv_results_["status"]) == ["ok", "ok"] and r.scoring == "accuracy"
    assert r.best_score > 0.5 and isinstance(r.best_model, FFNN) and r.best_model.seed == r.cv_results_["seed"][
        r.best_index_]
    assert set(r.trials[0]["history"]) >= {"train_errors", "train_accs"} and len(r.trials[0]["history"]["train_errors"]) == 5

    r = grid_search(lambda p: LogisticRegression(C=p["C"], max_iter=200), {"C": [0.01, 1.0]}, X, Y, cv=2,
                    journal=None, refit=True, verbose=0)
    assert r.best_score == max(r.cv_results_["mean_test_score"]) > 0.5 and r.best_model.coef_.shape == (10, 64)
    assert r.best_model.get_params()["random_state"] == r.cv_results_["seed"][r.best_index_]   # the trial seed

    def uncompiled(p):
        return nn.Sequential([nn.Dense(10, input_dim=64)])
    r = grid_search(uncompiled, {"lr": [0.1]}, X, Y, journal=None, verbose=0)
    assert r.cv_results_["status"][0] == "failed" and "not compiled; call model.compile" in r.cv_results_["error"][0]
    assert r.best_params is None and r.best_model is None


def test_random_and_halving_search():
    from scipy.stats import loguniform
    dist = {"lr": loguniform(1e-3, 1e-1), "width": [4, 8]}
    a = random_search(build, dist, X, Y, n_iter=4, seed=1, validation_split=0.25, fit_kwargs=FIT, journal=None,
                      verbose=0)
    b = random_search(build, dist, X, Y, n_iter=4, seed=1, validation_split=0.25, fit_kwargs=FIT, journal=None,
                      verbose=0)
    same_tables(a.cv_results_, b.cv_results_)
    lrs = [p["lr"] for p in a.cv_results_["params"]]
    assert len(set(lrs)) == 4 and all(1e-3 <= v <= 1e-1 for v in lrs)
    assert {p["width"] for p in a.cv_results_["params"]} <= {4, 8}

    grid = {"lr": [0.003, 0.03, 0.1], "l2": [1e-4, 1e-3, 1e-2]}
    h = halving_search(build, grid, X, Y, factor=3, validation_split=0.25, fit_kwargs={"epochs": 9, "batch_size": 50},
                       journal=None, verbose=0)
    res = h.cv_results_
    assert list(res["iter"]) == [0] * 9 + [1] * 3 + [2] and list(res["n_resources"]) == [1] * 9 + [3] * 3 + [9]
    rung0 = res["mean_test_score"][:9]
    kept = [json.dumps(p, sort_keys=True) for p in res["params"][9:12]]
    top3 = [json.dumps(res["params"][i], sort_keys=True) for i in np.argsort(-rung0, kind="stable")[:3]]
    assert kept == top3   # the best third goes on with three times the epochs
    assert h.best_index_ == 12 and h.best_params == res["params"][12]
    assert [len(t["history"]["loss"]) for t in h.trials] == [1] * 9 + [3] * 3 + [9]


@pytest.fixture(scope="module")
def cv_result():
    return grid_search(build, {"lr": [0.03, 0.1], "l2": [1e-4, 1e-3, 1e-2]}, X, Y, cv=2, fit_kwargs=FIT, journal=None,
                       verbose=0)


def test_plot_draws_the_notes_heatmaps_with_mean_and_std(cv_result, tmp_path):
    path = tmp_path / "heat.png"
    fig = cv_result.plot(path=path)
    assert path.stat().st_size > 5000
    heat = [ax for ax in fig.axes if ax.get_xlabel() == "l2"]
    assert [ax.get_title() for ax in heat] == ["train accuracy", "validation (2-fold) accuracy"]
    assert [t.get_text() for t in heat[0].get_yticklabels()] == ["0.03", "0.1"]
    assert [t.get_text() for t in heat[0].get_xticklabels()] == ["0.0001", "0.001", "0.01"]
    res = cv_result.cv_results_
    i = res["params"].index({"l2": 1e-3, "lr": 0.1})
    want = f"{res['mean_test_score'][i]:.3f}\n\u00b1{res['std_test_score'][i]:.3f}"
    assert heat[1].texts[1 * 3 + 1].get_text() == want
    mean, std, rows, cols = cv_result.grid(part="train")
    assert rows == [0.03, 0.1] and cols == [1e-4, 1e-3, 1e-2] and mean[1, 1] == res["mean_train_score"][i]
    one = cv_result.plot(which="test", params=("l2", "lr"))
    assert [ax.get_xlabel() for ax in one.axes][0] == "lr"
    with pytest.raises(ValueError, match="no parameter 'eta'; the search has lr, l2"):
        cv_result.plot(params=("eta", "l2"))


def test_to_csv_has_a_row_per_candidate(cv_result, tmp_path):
    import csv
    path = cv_result.to_csv(tmp_path / "r.csv")
    with open(path) as f:
        rows = list(csv.DictReader(f))
    res = cv_result.cv_results_
    assert len(rows) == 6 and list(rows[0])[:2] == ["param_l2", "param_lr"]
    assert [float(r["mean_test_score"]) for r in rows] == list(res["mean_test_score"])
    assert [json.loads(r["params"]) for r in rows] == res["params"]
    assert [int(r["rank_test_score"]) for r in rows] == list(res["rank_test_score"])


def test_quiet_with_verbose_0(capsys):
    grid_search(build, {"lr": [0.03]}, X, Y, fit_kwargs=FIT, journal=None, verbose=0)
    out = capsys.readouterr()
    assert out.out == "" and out.err == ""


# ------------------------------------------------------------- halving goes on training
def checksum(model, X, y):
    """A score that is a function of every weight bit (promotion by it is as good as any for these tests)."""
    ws = model.get_weights() if hasattr(model, "get_weights") else model.weights
    return float(sum(np.sum(np.asarray(w, np.float64) * np.arange(1, np.size(w) + 1).reshape(np.shape(w)))
                     for w in ws))


HALVING = dict(factor=3, validation_split=0.25, fit_kwargs={"epochs": 9, "batch_size": 50}, scoring=checksum,
               verbose=0)
HGRID = {"lr": [0.003, 0.03, 0.1], "l2": [1e-4, 1e-3, 1e-2]}


def from_scratch(trials, search_kw, build_fn=build):
    """Each rung's trials trained again from scratch for that rung's epochs (same search seed): key -> record."""
    out = {}
    for r in sorted({t["rung"] for t in trials}):
        rows = [t for t in trials if t["rung"] == r]
        kw = dict(search_kw, fit_kwargs=dict(search_kw["fit_kwargs"], epochs=rows[0]["n_resources"]))
        kw.pop("factor", None)
        kw["journal"] = None
        g = grid_search(build_fn, [{k: [v] for k, v in t["params"].items()} for t in rows], X, Y, **kw)
        by = {json.dumps(t["params"], sort_keys=True): t for t in g.trials}
        out.update({t["key"]: by[json.dumps(t["params"], sort_keys=True)] for t in rows})
    return out


@pytest.fixture(scope="module")
def halved():
    h = halving_search(build, HGRID, X, Y, journal=None, **HALVING)
    return h, from_scratch(h.trials, HALVING)


@pytest.mark.parametrize("where", ["sequential", "loky", "dask"])
def test_halving_goes_on_training_the_promoted_candidates_as_one_longer_fit(where, halved, tmp_path, request):
    ref, scratch = halved
    kw = {"sequential": {}, "loky": {"n_jobs": 2}}.get(where)
    if kw is None:
        kw = {"scheduler": request.getfixturevalue("cluster").scheduler_address}
    journal = tmp_path / "halving.jsonl"
    h = ref if where == "sequential" else halving_search(build, HGRID, X, Y, journal=journal, **HALVING, **kw)
    same_tables(h.cv_results_, ref.cv_results_)
    assert [t.get("initial_epoch") for t in h.trials] == [0] * 9 + [1] * 3 + [3]   # continued, not retrained
    for t in h.trials:   # the same weights (the score is a checksum of them) and history as one longer fit
        o = scratch[t["key"]]
        assert (t["test_score"], t["train_score"], t["history"], t["seed"]) == \
            (o["test_score"], o["train_score"], o["history"], o["seed"]), (t["rung"], t["params"])
    assert len({t["test_score"] for t in h.trials}) == 13
    if where != "sequential":
        lines = trial_lines(journal)
        assert [(x["rung"], x["n_resources"], x["initial_epoch"]) for x in lines] == \
            [(0, 1, 0)] * 9 + [(1, 3, 1)] * 3 + [(2, 9, 3)]
        assert not os.path.exists(str(journal) + ".states")   # the states no rung needs any more are gone


def test_halving_resumes_an_interrupted_rung_from_the_states_beside_the_journal(tmp_path, halved):
    ref, _ = halved
    journal = str(tmp_path / "halving.jsonl")
    calls = []

    def interrupted(p):
        calls.append(p)
        if len(calls) == 11:   # the second trial of rung 2: Ctrl-C
            raise KeyboardInterrupt
        return build(p)
    with pytest.raises(KeyboardInterrupt):
        halving_search(interrupted, HGRID, X, Y, journal=journal, **HALVING)
    assert [x["rung"] for x in trial_lines(journal)] == [0] * 9 + [1]
    states = sorted(os.listdir(journal + ".states"))   # the three promoted candidates' states, the rest dropped
    assert len(states) == 3 + 1 and all(s.endswith(".npz") for s in states)
    with open(os.path.join(journal + ".states", states[0]), "rb") as f:
        assert f.read(2) == b"PK"   # plain .npz (read back with allow_pickle=False)

    calls.clear()

    def counted(p):
        calls.append(p)
        return build(p)
    h = halving_search(counted, HGRID, X, Y, journal=journal, resume=True, **HALVING)
    assert len(calls) == 3   # only the two missing trials of rung 2 and the last rung ran
    same_tables(h.cv_results_, ref.cv_results_)
    assert [x["initial_epoch"] for x in trial_lines(journal)[9:]] == [1, 1, 1, 3]   # they went on from the states
    # a lost state is no error: that trial trains from scratch, to the same bits
    os.remove(journal)
    halving_search(build, HGRID, X, Y, journal=journal, **dict(HALVING, fit_kwargs={"epochs": 3, "batch_size": 50}))
    assert not os.path.exists(journal + ".states")


def test_halving_with_an_ffnn_and_an_estimator_continues_where_it_can_and_restarts_where_it_cannot():
    from sklearn.linear_model import SGDClassifier
    from chainrule.ffnn import FFNN, Adam, Constant, CostCrossEntropy, softmax
    from chainrule.ffnn import sigmoid as f_sigmoid

    def notes(p):
        net = FFNN((64, 8, 10), hidden_func=f_sigmoid, output_func=softmax, cost_func=CostCrossEntropy)
        sched = Constant(eta=p["eta"]) if p["sched"] == "constant" else Adam(eta=p["eta"], rho=0.9, rho2=0.999)
        return net, sched, {"lam": 1e-3}
    kw = dict(factor=2, validation_split=0.25, fit_kwargs={"epochs": 4, "batches": 5}, scoring=checksum, verbose=0,
              journal=None)
    grid = {"eta": [0.01, 0.1], "sched": ["constant"]}
    h = halving_search(notes, grid, X, Y, **kw)
    assert [t["initial_epoch"] for t in h.trials] == [0, 0, 2]   # a Constant scheduler's net goes on
    h2 = halving_search(notes, {"eta": [0.01, 0.1], "sched": ["adam"]}, X, Y, **kw)
    assert [t["initial_epoch"] for t in h2.trials] == [0, 0, 0]   # Adam's epoch count restarts with each fit
    for res in (h, h2):
        scratch = from_scratch(res.trials, kw, notes)
        for t in res.trials:
            assert (t["test_score"], t["history"]) == (scratch[t["key"]]["test_score"], scratch[t["key"]]["history"])

    est = halving_search(lambda p: SGDClassifier(alpha=p["alpha"], tol=None), {"alpha": [1e-4, 1e-2]}, X, Y,
                         factor=2, max_resources=4, validation_split=0.25, journal=None, verbose=0)
    assert [t["initial_epoch"] for t in est.trials] == [0, 0, 0]   # estimators retrain (see _Estimator)
    assert [t["n_resources"] for t in est.trials] == [2, 2, 4]


def test_a_trial_on_a_dask_worker_keeps_freed_memory_and_gives_it_back_afterwards(monkeypatch):
    """Dask starts its workers with MALLOC_TRIM_THRESHOLD_=65536 (a page fault per 4 KiB of every NumPy temporary
    freed and taken again, nearly twice a trial's CPU time): during a trial glibc keeps its memory, after it the
    process's own thresholds are set back and the memory trimmed; a LocalCluster started here leaves it unset."""
    from chainrule.search import trial as tr
    from chainrule.search.backends import LOCAL_CLUSTER_CONFIG
    calls = []

    class FakeLibc:
        def mallopt(self, what, value):
            calls.append(("mallopt", what, value))
            return 1

        def malloc_trim(self, pad):
            calls.append(("trim", pad))
    monkeypatch.setattr(tr, "_glibc", lambda: FakeLibc())
    monkeypatch.setenv("MALLOC_TRIM_THRESHOLD_", "65536")
    task = tr.Task("k", 0, 0, {"lr": 0.1}, 1)
    bundle = tr.Bundle(build, X, Y, X[:50], Y[:50], None, {"epochs": 1, "batch_size": 50}, None, 1, None)
    rec = tr.run_trial(bundle, task, "trial")
    assert rec["status"] == "ok" and rec["test_score"] > 0
    assert calls == [("mallopt", -1, 1 << 30), ("mallopt", -3, 32 << 20), ("mallopt", -3, 128 << 10),
                     ("mallopt", -1, 65536), ("trim", 0)]
    calls.clear()
    monkeypatch.delenv("MALLOC_TRIM_THRESHOLD_")
    assert tr.run_trial(bundle, task, "trial")["status"] == "ok" and calls == []   # a process with glibc's defaults
    env = LOCAL_CLUSTER_CONFIG["distributed.nanny.pre-spawn-environ"]
    assert "MALLOC_TRIM_THRESHOLD_" not in env and env["OMP_NUM_THREADS"] == 1
