#!/usr/bin/env bash
# CnnLab inference against ONNX Runtime on CnnLab's own ONNX export, side by side in one process per row
# (bench/CnnLab.Bench's `ort` mode): milliseconds per batch at batch 1 (latency) and 256, one thread; CnnLab in eval mode
# and frozen (Module.Freeze: its weights constants, as ONNX Runtime's session holds them).
# Usage: bench/compare-onnxruntime.sh [SECONDS]   (default 4 s per row); prints a Markdown table for bench/RESULTS.md.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER_ROW="${1:-4}"
dotnet build -c Release bench/CnnLab.Bench >&2
BENCH="dotnet bench/CnnLab.Bench/bin/Release/net10.0/CnnLab.Bench.dll ort"
field() { python3 -c "import json,sys; d=json.loads(sys.stdin.read().strip().splitlines()[-1]); print(d$1)"; }

echo "## Inference against ONNX Runtime (one thread, ms per batch, best of 6 alternating rounds' medians)"
echo
echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC'); load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| model | batch | CnnLab ms | frozen ms | ONNX Runtime ms | CnnLab speed / ORT's | frozen |"
echo "|---|---|---|---|---|---|---|"
for model in lenet5 cnn-small cnn-bn resnet-mini plain-cnn-20 bench/models/*.json; do
  label=$model
  case "$model" in *.json) label="$(basename "$model" .json) (bench/models)";; esac
  for batch in 1 256; do
    r=$($BENCH --model "$model" --batch "$batch" --threads 1 --seconds "$SECONDS_PER_ROW")
    c=$(echo "$r" | field "['cnnlab_ms']"); f=$(echo "$r" | field "['cnnlab_frozen_ms']"); o=$(echo "$r" | field "['ort_ms']")
    echo "| $label | $batch | $(python3 -c "print(f'{$c:.3f} | {$f:.3f} | {$o:.3f} | {$o/$c:.2f}x | {$o/$f:.2f}x')") |"
  done
done
echo
echo "ONNX Runtime $(echo "$r" | field "['ort_version']") (Microsoft.ML.OnnxRuntime), graph optimizations on, one intra-op thread."
