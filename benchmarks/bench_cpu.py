"""CPU benchmark: fused softmax-cross-entropy forward + backward.

Usage::

    .venv/bin/python benchmarks/bench_cpu.py [--quick] [--out benchmarks/results]

For each shape and dtype, times side by side (interleaved, median of many
repeats after a warm-up):

* ``fused``: :func:`softmaxlab.kernels.cpu.ce_rows_numpy` with a reused
  ``out=`` buffer (gradient of the mean loss);
* ``lib``, ``lib+validate``: the public
  :func:`softmaxlab.losses.cross_entropy_with_grad` (``validate=False`` /
  ``True``, ``reduction="mean"``, same ``out=`` buffer);
* ``numpy-plain``: a plain max-shifted NumPy composition
  (softmax, ``-log p_y``, ``(p - onehot) / N``);
* ``torch``: ``F.cross_entropy`` forward + ``backward()`` on a leaf tensor,
  ``torch.set_num_threads(<cores>)``;
* limits: ``copy`` (``np.copyto`` of the same array: read + write bandwidth),
  ``exp-1t`` and ``exp-Nt`` (``np.exp`` alone over the array, on one thread and
  on all cores, which is a floor for any NumPy softmax).

Prints a table and writes ``cpu-<date>.json`` / ``.md`` into the out folder.
Other processes on the machine add noise; the interleaving keeps the ratios
fair, and the load average is recorded.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import format_table, machine_info, summarize, time_interleaved, write_results  # noqa: E402

from softmaxlab.kernels import cpu as K  # noqa: E402
from softmaxlab.losses import cross_entropy_with_grad  # noqa: E402

try:
    import torch
    import torch.nn.functional as F
except ImportError:
    torch = None

SHAPES = [(128, 10), (256, 1000), (4096, 1000), (8192, 32000)]
QUICK_SHAPES = [(128, 10), (256, 1000), (4096, 1000), (512, 32000)]
DTYPES = [np.float32, np.float64]


def plain_numpy(z, y):
    """The textbook composition: a new array for every step."""
    N = z.shape[0]
    e = np.exp(z - z.max(axis=1, keepdims=True))
    p = e / e.sum(axis=1, keepdims=True)
    del e
    loss = -np.log(p[np.arange(N), y]).mean()
    grad = p
    grad[np.arange(N), y] -= 1
    grad /= N
    return loss, grad


def exp_threads(z, out, nt):
    """``np.exp`` over row chunks on ``nt`` threads (the kernel's pool)."""
    N = z.shape[0]
    if nt == 1 or N < nt:
        np.exp(z, out=out)
        return
    b = [N * k // nt for k in range(nt + 1)]
    pool = K._get_pool(nt - 1)
    futs = [pool.submit(np.exp, z[b[k]:b[k + 1]], out=out[b[k]:b[k + 1]]) for k in range(1, nt)]
    np.exp(z[b[0]:b[1]], out=out[b[0]:b[1]])
    for f in futs:
        f.result()


#: Untimed calls at the start of each method's turn last at least this long:
#: PyTorch's idle OpenMP threads spin for about 10 ms after its last call.
SETTLE_SECONDS = 0.03


def repeats_for(nbytes: int, quick: bool) -> tuple[int, int, int]:
    """(rounds, warmup, block) so that a case takes seconds, not minutes.

    Each round gives every method untimed calls for ``SETTLE_SECONDS`` (at
    least one), then ``block`` timed ones (see ``_common.time_interleaved``).
    """
    if quick:
        return (5, 1, 3) if nbytes < 2**28 else (2, 1, 1)
    if nbytes >= 2**30:
        return 3, 1, 1
    if nbytes >= 2**28:
        return 5, 1, 1
    if nbytes >= 2**22:
        return 20, 3, 2
    if nbytes >= 2**18:
        return 40, 10, 5
    return 100, 50, 10


def bench_case(N, C, dtype, nt, quick, rng):
    nbytes = N * C * np.dtype(dtype).itemsize
    z = (2.0 * rng.standard_normal((N, C), dtype=np.float32)).astype(dtype, copy=False)
    y = rng.integers(0, C, N)
    out = np.empty_like(z)
    out.fill(0)  # touch the pages once, outside the timings

    fns = {}
    fns["fused"] = lambda: K.ce_rows_numpy(z, y, grad_scale=1.0 / N, out=out)
    fns["lib"] = lambda: cross_entropy_with_grad(z, y, validate=False, out=out)
    fns["lib+validate"] = lambda: cross_entropy_with_grad(z, y, validate=True, out=out)
    fns["numpy-plain"] = lambda: plain_numpy(z, y)
    if torch is not None:
        zt = torch.from_numpy(z)
        yt = torch.from_numpy(y)

        def torch_fb():
            a = zt.detach().requires_grad_(True)
            F.cross_entropy(a, yt).backward()
            return a.grad

        fns["torch"] = torch_fb
    fns["copy"] = lambda: np.copyto(out, z)
    fns["exp-1t"] = lambda: np.exp(z, out=out)
    fns[f"exp-{nt}t"] = lambda: exp_threads(z, out, nt)

    # Correctness check before timing: the fused result matches the plain one.
    lf, gf = K.ce_rows_numpy(z, y, grad_scale=1.0 / N, out=out)
    lp, gp = plain_numpy(z, y)
    tol = 1e-4 if dtype == np.float32 else 1e-10
    assert abs(lf.mean() - lp) <= tol * abs(lp), (lf.mean(), lp)
    k = min(N, 256)  # a slice: allclose over N x C would allocate several N x C arrays
    assert np.allclose(gf[:k], gp[:k], rtol=tol, atol=tol / C), "fused gradient differs"
    del gp, gf

    rounds, warmup, block = repeats_for(nbytes, quick)
    times = time_interleaved(fns, rounds, warmup, max_seconds=60.0 if not quick else 10.0,
                             block=block, settle=1, settle_seconds=SETTLE_SECONDS)
    stats = {k: summarize(v) for k, v in times.items()}
    t_torch = stats["torch"]["median_s"] if "torch" in stats else None
    t_exp = stats[f"exp-{nt}t"]["median_s"]
    rows = []
    for k, s in stats.items():
        row = {
            "shape": f"{N}x{C}",
            "dtype": np.dtype(dtype).name,
            "method": k,
            "median_ms": s["median_s"] * 1e3,
            "min_ms": s["min_s"] * 1e3,
            "repeats": s["repeats"],
            "torch/this": (t_torch / s["median_s"]) if t_torch else None,
            "this/exp": s["median_s"] / t_exp,
        }
        if k == "copy":
            row["GB/s"] = 2 * nbytes / s["median_s"] / 1e9
        rows.append(row)
    return rows


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="short smoke run")
    ap.add_argument("--out", default=str(Path(__file__).resolve().parent / "results"),
                    help="folder for cpu-<date>.json / .md (default: benchmarks/results)")
    ap.add_argument("--no-write", action="store_true", help="print only")
    ap.add_argument("--dtypes", default=",".join(np.dtype(d).name for d in DTYPES),
                    help="comma-separated dtypes (default: float32,float64)")
    args = ap.parse_args(argv)

    nt = K.default_num_threads()
    if torch is not None:
        torch.set_num_threads(nt)
    meta = machine_info(
        torch=getattr(torch, "__version__", None),
        torch_threads=torch.get_num_threads() if torch is not None else None,
        softmaxlab_threads=nt,
        block_bytes=K.BLOCK_BYTES,
        thread_min_elements=K.THREAD_MIN_ELEMENTS,
        settle_seconds=SETTLE_SECONDS,
        omp_wait_policy=os.environ.get("OMP_WAIT_POLICY"),
        quick=args.quick,
    )
    print(f"# {meta['cpu_model']}, {nt} cores, numpy {meta['numpy']}, torch {meta['torch']}, "
          f"load {meta['load_average']}", flush=True)
    rng = np.random.default_rng(0)
    rows = []
    cols = ["shape", "dtype", "method", "median_ms", "min_ms", "repeats", "torch/this",
            "this/exp", "GB/s"]
    t0 = time.perf_counter()
    for N, C in (QUICK_SHAPES if args.quick else SHAPES):
        for dtype in [np.dtype(d).type for d in args.dtypes.split(",")]:
            need = 6 * N * C * np.dtype(dtype).itemsize / 2**30
            avail = meta["mem_available_gib"]
            if avail is not None and need > 0.9 * avail:
                print(f"skip {N}x{C} {np.dtype(dtype).name}: needs ~{need:.1f} GiB, "
                      f"{avail:.1f} GiB available", flush=True)
                continue
            case = bench_case(N, C, dtype, nt, args.quick, rng)
            rows += case
            print(format_table(case, cols), "\n", flush=True)
            gc.collect()
    meta["run_seconds"] = round(time.perf_counter() - t0, 1)
    meta["load_average_end"] = os.getloadavg()

    summary = []
    by = {(r["shape"], r["dtype"], r["method"]): r for r in rows}
    for (shape, dtn, method), r in by.items():
        if method != "fused":
            continue
        g = lambda m: by.get((shape, dtn, m), {}).get("median_ms")  # noqa: E731, B023 (called at once, in this iteration)
        summary.append({
            "shape": shape, "dtype": dtn, "fused_ms": r["median_ms"],
            "lib_ms": g("lib"), "lib+validate_ms": g("lib+validate"),
            "numpy-plain_ms": g("numpy-plain"), "torch_ms": g("torch"),
            "torch/fused": r["torch/this"],
            "torch/lib": by.get((shape, dtn, "lib"), {}).get("torch/this"),
            "torch/lib+validate": by.get((shape, dtn, "lib+validate"), {}).get("torch/this"),
            "torch/numpy-plain": by.get((shape, dtn, "numpy-plain"), {}).get("torch/this"),
            f"exp-{nt}t_ms": g(f"exp-{nt}t"), "fused/exp": r["this/exp"],
            "copy_GB/s": by.get((shape, dtn, "copy"), {}).get("GB/s"),
        })
    scols = list(summary[0].keys()) if summary else []
    print(format_table(summary, scols))
    if not args.no_write:
        stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%d-%H%M")
        stem = f"cpu-{stamp}" + ("-quick" if args.quick else "")
        notes = (
            "Times are medians over interleaved rounds; in each round every method first "
            f"runs untimed for at least {SETTLE_SECONDS * 1e3:.0f} ms (one call at least), then "
            "a block of timed calls, so that PyTorch's still-spinning OpenMP threads do not "
            "slow the next method (see benchmarks/_common.py). "
            "Forward + backward of the mean cross-entropy; "
            "`lib` is the public `cross_entropy_with_grad`, `fused` the kernel under it; "
            "`torch/this` > 1 means faster "
            "than PyTorch; `this/exp` is the time over `np.exp` alone on all cores "
            "(the floor for a NumPy softmax). `copy` GB/s counts read + write. "
            "Other processes shared the machine: see the load averages."
        )
        j, m = write_results(args.out, stem, title="softmaxlab CPU benchmark: "
                             "softmax cross-entropy forward + backward", meta=meta,
                             tables=[("Summary", summary, scols), ("All methods", rows, cols)],
                             notes=notes)
        print(f"wrote {j} and {m}")


if __name__ == "__main__":
    main()
