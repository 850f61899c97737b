"""The benchmark helpers: how many calls are timed and which are not.

The benchmark scripts themselves are run by hand (see ``benchmarks/README.md``);
these tests pin the timing scheme that their results depend on.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from _common import time_interleaved  # noqa: E402


def _recorder(log, name):
    def f():
        log.append(name)
    return f


def test_time_interleaved_runs_settle_then_block_per_turn():
    log = []
    fns = {"a": _recorder(log, "a"), "b": _recorder(log, "b")}
    times = time_interleaved(fns, repeats=3, warmup=2, block=4, settle=1)
    # warm-up rounds run each once; then per round a turn of 1 + 4 calls each
    assert log[:4] == ["a", "b", "a", "b"]
    body = log[4:]
    assert body == (["a"] * 5 + ["b"] * 5) * 3
    assert {k: len(v) for k, v in times.items()} == {"a": 12, "b": 12}
    assert all(t >= 0 for v in times.values() for t in v)


def test_time_interleaved_default_is_one_call_per_turn():
    log = []
    times = time_interleaved({"a": _recorder(log, "a"), "b": _recorder(log, "b")},
                             repeats=2, warmup=0)
    assert log == ["a", "b", "a", "b"]
    assert len(times["a"]) == len(times["b"]) == 2


def test_time_interleaved_stops_after_max_seconds():
    log = []
    times = time_interleaved({"a": _recorder(log, "a")}, repeats=10**6, warmup=0,
                             max_seconds=0.0)
    assert len(times["a"]) == 1  # at least one round, then the time limit


def test_time_interleaved_settles_for_at_least_settle_seconds():
    log = []
    times = time_interleaved({"a": _recorder(log, "a")}, repeats=2, warmup=0, block=1,
                             settle=0, settle_seconds=0.01)
    assert len(times["a"]) == 2
    # A recorder call takes about a microsecond: 10 ms of settling is many calls.
    assert len(log) > 2 + 100


@pytest.mark.parametrize("kw", [{"block": 0}, {"settle": -1}, {"settle_seconds": -1.0},
                                {"settle_seconds": float("nan")}])
def test_time_interleaved_rejects_bad_block_or_settle(kw):
    with pytest.raises(ValueError, match="time_interleaved: need block >= 1"):
        time_interleaved({"a": lambda: None}, repeats=1, **kw)
