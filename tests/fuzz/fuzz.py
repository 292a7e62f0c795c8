"""Coverage-guided fuzzing of the readers of untrusted files with atheris (libFuzzer).

    python tests/fuzz/fuzz.py TARGET [libFuzzer flags]      TARGET: model, idx, cifar, csv, safetensors, torch

``make fuzz`` runs every target for ``FUZZ_SECONDS`` (default 120 s each) under a 2 GB memory limit
(``-rss_limit_mb``): any exception other than the reader's own error type, and any input that makes
the reader use more memory than that, is a finding, written to ``fuzz-artifacts/`` for replay
(``python tests/fuzz/fuzz.py TARGET fuzz-artifacts/crash-...``).  The targets and their seed files
are in ``targets.py``; the short, deterministic run in the test suite is ``test_fuzz.py``.
"""
import os
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))


def main(argv):
    sys.path[:0] = [os.path.dirname(os.path.dirname(HERE)), HERE]
    import atheris
    with atheris.instrument_imports(include=["chainrule"]):
        import chainrule.cli.commands  # noqa: F401  (the targets import these lazily: instrument them now)
        import chainrule.datasets  # noqa: F401
        import chainrule.io  # noqa: F401
        import chainrule.nn  # noqa: F401
        import chainrule.torch  # noqa: F401
    import targets

    if len(argv) < 2 or argv[1] not in targets.TARGETS:
        print(__doc__, file=sys.stderr)
        return 2
    name = argv[1]
    fn, allowed = targets.TARGETS[name], targets.allowed(name)

    def test_one(data):
        try:
            fn(data)
        except allowed:
            pass

    flags = argv[2:]
    replay = [a for a in flags if not a.startswith("-")]
    corpus = []
    if not replay:  # start from the seed files (a fresh folder: nothing is written into the repository)
        corpus = [tempfile.mkdtemp(prefix=f"chainrule-fuzz-{name}-")]
        for i, seed in enumerate(targets.seeds(name)):
            with open(os.path.join(corpus[0], f"seed{i}"), "wb") as f:
                f.write(seed)
    artifacts = os.path.join(os.getcwd(), "fuzz-artifacts") + os.sep
    os.makedirs(artifacts, exist_ok=True)
    atheris.Setup([argv[0], f"-artifact_prefix={artifacts}", *flags, *corpus], test_one)
    atheris.Fuzz()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
