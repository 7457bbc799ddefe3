#!/usr/bin/env bash
# CnnLab against PyTorch 1.13 (Debian) and OpenBLAS, interleaved in one run; prints a Markdown table.
# Usage: bench/compare-pytorch.sh [SECONDS] [--models-only] [ROUNDS]   (default 8 s of timed training per row, framework and
#        round; --models-only skips the GEMM and convolution sections; ROUNDS, default 3: CnnLab and PyTorch alternate that
#        many times per row, and the row shows each one's median and the range of the rounds' ratios, so that a burst of
#        the host's noise during one run moves a row less). MODELS="a b.json …" (names as the rows take them) runs only
#        those rows, at one thread.
# Writes nothing but stdout; commit its output as bench/RESULTS.md.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER_RUN="${1:-8}"
MODELS_ONLY="${2:-}"
ROUNDS="${3:-3}"
PY=/usr/bin/python3

need=()
$PY -c 'import torch' 2>/dev/null || need+=(python3-torch)
$PY -c 'import numpy' 2>/dev/null || need+=(python3-numpy)
ls /usr/lib/x86_64-linux-gnu/openblas-pthread/libblas.so.3 >/dev/null 2>&1 || need+=(libopenblas0-pthread)
if [ ${#need[@]} -gt 0 ]; then
  echo "installing ${need[*]}" >&2
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
  $SUDO apt-get install -y "${need[@]}" >&2
fi

dotnet build -c Release src/CnnLab.Cli >&2
CNNLAB="dotnet src/CnnLab.Cli/bin/Release/net10.0/cnnlab.dll"
TUNED="glibc.malloc.mmap_max=0:glibc.malloc.trim_threshold=17179869184"

field() { $PY -c "import json,sys; d=json.loads(sys.stdin.read().strip().splitlines()[-1]); print(d$1)"; }
ratio() { $PY -c "print(f'{$1/$2:.2f}x')"; }
fmt() { $PY -c "print(f'{$1:.0f}')"; }

echo "# CnnLab vs PyTorch $($PY -c 'import torch; print(torch.__version__)') and OpenBLAS"
echo
echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "- machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), $(nproc) CPUs, $(free -g | awk '/Mem:/{print $2}') GiB"
echo "- .NET: $(dotnet --version); load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "- method: the README's training loop (ZeroGrad, Forward, CrossEntropy, Backward, Step) on random N(0,1) images (a spec's input shape; zoo models 1x28x28), SGD(lr 0.01, momentum 0.9), ${SECONDS_PER_RUN} s timed training after an untimed warm-up of 5 steps and then 2 s (both frameworks; .NET's tiered JIT optimizes the kernels over the first 1-2 s), inference at batch 1000 for half as long; CnnLab and PyTorch alternate ${ROUNDS} times for each row (CnnLab first); a row shows each framework's median images/s, the ratio of the medians and the range of the rounds' own ratios."
echo "- PyTorch runs with GLIBC_TUNABLES=$TUNED (its best; glibc's default malloc re-faults its big buffers every step) unless the row says 'default malloc'."
echo
echo "## Training and inference (images/s, batch 128)"
echo
echo "| model | threads | CnnLab train | PyTorch train | ratio | rounds' ratios | CnnLab infer | PyTorch infer | ratio | CnnLab peak MB | PyTorch peak MB | CnnLab GCs (gen2), first round | load after each round |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|"
median() { $PY -c "import statistics, sys; print(statistics.median(float(v) for v in sys.argv[1:]))" "$@"; }
spread() { $PY -c "
import sys
n = len(sys.argv) // 2; c, p = sys.argv[1:n + 1], sys.argv[n + 1:]
r = [float(a) / float(b) for a, b in zip(c, p)]
print(f'{min(r):.2f}-{max(r):.2f}')" "$@"; }
row() {  # model threads [default-malloc]: ROUNDS alternations of CnnLab then PyTorch
  local model=$1 t=$2 mode=${3:-}
  local c p ct=() pt=() ci=() pi=() cm=() pm=() gc=() loads=()
  for _ in $(seq "$ROUNDS"); do
    c=$($CNNLAB bench --model "$model" --batch 128 --threads "$t" --seconds "$SECONDS_PER_RUN" --json)
    if [ "$mode" = default ]; then
      p=$(env -u GLIBC_TUNABLES $PY bench/pytorch_bench.py --model "$model" --batch 128 --threads "$t" --seconds "$SECONDS_PER_RUN")
    else
      p=$(GLIBC_TUNABLES=$TUNED $PY bench/pytorch_bench.py --model "$model" --batch 128 --threads "$t" --seconds "$SECONDS_PER_RUN")
    fi
    ct+=("$(echo "$c" | field "['train_images_per_sec']")"); pt+=("$(echo "$p" | field "['train_images_per_sec']")")
    ci+=("$(echo "$c" | field "['infer_images_per_sec']")"); pi+=("$(echo "$p" | field "['infer_images_per_sec']")")
    cm+=("$(echo "$c" | field "['peak_working_set_mb']")"); pm+=("$(echo "$p" | field "['peak_working_set_mb']")")
    gc+=("$(echo "$c" | field "['gc_collections']") ($(echo "$c" | field "['gc_gen2']"))")
    loads+=("$(cut -d' ' -f1 /proc/loadavg)")
  done
  local label=$model mct mpt mci mpi
  case "$model" in *.json) label="$(basename "$model" .json) (bench/models)";; esac
  mct=$(median "${ct[@]}"); mpt=$(median "${pt[@]}"); mci=$(median "${ci[@]}"); mpi=$(median "${pi[@]}")
  echo "| $label${mode:+ (PyTorch default malloc)} | $t | $(fmt "$mct") | $(fmt "$mpt") | $(ratio "$mct" "$mpt") | $(spread "${ct[@]}" "${pt[@]}") | $(fmt "$mci") | $(fmt "$mpi") | $(ratio "$mci" "$mpi") | $(fmt "$(median "${cm[@]}")") | $(fmt "$(median "${pm[@]}")") | ${gc[0]} | ${loads[*]} |"
}
if [ -n "${MODELS:-}" ]; then
  for model in $MODELS; do row "$model" 1; done
  exit 0
fi
for model in cnn-small cnn-bn lenet5; do
  for t in 1 2; do row "$model" "$t"; done
done
row cnn-small 1 default
# Networks nobody tuned for: the rest of the zoo and bench/models (one thread, the stable reference).
for model in resnet-mini plain-cnn-20 bench/models/*.json; do row "$model" 1; done
[ "$MODELS_ONLY" = "--models-only" ] && exit 0

echo
echo "## GEMM (GFLOP/s, best of runs; OpenBLAS through numpy with OPENBLAS_CORETYPE unset)"
echo
echo "| case | threads | CnnLab | OpenBLAS | ratio |"
echo "|---|---|---|---|---|"
for t in 1 2; do
  c=$($CNNLAB bench --gemm --threads "$t" --json)
  o=$(env -u OPENBLAS_CORETYPE OPENBLAS_NUM_THREADS=$t $PY bench/gemm-openblas.py)
  for name in 256 512 1024 2048 cnn cnnNT cnnTN; do
    cg=$(echo "$c" | field "['gflops']['$name']")
    og=$(echo "$o" | awk -v n="$name" '$1==n {print $3}')
    echo "| $name | $t | $($PY -c "print(f'{$cg:.1f}')") | $og | $(ratio "$cg" "$og") |"
  done
done
echo
echo "## Convolutions against the FMA peak (CnnLab, batch 128, as training runs them)"
echo
echo "GFLOP/s count the plain convolution's multiply-adds (Winograd's fewer count as the ones they replace); the peak is an FMA loop's, measured in the same process (x threads)."
echo
echo "| layer | shape | threads | forward ms | GFLOP/s | of peak | backward ms | GFLOP/s | of peak | runs |"
echo "|---|---|---|---|---|---|---|---|---|---|"
for t in 1 2; do
  c=$($CNNLAB bench --convs --batch 128 --threads "$t" --seconds 6 --json)
  echo "$c" | $PY -c "
import json, sys
d = json.loads(sys.stdin.read().strip().splitlines()[-1])
peak = d['fma_peak_gflops']
for r in d['layers']:
    print(f\"| {r['layer']} | {r['shape']} | {d['threads']} | {r['forward_ms']:.3f} | {r['forward_gflops']:.0f} | {r['forward_gflops'] / peak:.0%} | {r['backward_ms']:.3f} | {r['backward_gflops']:.0f} | {r['backward_gflops'] / peak:.0%} | {r['runs']} |\")
print(f\"| FMA peak | | {d['threads']} | | {peak:.0f} | 100% | | | | |\")
"
done
echo
echo "Load average at the end: $(cut -d' ' -f1-3 /proc/loadavg). The 2 vCPUs are shared with other work; 1-thread rows are the stable reference, 2-thread rows are 'up to'."
