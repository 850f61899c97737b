#!/usr/bin/env bash
# The ONE script a GPU session runs: softmaxlab's checks that need CuPy and a CUDA device.
#
# WHERE: on the device machine (H100/H200, CuPy 14.x, PyTorch, pytest, hypothesis
# installed; no internet), from the repository root:
#
#     OUT=/path/for/results bash benchmarks/gpu_session.sh            # every step
#     OUT=... bash benchmarks/gpu_session.sh kernel bench             # some steps
#     bash benchmarks/gpu_session.sh --dry-run                        # no GPU needed
#
# Steps (in this order; each has its own `timeout`, all output is tee'd into $OUT):
#   info      nvidia-smi -L and the versions of Python, CUDA, CuPy, torch, NumPy, pytest, nbval
#   kernel    pytest -q tests/test_cuda_kernels.py          (fused CUDA kernels vs float64 / torch)
#   bench     benchmarks/bench_gpu.py --out $OUT            (fused CE vs CuPy-plain vs torch vs floor)
#   suite     SOFTMAXLAB_BACKEND=cupy pytest tests softmaxlab --doctest-modules
#             (tests/test_book.py is left out: its strict book build needs jupyter-book;
#             tests/test_cuda_kernels.py too: the kernel step ran it; and
#             tests/test_notebooks_portable.py, the CPU stand-in for the next step)
#   notebooks SOFTMAXLAB_BACKEND=cupy pytest --nbval book/  (every notebook, executed on CuPy)
# The benchmark runs right after the kernel tests (the brief listed it last) so that a
# session cut short still gets the numbers only a GPU can give.
#
# BUDGET: a GPU session has about 15 minutes of device time, one command at most
# 10 minutes, and the machine's start-up counts.  The whole script stops starting
# steps once GPU_SESSION_BUDGET seconds (default 540) have passed, and no step's
# timeout runs past that budget.  Per-step limits (seconds): T_KERNEL=180 T_BENCH=120
# T_SUITE=180 T_NOTEBOOKS=150.  A first run also compiles the CUDA kernels with NVRTC
# (about 30 s, cached afterwards in ~/.cupy/kernel_cache for the later steps).
# To split the work over two commands:  `... gpu_session.sh kernel bench`, then
# `... gpu_session.sh suite notebooks` (each appends to $OUT/gpu-run.md).
#
# WHEELS: nbval, ipykernel, array-api-compat (a core dependency of softmaxlab) and
# array-api-strict (the strict test leg) are not on the device machine.  Before the session, on a
# machine with internet, put their wheels (and their dependencies) into .whl/ at the
# repository root (.whl/ is git-ignored; the session carries it over):
#
#     pip download --only-binary=:all: --python-version 3.12 --implementation cp \
#         --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 \
#         --platform manylinux2014_x86_64 -d .whl nbval ipykernel array-api-compat array-api-strict
#     cd .whl && rm -f pytest-* pluggy-* iniconfig-* packaging-* pygments-* psutil-* \
#         attrs-* coverage-* python_dateutil-* typing_extensions-* tzdata-* numpy-*
#
# This script installs them without the network into /tmp/site
# (pip install --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl) and
# runs everything with PYTHONPATH=/tmp/site:$PWD.
#
# RESULTS: $OUT (default ./gpu-out) receives one log per step (<step>.log), the
# benchmark's gpu-<date>.json / .md, and gpu-run.md: one Markdown table row per step
# (date, card, CuPy version, step, status, pytest counts, seconds).  The session then
# appends gpu-run.md's rows to benchmarks/results/GPU-RUNS.md and copies the benchmark
# files into benchmarks/results/.
#
# The exit status is 0 when every step that ran passed, 1 otherwise.

set -u
set -o pipefail

DRY_RUN=0
STEPS=()
for arg in "$@"; do
    case "$arg" in
        --dry-run) DRY_RUN=1 ;;
        -h|--help) sed -n '2,/^$/p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        info|kernel|bench|suite|notebooks) STEPS+=("$arg") ;;
        *) echo "gpu_session.sh: unknown argument '$arg' (steps: info kernel bench suite notebooks; --dry-run)" >&2; exit 2 ;;
    esac
