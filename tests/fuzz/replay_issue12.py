"""Issue 12's listed cases, replayed against the installed (or PYTHONPATH) chainrule: each must now
behave as the issue asks.  Not a test (it starts the CLI a dozen times and SIGKILLs saves: about two
minutes); run it by hand and read the last lines:

    PYTHONPATH=$PWD python tests/fuzz/replay_issue12.py

The fast, asserted versions of the same cases are in tests/test_training_nan.py, test_cli_robust.py,
test_io_limits.py, test_validation.py, test_inplace.py and test_new_entry_points.py.
"""
import glob, io, json, math, os, signal, struct, subprocess, sys, tempfile, time, tracemalloc, warnings, zipfile, gzip
import numpy as np
import chainrule as cr
from chainrule import nn, optim
from chainrule.io import ModelFileError, save_model, load_model


def main():
    PY = sys.executable
    ROOT = tempfile.mkdtemp(prefix="issue12-")
    results = []
    def case(part, name):
        def deco(fn):
            try:
                ok, note = fn()
            except Exception as e:
                ok, note = False, f"raised {type(e).__name__}: {str(e)[:150]}"
            results.append((part, name, ok, note)); print(("PASS" if ok else "FAIL"), part, "|", name, "|", note[:200], flush=True)
            return fn
        return deco
    def raises(fn, types, match=""):
        try:
            fn()
        except types as e:
            return (match in str(e)), f"{type(e).__name__}: {str(e)[:140]}"
        except BaseException as e:
            return False, f"wrong type {type(e).__name__}: {str(e)[:140]}"
        return False, "no error"
    def cli(*args, cwd=ROOT, env=None):
        e = dict(os.environ, PYTHONPATH=os.environ.get("PYTHONPATH", ""))
        p = subprocess.run([PY, "-m", "chainrule", *args], cwd=cwd, capture_output=True, text=True, timeout=300, env=e)
        return p.returncode, p.stdout, p.stderr
    def one_line(err): return len([l for l in err.strip().splitlines() if l.strip()]) == 1 and "Traceback" not in err
    def reg_model():
        m = nn.Sequential([nn.Dense(4, activation="tanh", input_dim=2), nn.Dense(1)]); m.compile(optim.SGD(lr=0.01), "mse"); return m
    X = np.random.default_rng(0).normal(size=(64, 2)).astype(np.float32); Y = X[:, :1] * 1.5

    from chainrule.training import callbacks as cbm
    class Poison(cbm.Callback):
        """Make every weight NaN at the start of epoch `at` (so its first batch loss is NaN)."""
        def __init__(self, at): self.at = at
        def on_epoch_begin(self, epoch, logs=None):
            if epoch == self.at:
                for p in self.model.parameters(): p.data[...] = np.nan
    # ---------------------------------------------------------------- data lost
    @case("1 data lost", "NaN in the first batch logs the epoch as NaN, not 0.0")
    def _():
        m = reg_model()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            h = m.fit(X, Y, epochs=3, batch_size=16, verbose=0, callbacks=[Poison(1), cbm.TerminateOnNaN()])
        l = h.history["loss"]; return (len(l) >= 2 and math.isnan(l[1])), f"losses {l}"
    @case("1 data lost", "ModelCheckpoint(save_best_only) keeps the best model over a diverged epoch")
    def _():
        m = reg_model(); path = os.path.join(ROOT, "best.npz")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            m.fit(X, Y, epochs=3, batch_size=16, verbose=0, callbacks=[Poison(2), cbm.ModelCheckpoint(path, monitor="loss", save_best_only=True)])
        w = load_model(path).layers[0].kernel.numpy(); return bool(np.isfinite(w).all()), "saved weights finite" if np.isfinite(w).all() else "saved NaN weights"
    @case("1 data lost", "EarlyStopping(restore_best_weights) restores finite weights")
    def _():
        m = reg_model()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            m.fit(X, Y, epochs=4, batch_size=16, verbose=0, callbacks=[Poison(2), cbm.EarlyStopping(monitor="loss", patience=1, restore_best_weights=True)])
        w = m.layers[0].kernel.numpy(); return bool(np.isfinite(w).all()), "finite" if np.isfinite(w).all() else "NaN weights restored"
    # ---------------------------------------------------------------- NaN runs
    @case("2 NaN runs", "train --dataset sine --optimizer sgd --lr 10 --epochs 5: non-zero exit, message with epoch and smaller lr, strict JSON")
    def _():
        out = os.path.join(ROOT, "runs"); rc, so, se = cli("train", "--dataset", "sine", "--optimizer", "sgd", "--lr", "10", "--epochs", "5", "--out", out, "-q", "--no-plots")
        msg = so + se
        strict = True
        for f in glob.glob(os.path.join(out, "**", "metrics.json"), recursive=True):
            try: json.loads(open(f).read(), parse_constant=lambda c: (_ for _ in ()).throw(ValueError(c)))
            except ValueError: strict = False
        ok = rc != 0 and "epoch" in msg.lower() and "--lr" in msg and strict and "Traceback" not in msg
        return ok, f"rc={rc} strict_json={strict} msg={msg.strip().splitlines()[-1][:160] if msg.strip() else ''}"
    @case("2 NaN runs", "predict on a NaN model exits non-zero")
    def _():
        out = os.path.join(ROOT, "ok"); rc, so, se = cli("train", "--dataset", "xor", "--epochs", "2", "--out", out, "-q", "--no-plots")
        run = sorted(glob.glob(os.path.join(out, "*")))[-1]
        mp = glob.glob(os.path.join(run, "*.npz"))[0]; m = load_model(mp)
        for p in m.parameters(): p.data[...] = np.nan
        save_model(m, mp)
        csv = os.path.join(ROOT, "in.csv"); open(csv, "w").write("0,1\n1,0\n")
        rc, so, se = cli("predict", run, csv)
        return rc != 0 and one_line(se), f"rc={rc} {se.strip()[:160]}"
    @case("2 NaN runs", "fit without TerminateOnNaN warns, naming epoch and batch")
    def _():
        m = reg_model()
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            m.fit(X, Y, epochs=3, batch_size=16, verbose=0, callbacks=[Poison(1)])
        msgs = [str(x.message) for x in w if "finite" in str(x.message).lower() or "nan" in str(x.message).lower()]
        return len(msgs) == 1 and "epoch 2" in msgs[0] and "batch" in msgs[0], f"{len(msgs)} warnings: {msgs[:1]}"
    # ---------------------------------------------------------------- hostile files
    def npy_header(shape, dtype="<f4"):
        b = io.BytesIO(); np.lib.format.write_array_header_1_0(b, {"descr": dtype, "fortran_order": False, "shape": tuple(shape)}); return b.getvalue()
    def meta_npy(meta):
        b = io.BytesIO(); np.save(b, np.frombuffer(json.dumps(meta).encode() if not isinstance(meta, str) else meta.encode(), np.uint8)); return b.getvalue()
    def meta_for(arch, weights):
        return {"format": "chainrule-model", "format_version": 1, "chainrule_version": "0", "architecture": arch, "compile": None,
                "weights": weights, "buffers": [], "optimizer": None, "optimizer_iterations": None, "optimizer_groups": None, "optimizer_state_keys": None, "rng_states": {}}
    def dense(units, input_dim): return {"class_name": "Sequential", "config": {"layers": [{"class_name": "Dense", "config": {"units": units, "input_dim": input_dim}}]}}
    def zfile(name, members, comp=zipfile.ZIP_STORED):
        p = os.path.join(ROOT, name)
        with zipfile.ZipFile(p, "w", comp) as z:
            for k, v in members.items(): z.writestr(k + ".npy", v)
        return p
    def bounded(fn, match=""):
        tracemalloc.start()
        try:
            ok, note = raises(fn, ModelFileError, match); peak = tracemalloc.get_traced_memory()[1]
        finally: tracemalloc.stop()
        return ok and peak < 64 * 2**20, f"{note} (peak {peak/2**20:.1f} MiB)"
    @case("3 hostile files", "1 KB .npz declaring a (10**12,) array")
    def _():
        p = zfile("tera.npz", {"param/0.kernel": npy_header((10**12,)), "__meta__": meta_npy(meta_for(dense(2, 3), ["0.kernel"]))}); return bounded(lambda: load_model(p))
    @case("3 hostile files", "deeply nested JSON")
    def _():
        p = zfile("deep.npz", {"__meta__": meta_npy("[" * 100000 + "]" * 100000)}); return bounded(lambda: load_model(p))
    @case("3 hostile files", "a layer with units=10**12 in a model file")
    def _():
        p = zfile("units.npz", {"param/0.kernel": npy_header((3, 2)) + b"\0" * 24, "param/0.bias": npy_header((2,)) + b"\0" * 8,
                                "__meta__": meta_npy(meta_for(dense(10**12, 3), ["0.kernel", "0.bias"]))}); return bounded(lambda: load_model(p))
    @case("3 hostile files", "1.1 MB zip member inflating to 300 MB with a wrong shape")
    def _():
        big = npy_header((300_000_000 // 4,)) + b"\0" * 300_000_000
        p = zfile("zipbomb.npz", {"param/0.kernel": big, "param/0.bias": npy_header((2,)) + b"\0" * 8,
                                  "__meta__": meta_npy(meta_for(dense(2, 3), ["0.kernel", "0.bias"]))}, zipfile.ZIP_DEFLATED)
        del big
        ok, note = bounded(lambda: load_model(p)); return ok, f"file {os.path.getsize(p)/1e6:.1f} MB; {note}"
    @case("3 hostile files", "1 KB architecture Dense(20000, input_dim=20000)")
    def _():
        p = zfile("arch.npz", {"param/0.kernel": npy_header((3, 2)) + b"\0" * 24, "param/0.bias": npy_header((2,)) + b"\0" * 8,
                               "__meta__": meta_npy(meta_for(dense(20000, 20000), ["0.kernel", "0.bias"]))}); return bounded(lambda: load_model(p))
    @case("3 hostile files", "IDX gzip whose header says 5 bytes but decompresses 558 MB")
    def _():
        from chainrule.datasets import read_idx, DatasetFileError
        hdr = struct.pack(">HBB", 0, 8, 1) + struct.pack(">I", 5)
        p = os.path.join(ROOT, "bomb-idx1-ubyte.gz")
        with gzip.open(p, "wb", compresslevel=1) as f:
            f.write(hdr); chunk = b"\0" * (1 << 24)
            for _ in range(35): f.write(chunk)
        tracemalloc.start()
        try:
            ok, note = raises(lambda: read_idx(p), DatasetFileError); peak = tracemalloc.get_traced_memory()[1]
        finally: tracemalloc.stop()
        return ok and peak < 64 * 2**20, f"{note} (peak {peak/2**20:.1f} MiB)"
    @case("3 hostile files", "CLI predict/evaluate on a hostile model: one line, non-zero")
    def _():
        out = os.path.join(ROOT, "ok"); run = sorted(glob.glob(os.path.join(out, "*")))[-1]
        mp = glob.glob(os.path.join(run, "*.npz"))[0]
        import shutil; shutil.copy(os.path.join(ROOT, "tera.npz"), mp)
        csv = os.path.join(ROOT, "in.csv")
        rc1, _, se1 = cli("predict", run, csv); rc2, _, se2 = cli("evaluate", run)
        return rc1 != 0 and rc2 != 0 and one_line(se1) and one_line(se2), f"rc {rc1},{rc2}: {se1.strip()[:120]}"
    # ---------------------------------------------------------------- unvalidated values
    def with_groups(edit):
        m = reg_model(); m.fit(X, Y, epochs=1, verbose=0); p = save_model(m, os.path.join(ROOT, "opt.npz"))
        with np.load(p) as f: arrays = dict(f)
        meta = json.loads(arrays["__meta__"].tobytes()); edit(meta)
        arrays["__meta__"] = np.frombuffer(json.dumps(meta).encode(), np.uint8); np.savez(p, **arrays); return p
    for label, key, value in [("lr -1", "lr", -1), ("lr NaN", "lr", float("nan")), ('lr "abc"', "lr", "abc"), ("beta1 5", "beta1", 5), ("eps -1", "eps", -1)]:
        def make(key=key, value=value):
            def edit(meta):
                if key in ("beta1", "eps"):  # an Adam model whose saved config holds the bad value
                    meta["optimizer"] = {"class_name": "Adam", "lr": 0.001, key: value}
                    meta["optimizer_groups"] = None
                    meta["optimizer_state_keys"] = [[] for _ in meta["optimizer_state_keys"]]
                else:                        # an SGD model's parameter group (and config)
                    meta["optimizer_groups"][0][key] = value
            p = with_groups(edit)
            if key in ("beta1", "eps"):  # drop the SGD state arrays the edited description no longer lists
                with np.load(p) as f: arrays = {k: v for k, v in dict(f).items() if not k.startswith("optim/")}
                np.savez(p, **arrays)
            return raises(lambda: load_model(p), ModelFileError, key)
        case("4 unvalidated", f"optimizer in a model file with {label}")(lambda make=make: make())
    case("4 unvalidated", "lr=inf")(lambda: raises(lambda: optim.SGD(lr=float("inf")), ValueError, "lr"))
    case("4 unvalidated", "BatchNormalization(epsilon=nan)")(lambda: raises(lambda: nn.BatchNormalization(epsilon=float("nan")), ValueError, "epsilon"))
    case("4 unvalidated", "l2(nan)")(lambda: raises(lambda: nn.regularizers.l2(float("nan")), ValueError, "nan"))
    case("4 unvalidated", "Dense(input_dim=True)")(lambda: raises(lambda: nn.Dense(3, input_dim=True), (ValueError, TypeError), "input_dim"))
    case("4 unvalidated", "float64 beyond float32 range refused by name")(lambda: raises(lambda: reg_model().fit(np.full((4, 2), 1e300), np.zeros((4, 1)), verbose=0), ValueError, "float32"))
    case("4 unvalidated", "fit on an empty array")(lambda: raises(lambda: reg_model().fit(np.zeros((0, 2), np.float32), np.zeros((0, 1), np.float32), verbose=0), ValueError, "empty"))
    case("4 unvalidated", "fit(seed=-1) names seed")(lambda: raises(lambda: reg_model().fit(X, Y, seed=-1, verbose=0), ValueError, "seed"))
    case("4 unvalidated", "cr.tensor([None])")(lambda: raises(lambda: cr.tensor([None]), (ValueError, TypeError)))
    def _ffnn():
        from chainrule.ffnn import FFNN
        from chainrule.ffnn import Constant
        return raises(lambda: FFNN([2, 3, 1]).fit(X.astype(complex), Y, Constant(0.1), epochs=1, verbose=False), (ValueError, TypeError), "complex")
    case("4 unvalidated", "complex X to FFNN")(_ffnn)
    def _inplace():
        w = cr.tensor(np.ones(3), requires_grad=True); y = (w * w).sum()
        with cr.no_grad(): w[0] = 5.0   # PyTorch's error case (its .data writes go unchecked, as NumPy's here)
        return raises(lambda: y.backward(), RuntimeError)
    case("4 unvalidated", "leaf .data changed in place after recording")(_inplace)
    # ---------------------------------------------------------------- CSV
    def predict_csv(text, binary=False):
        out = os.path.join(ROOT, "csvrun")
        if not glob.glob(os.path.join(out, "*")):
            cli("train", "--dataset", "xor", "--epochs", "2", "--out", out, "-q", "--no-plots")
        run = sorted(glob.glob(os.path.join(out, "*")))[-1]
        p = os.path.join(ROOT, "c.csv"); open(p, "wb").write(text if binary else text.encode())
        return cli("predict", run, p)
    def _cr():
        rc, so, se = predict_csv(b"0,1\r1,0\r1,1\r", True); rows = [l for l in so.splitlines() if l.strip()]
        return rc == 0 and len(rows) == 4, f"rc={rc} {len(rows)} lines out {se.strip()[:100]}"
    case("5 CSV", "CR-only line endings")(_cr)
    def _long():
        rc, so, se = predict_csv("0," + "1" * 200000 + "\n"); return rc != 0 and one_line(se) and "line 1" in se, f"rc={rc} {se.strip()[:140]}"
    case("5 CSV", "a field over 131072 characters")(_long)
    def _bom():
        rc, so, se = predict_csv(b"\xef\xbb\xbf0,1\n1,0\n1,1\n", True); rows = [l for l in so.splitlines() if l.strip()]
        return rc == 0 and len(rows) == 4, f"rc={rc} {len(rows)} lines out (header+3)"
    case("5 CSV", "UTF-8 BOM does not eat the first row")(_bom)
    def _typo():
        rc, so, se = predict_csv("0,1x\n1,0\n1,1\n"); rows = [l for l in so.splitlines() if l.strip()]
        silent = rc == 0 and len(rows) == 3 and "header" not in (se + so).lower()
        return not silent, f"rc={rc} {len(rows)} lines out; {se.strip()[:140]}"
    case("5 CSV", "a typo in the first data row is not silently dropped")(_typo)
    def _damaged():
        out = os.path.join(ROOT, "csvrun"); run = sorted(glob.glob(os.path.join(out, "*")))[-1]
        mj = os.path.join(run, "metrics.json"); d = json.load(open(mj)); d["data"].pop("task", None); open(mj, "w").write(json.dumps(d))
        rc, so, se = cli("predict", run, os.path.join(ROOT, "in.csv"))
        return rc != 0 and one_line(se) and "task" in se and "metrics.json" in se, f"rc={rc} {se.strip()[:140]}"
    case("5 CSV", "a damaged metrics.json names the key and the file")(_damaged)
    # ---------------------------------------------------------------- leftovers
    def _kill():
        code = ("import numpy as np, chainrule as cr; from chainrule import nn; from chainrule.io import save_model\n"
                "m = nn.Sequential([nn.Dense(2000, input_dim=2000)])\n"
                "while True: save_model(m, %r)\n") % os.path.join(ROOT, "kill", "m.npz")
        os.makedirs(os.path.join(ROOT, "kill"), exist_ok=True)
        for _ in range(3):
            p = subprocess.Popen([PY, "-c", code]); time.sleep(4); p.send_signal(signal.SIGKILL); p.wait()
        before = [f for f in os.listdir(os.path.join(ROOT, "kill")) if f != "m.npz"]
        save_model(nn.Sequential([nn.Dense(2, input_dim=2)]), os.path.join(ROOT, "kill", "m.npz"))
        after = [f for f in os.listdir(os.path.join(ROOT, "kill")) if f != "m.npz"]
        return not after, f"temporaries before the next save {len(before)}, after {len(after)}"
    case("6 leftovers", "SIGKILL during save: temporaries removed by the next save")(_kill)
    def _empty_folder():
        out = os.path.join(ROOT, "fail"); rc, so, se = cli("train", "--dataset", "xor", "--epochs", "2", "--lr", "nan", "--out", out, "-q", "--no-plots")
        left = glob.glob(os.path.join(out, "*"))
        return rc != 0 and not left, f"rc={rc}, folders left {left}, {se.strip()[:100]}"
    case("6 leftovers", "a failure before the first epoch leaves no run folder")(_empty_folder)
    def _sigint():
        out = os.path.join(ROOT, "int"); e = dict(os.environ)
        p = subprocess.Popen([PY, "-m", "chainrule", "train", "--dataset", "digits", "--epochs", "50", "--out", out, "-q", "--no-plots"], cwd=ROOT, env=e, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        time.sleep(2.0); p.send_signal(signal.SIGINT); so, se = p.communicate(timeout=120)
        left = [d for d in glob.glob(os.path.join(out, "*")) if not glob.glob(os.path.join(d, "*.npz"))]
        return not left, f"rc={p.returncode}, empty folders {left}"
    case("6 leftovers", "Ctrl-C before the first epoch leaves no empty run folder")(_sigint)
    def _layers():
        rc, so, se = cli("train", "--dataset", "xor", "--layers", "1000000000", "--out", os.path.join(ROOT, "big"), "-q", "--no-plots")
        return rc != 0 and "Traceback" not in se and "MemoryError" not in se and se.startswith("chainrule train: error:"), f"rc={rc} {se.strip()[:160]}"
    case("6 leftovers", "train --layers 1000000000: one line, no MemoryError traceback")(_layers)

    print()
    by = {}
    for part, name, ok, note in results:
        by.setdefault(part, [0, 0]); by[part][0] += ok; by[part][1] += 1
    for part, (a, b) in by.items(): print(f"{part}: {a}/{b}")
    print(f"total: {sum(a for a, b in by.values())}/{sum(b for a, b in by.values())}")
    sys.exit(0 if all(ok for _, _, ok, _ in results) else 1)


if __name__ == "__main__":
    main()
