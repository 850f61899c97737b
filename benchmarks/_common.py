"""Shared helpers for the softmaxlab benchmarks: timing, machine facts, tables.

Nothing here knows about the CPU or the GPU: a benchmark script builds a dict
of ``name -> callable`` per case, times them with :func:`time_interleaved`,
and writes rows (plain dicts) with :func:`write_results`, which produces a
JSON file (everything) and a Markdown file (machine facts and tables).

Timing is *interleaved*: one round runs every method in turn, so that a burst
of load from other processes hits all methods alike and the ratios stay
meaningful on a shared machine.  The statistic is the median.

A method's turn can be a *block* of consecutive timed calls, after untimed
*settle* calls.  That matters on the CPU: after a call, PyTorch's OpenMP
worker threads keep spinning (libgomp's default wait policy), and on a 2-core
machine they take a core from whatever runs next.  Measured on the 2-core
benchmark machine at 256 x 1000 float32, the NumPy kernel took about 730 us per
call for the first ~10 ms after a burst of PyTorch calls and 430 us after that
(and 430 us from the first call with ``OMP_WAIT_POLICY=PASSIVE``).  A training
loop calls one library over and over, so each method is timed in its own
steady state: its turn starts with untimed calls lasting at least
``settle_seconds``, which outlast the previous method's spinning threads.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path

__all__ = [
    "machine_info",
    "time_interleaved",
    "summarize",
    "format_table",
    "markdown_table",
    "write_results",
]


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _cpu_flags() -> list[str]:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.lower().startswith("flags"):
                    flags = line.split(":", 1)[1].split()
                    return sorted(f for f in flags if f.startswith(("avx", "fma", "sse4")))
    except OSError:
        pass
    return []


def _mem_available_gib() -> float | None:
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) / 2**20
    except OSError:
        pass
    return None


def machine_info(**extra) -> dict:
    """Facts about the machine and the software, for the results files.

    Parameters
    ----------
    **extra
        Added as is (e.g. ``torch="2.13.0"``, ``gpu="..."``).
    """
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cores = os.cpu_count()
    info = {
        "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "cpu_model": _cpu_model(),
        "cpu_flags": " ".join(_cpu_flags()),
        "cores": cores,
        "mem_available_gib": _mem_available_gib(),
        "load_average": os.getloadavg() if hasattr(os, "getloadavg") else None,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
    }
    try:
        import numpy

        info["numpy"] = numpy.__version__
    except ImportError:  # pragma: no cover
        pass
    info.update(extra)
    return info


def time_interleaved(
    fns: Mapping[str, Callable[[], object]],
    repeats: int,
    warmup: int = 1,
    max_seconds: float | None = None,
    *,
    block: int = 1,
    settle: int = 0,
    settle_seconds: float = 0.0,
) -> dict[str, list[float]]:
    """Time every callable, round-robin, after ``warmup`` untimed rounds.

    Parameters
    ----------
    fns : mapping of name to zero-argument callable
    repeats : int
        Timed rounds.  In each round every callable takes a turn: ``settle``
        untimed calls, then ``block`` timed calls.
    warmup : int, optional
        Untimed rounds first (allocations, thread pools, caches).
    max_seconds : float, optional
        Stop after the round in which the elapsed time passes this (at least
        one timed round always runs).
    block : int, optional
        Timed calls per turn (each one is a sample).
    settle : int, optional
        Untimed calls at the start of each turn (see the module docstring).
    settle_seconds : float, optional
        More untimed calls at the start of each turn, until their total time
        reaches this (after the ``settle`` calls).

    Returns
    -------
    dict of name to list of seconds (``block`` samples per round)
    """
    if block < 1 or settle < 0 or not settle_seconds >= 0:
        raise ValueError(f"time_interleaved: need block >= 1, settle >= 0 and "
                         f"settle_seconds >= 0, found block={block}, settle={settle}, "
                         f"settle_seconds={settle_seconds}")
    for _ in range(warmup):
        for f in fns.values():
            f()
    times: dict[str, list[float]] = {k: [] for k in fns}
    start = time.perf_counter()
    for _ in range(max(1, repeats)):
        for k, f in fns.items():
            for _ in range(settle):
                f()
            if settle_seconds > 0:
                t_end = time.perf_counter() + settle_seconds
                while time.perf_counter() < t_end:
                    f()
            for _ in range(block):
                t0 = time.perf_counter()
                f()
                times[k].append(time.perf_counter() - t0)
        if max_seconds is not None and time.perf_counter() - start > max_seconds:
            break
    return times


def summarize(ts: Sequence[float]) -> dict:
    """Median, min, max and count of a list of times (seconds)."""
    return {
        "median_s": statistics.median(ts),
        "min_s": min(ts),
        "max_s": max(ts),
        "repeats": len(ts),
    }


def _cell(v) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        if v == 0:
            return "0"
        a = abs(v)
        if a >= 100:
            return f"{v:.0f}"
        if a >= 10:
            return f"{v:.1f}"
        if a >= 0.01:
            return f"{v:.3g}" if a < 1 else f"{v:.2f}"
        return f"{v:.2e}"
    return str(v)


def format_table(rows: Iterable[Mapping], columns: Sequence[str]) -> str:
    """Plain-text table (for the terminal) of the given columns."""
    rows = list(rows)
    cells = [[_cell(r.get(c)) for c in columns] for r in rows]
    widths = [max([len(c)] + [len(row[i]) for row in cells]) for i, c in enumerate(columns)]
    line = "  ".join(c.ljust(w) for c, w in zip(columns, widths))
    out = [line, "  ".join("-" * w for w in widths)]
    for row in cells:
        out.append("  ".join(v.rjust(w) if i else v.ljust(w)
                             for i, (v, w) in enumerate(zip(row, widths))))
    return "\n".join(out)


def markdown_table(rows: Iterable[Mapping], columns: Sequence[str]) -> str:
    """GitHub-flavoured Markdown table of the given columns."""
    rows = list(rows)
    out = ["| " + " | ".join(columns) + " |",
           "|" + "|".join("---" if i == 0 else "---:" for i in range(len(columns))) + "|"]
    for r in rows:
        out.append("| " + " | ".join(_cell(r.get(c)) for c in columns) + " |")
    return "\n".join(out)


def write_results(
    out_dir: str | os.PathLike,
    stem: str,
    *,
    title: str,
    meta: Mapping,
    tables: Sequence[tuple[str, Sequence[Mapping], Sequence[str]]],
    notes: str = "",
) -> tuple[Path, Path]:
    """Write ``<stem>.json`` and ``<stem>.md`` into ``out_dir``.

    Parameters
    ----------
    out_dir : path
        Created if missing.
    stem : str
        File name without extension.
    title : str
        Markdown heading.
    meta : mapping
        Machine facts and settings (:func:`machine_info` plus anything else).
    tables : sequence of (heading, rows, columns)
        Each becomes a Markdown table; the JSON keeps every row in full.
    notes : str, optional
        Markdown paragraph(s) placed after the machine facts.

    Returns
    -------
    (json_path, md_path)
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    jpath = out / f"{stem}.json"
    mpath = out / f"{stem}.md"
    payload = {"title": title, "meta": dict(meta),
               "tables": {h: list(map(dict, rows)) for h, rows, _ in tables}}
    jpath.write_text(json.dumps(payload, indent=1, default=str) + "\n")
    md = [f"# {title}", "", "| fact | value |", "|---|---|"]
    for k, v in meta.items():
        md.append(f"| {k} | {v} |")
    md.append("")
    if notes:
        md += [notes.strip(), ""]
    for heading, rows, cols in tables:
        md += [f"## {heading}", "", markdown_table(rows, cols), ""]
    mpath.write_text("\n".join(md))
    return jpath, mpath
