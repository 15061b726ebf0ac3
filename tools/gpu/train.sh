#!/usr/bin/env bash
# Step 2 of training on a GPU machine that has JAX but no TensorFlow (docs/training.md#on-a-gpu-without-tensorflow):
# fits array runs (step 1, where TensorFlow is: python -m zoo.training.arrays write RECIPE runs/NAME) side by
# side on the one GPU, each with its share of the GPU's memory, then leaves in OUT, for each run NAME:
#   NAME.weights.part-aa, -ab, ...  its best checkpoint in float16, cut into parts of at most PART_SIZE (15m)
#   NAME.logs.tgz                  history.csv, checkpoints/state.json and the training log
# Run from the repository root:  tools/gpu/train.sh MINUTES OUT runs/en-es runs/es-en
# Keras wheels in .whl/ (not on the GPU image) are installed into /tmp/site first.
set -euo pipefail
if [ $# -lt 3 ]; then
  echo "usage: tools/gpu/train.sh MINUTES OUT RUN [RUN ...]" >&2
  exit 2
fi
minutes=$1 out=$2
shift 2
python=${PYTHON:-python3}
mkdir -p "$out"
if compgen -G ".whl/*.whl" > /dev/null; then
  "$python" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl
  export PYTHONPATH="/tmp/site:$PWD${PYTHONPATH:+:$PYTHONPATH}"
fi
export KERAS_BACKEND=jax PYTHONUNBUFFERED=1
export XLA_PYTHON_CLIENT_MEM_FRACTION=${XLA_PYTHON_CLIENT_MEM_FRACTION:-$("$python" -c "print(round(0.9 / $#, 2))")}
pids=()
for run in "$@"; do
  "$python" -m zoo.training.arrays train "$run" --minutes "$minutes" > "$run/train.log" 2>&1 &
  pids+=($!)
done
status=0
for pid in "${pids[@]}"; do wait "$pid" || status=1; done
for run in "$@"; do
  name=$(basename "$run")
  tar czf "$out/$name.logs.tgz" -C "$run" history.csv checkpoints/state.json train.log
  if [ -f "$run/checkpoints/best.weights.h5" ]; then
    cp "$run/checkpoints/best.weights.h5" "$out/$name.weights.h5"
    "$python" -c "import sys; from zoo.hub import store_weights_as; store_weights_as(sys.argv[1], 'float16')" \
      "$out/$name.weights.h5"
    split -b "${PART_SIZE:-15m}" "$out/$name.weights.h5" "$out/$name.weights.part-"
    rm "$out/$name.weights.h5"
  fi
  tail -n 3 "$run/train.log"
done
exit $status
