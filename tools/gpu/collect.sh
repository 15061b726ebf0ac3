#!/usr/bin/env bash
# Step 3, back where TensorFlow is: puts a run's float16 best checkpoint (parts from tools/gpu/train.sh) and
# logs into its workdir, then evaluates it and writes the pretrained folder as `zoo train` does.
# Run from the repository root:  tools/gpu/collect.sh FROM RECIPE RUN OUTPUT
#   e.g. tools/gpu/collect.sh /work/.device/out recipes/en-es.json runs/en-es pretrained/en-es
set -euo pipefail
if [ $# -ne 4 ]; then
  echo "usage: tools/gpu/collect.sh FROM RECIPE RUN OUTPUT" >&2
  exit 2
fi
from=$1 recipe=$2 run=$3 output=$4
name=$(basename "$run")
parts=("$from/$name".weights.part-*)
if [ ! -f "${parts[0]}" ]; then
  echo "collect: no $from/$name.weights.part-* (did tools/gpu/train.sh save a best checkpoint?)" >&2
  exit 2
fi
mkdir -p "$run/checkpoints"
tar xzf "$from/$name.logs.tgz" -C "$run"
cat "${parts[@]}" > "$run/checkpoints/best.weights.h5"
KERAS_BACKEND=tensorflow ${ZOO:-zoo} train "$recipe" --workdir "$run" --epochs 0 --resume --output "$output"