done
if [ ${#STEPS[@]} -eq 0 ]; then
    STEPS=(info kernel bench suite notebooks)
fi

cd "$(dirname "$0")/.." || exit 2
ROOT=$PWD
OUT=${OUT:-$ROOT/gpu-out}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
PY=${PYTHON:-python3}
BUDGET=${GPU_SESSION_BUDGET:-540}
T_KERNEL=${T_KERNEL:-180}
T_BENCH=${T_BENCH:-120}
T_SUITE=${T_SUITE:-180}
T_NOTEBOOKS=${T_NOTEBOOKS:-150}
START=$(date +%s)
SUMMARY=$OUT/gpu-run.md
FAILED=0

log() { echo "[gpu_session $(date -u +%H:%M:%S)] $*" | tee -a "$OUT/session.log"; }

# --- wheels for nbval / ipykernel (offline) ---------------------------------------
SITE=/tmp/site
if compgen -G ".whl/*.whl" > /dev/null; then
    if [ $DRY_RUN -eq 1 ]; then
        log "dry run: would install $(find .whl -maxdepth 1 -name '*.whl' | wc -l) wheels from .whl/ into $SITE"
    else
        log "installing $(find .whl -maxdepth 1 -name '*.whl' | wc -l) wheels from .whl/ into $SITE"
        "$PY" -m pip install -q --no-index --no-deps --no-compile --target "$SITE" .whl/*.whl \
            2>&1 | tee -a "$OUT/session.log"
    fi
else
    log "no .whl/ wheels: the notebooks step needs nbval and ipykernel already installed"
fi
export PYTHONPATH="$SITE:$ROOT${PYTHONPATH:+:$PYTHONPATH}"
export PYTHONDONTWRITEBYTECODE=1

# --- facts for the summary ---------------------------------------------------------
CARD=$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -n 1)
CARD=${CARD:-no GPU}
CUPY_VER=$("$PY" -c "import cupy; print(cupy.__version__)" 2>/dev/null || echo absent)
if [ ! -f "$SUMMARY" ]; then
    {
        echo "| date (UTC) | card | CuPy | step | status | pytest / result | seconds |"
        echo "|---|---|---|---|---|---|---:|"
    } > "$SUMMARY"
fi

# pytest's last summary line, e.g. "120 passed, 3 skipped in 12.30s" -> "120 passed, 3 skipped"
pytest_counts() {
    grep -E '[0-9]+ (passed|failed|error|errors|skipped|deselected|xfailed|xpassed)' "$1" \
        | tail -n 1 | sed -E 's/=+//g; s/ in [0-9.]+s.*$//; s/^ +| +$//g'
}

remaining() { echo $(( BUDGET - ($(date +%s) - START) )); }

# run_step NAME LIMIT COMMAND...: runs with timeout, tees into $OUT/NAME.log, writes a summary row
run_step() {
    local name=$1 limit=$2
    shift 2
    local left
    left=$(remaining)
    if [ "$left" -lt 20 ]; then
        log "step $name: not started, session budget ($BUDGET s) spent"
        echo "| $(date -u +%Y-%m-%dT%H:%M) | $CARD | $CUPY_VER | $name | NOT RUN | budget spent | 0 |" >> "$SUMMARY"
        FAILED=1
        return
    fi
    [ "$limit" -gt "$left" ] && limit=$left
    log "step $name (timeout ${limit}s): $(printf '%s ' "$@" | tr -s ' \n' ' ' | cut -c 1-160)"
    if [ $DRY_RUN -eq 1 ]; then
        echo "| $(date -u +%Y-%m-%dT%H:%M) | $CARD | $CUPY_VER | $name | dry run | - | 0 |" >> "$SUMMARY"
        return
    fi
    local t0 rc status counts
    t0=$(date +%s)
    timeout --kill-after=10 "$limit" "$@" 2>&1 | tee "$OUT/$name.log"
    rc=${PIPESTATUS[0]}
    case $rc in
        0) status=passed ;;
        124|137) status="TIMEOUT (${limit}s)" ;;
        5) status="no tests" ;;
        *) status="FAILED (rc $rc)" ;;
    esac
    [ "$rc" -ne 0 ] && FAILED=1
    counts=$(pytest_counts "$OUT/$name.log")
    if [ "$name" = bench ]; then
        counts="$(grep -cE '^PASS ' "$OUT/$name.log") targets passed, $(grep -cE '^FAIL ' "$OUT/$name.log") failed"
    fi
    echo "| $(date -u +%Y-%m-%dT%H:%M) | $CARD | $CUPY_VER | $name | $status | ${counts:--} | $(( $(date +%s) - t0 )) |" >> "$SUMMARY"
    log "step $name: $status ${counts:-}"
}

for step in "${STEPS[@]}"; do
    case $step in
        info)
            run_step info 60 bash -c '
                nvidia-smi -L || echo "nvidia-smi: not available"
                nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv || true
                '"$PY"' - <<"EOF"
import importlib, platform, sys
print("python", sys.version.split()[0], platform.platform())
for name in ("numpy", "cupy", "torch", "pytest", "hypothesis", "nbval", "ipykernel", "softmaxlab"):
    try:
        mod = importlib.import_module(name)
        print(name, getattr(mod, "__version__", "?"), getattr(mod, "__file__", ""))
    except Exception as exc:
        print(name, "absent:", type(exc).__name__, exc)
try:
    import cupy
    rt = cupy.cuda.runtime
    print("CUDA runtime", rt.runtimeGetVersion(), "driver", rt.driverGetVersion(), "devices", rt.getDeviceCount())
    p = rt.getDeviceProperties(0)
    print("device 0:", p["name"], "cc", p["major"], p["minor"], "smem opt-in", p.get("sharedMemPerBlockOptin"))
except Exception as exc:
    print("cupy device: unavailable:", type(exc).__name__, exc)
try:
    import torch
    print("torch cuda", torch.version.cuda, "available", torch.cuda.is_available())
except Exception:
    pass
EOF'
            ;;
        kernel)
            run_step kernel "$T_KERNEL" "$PY" -m pytest -q -p no:cacheprovider -rs tests/test_cuda_kernels.py
            ;;
        bench)
            run_step bench "$T_BENCH" "$PY" benchmarks/bench_gpu.py --out "$OUT"
            ;;
        suite)
            run_step suite "$T_SUITE" env SOFTMAXLAB_BACKEND=cupy "$PY" -m pytest -q -p no:cacheprovider \
                tests softmaxlab --doctest-modules --ignore=tests/test_book.py \
                --ignore=tests/test_cuda_kernels.py --ignore=tests/test_notebooks_portable.py
            ;;
        notebooks)
            run_step notebooks "$T_NOTEBOOKS" env SOFTMAXLAB_BACKEND=cupy "$PY" -m pytest --nbval -q \
                -p no:cacheprovider book/
            ;;
    esac
done

log "done in $(( $(date +%s) - START )) s; summary in $SUMMARY"
cat "$SUMMARY"
exit $FAILED
