"""The short fuzzing run of the test suite: every target on its seed files and a few hundred
deterministic mutations of them (bit flips, truncations, extreme sizes, hostile JSON values), plus
hypothesis' random bytes.  Each input must be read or refused with the reader's own error, within
a fixed memory budget.  ``make fuzz`` runs the same targets for minutes, coverage-guided (atheris).
"""
import resource
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.fuzz import targets

#: mutations per target in the short run (the model loader's inputs cost ~10 ms each)
RUNS = {"model": 100, "idx": 600, "cifar": 200, "csv": 400, "safetensors": 150, "torch": 150}
#: how much the process' peak memory may grow while the reader runs on all of them (the bombs'
#: own tests measure their allocations exactly, with tracemalloc)
BUDGET = 256 * 2 ** 20


def _peak_rss():
    kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return kb if sys.platform == "darwin" else kb * 1024


@pytest.mark.parametrize("name", sorted(targets.TARGETS))
def test_mutated_files_are_read_or_refused_cleanly(name):
    if name == "safetensors":
        pytest.importorskip("safetensors")
    findings = []
    inputs = targets.corpus(name, RUNS[name], seed=12)
    before = _peak_rss()
    for i, data in enumerate(inputs):
        err = targets.run_one(name, data)
        if err is not None:
            findings.append(f"input {i} ({len(data)} bytes): {type(err).__name__}: {err}")
    assert not findings, "\n".join(findings[:10])
    grown = _peak_rss() - before
    assert grown < BUDGET, f"the {name} reader raised the peak memory by {grown / 2 ** 20:.0f} MB"


def test_the_seeds_themselves_are_read():
    pytest.importorskip("safetensors")
    for name in targets.TARGETS:
        for seed in targets.seeds(name):
            targets.TARGETS[name](seed)  # no exception at all


@pytest.mark.parametrize("name", ["idx", "cifar", "csv", "safetensors"])
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.binary(max_size=600))
def test_random_bytes_are_refused_cleanly(name, data):
    err = targets.run_one(name, data)
    assert err is None, f"{type(err).__name__}: {err}"


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(prefix=st.sampled_from([b"PK\x03\x04", b"PK\x05\x06", b"\x93NUMPY"]), data=st.binary(max_size=400))
def test_random_archives_are_refused_cleanly(prefix, data):
    err = targets.run_one("model", prefix + data)
    assert err is None, f"{type(err).__name__}: {err}"
