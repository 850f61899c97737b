"""Linear layer + cross-entropy at language-model sizes: time and peak memory.

Usage::

    .venv/bin/python benchmarks/bench_linear_ce.py [--quick] [--out benchmarks/results]

For (N, H, V) = (4096, 256, 32000) and (2048, 512, 128256) in float32, the
loss of the scores ``hidden @ weight.T + bias`` and its three gradients
(hidden, weight, bias) by three methods:

* ``chunked``: :func:`softmaxlab.linear_cross_entropy_with_grad` (blocks of at
  most ``chunk_size`` scores; every chunk size of ``--chunks`` is measured);
* ``materialised``: the composition with softmaxlab, ``z = h @ W.T + b``,
  :func:`softmaxlab.cross_entropy_with_grad`, then ``dz @ W``, ``dz.T @ h``,
  ``dz.sum(0)`` (the N x V scores and their gradient exist at once);
* ``torch``: ``F.cross_entropy(h @ W.T + b, y).backward()`` on leaf tensors,
  ``torch.set_num_threads(<cores>)``.

Peak memory is the peak resident set size (``ru_maxrss``) of a *fresh* Python
process that builds the inputs, records its RSS, runs the method once and
reports its peak: so PyTorch's allocations count as much as NumPy's.  The
table gives both the whole peak and the method's own part (peak minus the RSS
with the inputs in place, which still counts the gradients it returns).
Times are medians of interleaved rounds in one process (``_common.py``).
The load average is recorded at the start and the end: the machine is shared.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import subprocess
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from _common import format_table, machine_info, summarize, time_interleaved, write_results  # noqa: E402

SHAPES = [(4096, 256, 32000), (2048, 512, 128256)]
QUICK_SHAPES = [(1024, 128, 8000)]
CHUNKS = [2 ** 20, 2 ** 22, 2 ** 23]
MEMORY_TARGET = 1 / 8      # peak memory <= 1/8 of the materialised composition's
TIME_TARGET = 1.25         # time <= 1.25 x the materialised composition's


def make_inputs(n, h, v, seed=0):
    rng = np.random.default_rng(seed)
    hidden = rng.standard_normal((n, h), dtype=np.float32)
    weight = (rng.standard_normal((v, h), dtype=np.float32) / np.float32(np.sqrt(h)))
    bias = 0.1 * rng.standard_normal(v, dtype=np.float32)
    target = rng.integers(0, v, n)
    return hidden, weight, bias, target


def method(name, hidden, weight, bias, target, chunk=None):
    """A zero-argument callable running loss + three gradients by `name`."""
    import softmaxlab as sml

    if name == "chunked":
        def run():
            loss, g = sml.linear_cross_entropy_with_grad(
                hidden, weight, target, bias=bias, chunk_size=chunk, validate=False)
            return float(loss), g
        return run
    if name == "materialised":
        def run():
            z = hidden @ weight.T
            z += bias
            loss, dz = sml.cross_entropy_with_grad(z, target, validate=False)
            return float(loss), (dz @ weight, dz.T @ hidden, dz.sum(axis=0))
        return run
    if name == "torch":
        import torch
        import torch.nn.functional as F

        th = torch.from_numpy(hidden).requires_grad_()
        tw = torch.from_numpy(weight).requires_grad_()
        tb = torch.from_numpy(bias).requires_grad_()
        ty = torch.from_numpy(target)

        def run():
            th.grad = tw.grad = tb.grad = None
            loss = F.cross_entropy(th @ tw.T + tb, ty)
            loss.backward()
            return float(loss.detach()), (th.grad, tw.grad, tb.grad)
        return run
    raise ValueError(name)


def _status_mib(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _reset_peak():
    """Start the peak RSS (VmHWM) afresh from the current RSS (Linux)."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def child(args):
    """Run one method once in this (fresh) process; print its memory as JSON."""
    n, h, v = args.shape
    cores = len(os.sched_getaffinity(0))
    if args.method == "torch":
        import torch

        torch.set_num_threads(cores)
    import softmaxlab  # noqa: F401  (imported before the baseline is taken)

    inputs = make_inputs(n, h, v)
    fn = method(args.method, *inputs, chunk=args.chunk)
    # Start the BLAS libraries (OpenBLAS allocates its work buffers at its first
    # product, PyTorch's its own): the libraries' set-up is no method's memory.
    warm = np.ones((256, 256), dtype=np.float32)
    np.matmul(warm, warm)
    if args.method == "torch":
        torch.from_numpy(warm) @ torch.from_numpy(warm)
    # The imports' own peak (a few hundred MiB for PyTorch) must not count:
    # reset the high-water mark once the inputs exist.
    reset = _reset_peak()
    base = _status_mib("VmRSS")
    loss, _ = fn()
    peak = (_status_mib("VmHWM") if reset
            else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    print(json.dumps({"base_mib": base, "peak_mib": peak, "loss": loss,
                      "peak_reset": reset}))


def _chunk_of(name):
    """The chunk size a method name asks for: None for "chunked-default" (the
    library's default) and the methods that have none."""
    c = name.partition("-")[2]
    return int(c) if c and c != "default" else None


def measure_memory(shape, name, chunk=None):
    cmd = [sys.executable, __file__, "--child", name, "--shape", *map(str, shape)]
    if chunk:
        cmd += ["--chunk", str(chunk)]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="one small shape (smoke run)")
    ap.add_argument("--out", default=str(HERE / "results"))
    ap.add_argument("--no-write", action="store_true")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--chunks", type=int, nargs="+", default=CHUNKS)
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--shape", type=int, nargs=3, help=argparse.SUPPRESS)
    ap.add_argument("--chunk", type=int, default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        args.method = args.child
        return child(args)

    import torch

    import softmaxlab as sml

    cores = len(os.sched_getaffinity(0))
    torch.set_num_threads(cores)
    meta = machine_info(torch=torch.__version__, softmaxlab=sml.__version__,
                        default_chunk_size=sml.linear.DEFAULT_CHUNK_SIZE)
    shapes = QUICK_SHAPES if args.quick else SHAPES
    rows = []
    for shape in shapes:
        n, h, v = shape
        print(f"== (N, H, V) = {shape}", flush=True)
        names = (["chunked-default"] + [f"chunked-{c}" for c in args.chunks]
                 + ["materialised", "torch"])
        mem = {}
        for name in names:
            base, c = name.partition("-")[0], _chunk_of(name)
            mem[name] = measure_memory(shape, base, c)
            print(f"   memory {name}: {mem[name]}", flush=True)
        inputs = make_inputs(n, h, v)
        fns = {}
        for name in names:
            base, c = name.partition("-")[0], _chunk_of(name)
            fns[name] = method(base, *inputs, chunk=c)
        ref = fns["materialised"]()
        for name, f in fns.items():  # every method computes the same numbers
            loss, g = f()
            grads = [np.asarray(x.detach().numpy() if hasattr(x, "detach") else x) for x in g]
            ok = (abs(loss - ref[0]) <= 1e-4 * abs(ref[0])
                  and all(np.allclose(a, b, rtol=1e-3, atol=1e-6)
                          for a, b in zip(grads, ref[1])))
            if not ok:
                raise SystemExit(f"{name} disagrees with the materialised composition")
        times = time_interleaved(fns, repeats=args.repeats, warmup=1, settle_seconds=0.05)
        t_mat = summarize(times["materialised"])["median_s"]
        m_mat = mem["materialised"]
        for name in names:
            s = summarize(times[name])
            m = mem[name]
            own = m["peak_mib"] - m["base_mib"]
            own_mat = m_mat["peak_mib"] - m_mat["base_mib"]
            row = {"N x H x V": f"{n}x{h}x{v}", "method": name,
                   "chunk_size": (_chunk_of(name) if name != "chunked-default"
                                  else sml.linear.default_chunk_size(n, v)),
                   "default": name == "chunked-default",
                   "time_s": s["median_s"], "time_vs_materialised": s["median_s"] / t_mat,
                   "peak_rss_mib": m["peak_mib"], "inputs_rss_mib": m["base_mib"],
                   "own_peak_mib": own, "peak_vs_materialised": m["peak_mib"] / m_mat["peak_mib"],
                   "own_vs_materialised": own / own_mat, "repeats": s["repeats"],
                   "min_s": s["min_s"], "max_s": s["max_s"]}
            if name.startswith("chunked"):
                t_torch = summarize(times["torch"])["median_s"]
                row["faster_than_torch"] = s["median_s"] < t_torch
                row["targets"] = ("met" if row["own_vs_materialised"] <= MEMORY_TARGET
                                  and row["time_vs_materialised"] <= TIME_TARGET
                                  and row["faster_than_torch"] else "missed")
            rows.append(row)
            print("  ", {k: row[k] for k in ("method", "time_s", "time_vs_materialised",
                                              "peak_rss_mib", "own_peak_mib",
                                              "own_vs_materialised")}, flush=True)
    meta["load_average_end"] = os.getloadavg()
    cols = ["N x H x V", "method", "time_s", "time_vs_materialised", "peak_rss_mib",
            "own_peak_mib", "own_vs_materialised", "peak_vs_materialised", "targets"]
    print(format_table(rows, cols))
    if not args.no_write:
        stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%d-%H%M")
        stem = f"linear-ce-{stamp}" + ("-quick" if args.quick else "")
        notes = (
            "Loss + gradients for hidden, weight and bias, float32. *own* memory is the "
            "peak RSS of a fresh process minus its RSS with the inputs in place (it "
            "includes the gradients returned). Targets (chunked vs materialised, same "
            f"run): own peak memory <= {MEMORY_TARGET:.3g}, time <= {TIME_TARGET}x, and "
            "faster than PyTorch. The machine is shared: see the load averages.")
        paths = write_results(args.out, stem, title="Linear + cross-entropy benchmark",
                              meta=meta, tables=[("Results", rows, cols)], notes=notes)
        print("wrote", *paths)


if __name__ == "__main__":
    main()
