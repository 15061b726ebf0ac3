#!/usr/bin/env bash
# Step 2 of training on a GPU machine that has JAX but no TensorFlow (docs/training.md, "A GPU machine without TensorFlow"):
# fits array runs (step 1, where TensorFlow is: python -m zoo.training.arrays write RECIPE runs/NAME) side by
# side on the one GPU, each with its share of the GPU's memory, then leaves in OUT, for each run NAME:
#   NAME.weights.part-aa, -ab, ...  its best checkpoint in float16, cut into parts of at most PART_SIZE (15m)
#   NAME.logs.tgz                  history.csv, checkpoints/state.json and the training log
# Run from the repository root:  tools/gpu/train.sh MINUTES OUT runs/en-es runs/es-en
# Where Python has no Keras (the GPU image), the wheels in .whl/ are installed into /tmp/site first.
# A speech run synthesizes its clips first (on every core; --synthesize) with the espeak-ng and flite of
# .synth.tar.xz (tools/gpu/synthesizers.sh) when the machine has none, within its MINUTES.
set -euo pipefail
if [ $# -lt 3 ]; then
  echo "usage: tools/gpu/train.sh MINUTES OUT RUN [RUN ...]" >&2
  exit 2
fi
minutes=$1 out=$2
shift 2
python=${PYTHON:-python3}
mkdir -p "$out"
if ! "$python" -c "import keras" 2> /dev/null; then
  if ! compgen -G ".whl/*.whl" > /dev/null; then
    echo "train.sh: $python has no Keras and .whl/ holds no wheels to install (docs/training.md)" >&2
    exit 2
  fi
  "$python" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl
  export PYTHONPATH="/tmp/site${PYTHONPATH:+:$PYTHONPATH}"
fi
if [ -f .synth.tar.xz ] && ! command -v espeak-ng > /dev/null; then
  tar xJf .synth.tar.xz -C /tmp  # /tmp/synth
  export PATH="/tmp/synth/bin:$PATH"
fi
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
export KERAS_BACKEND=jax PYTHONUNBUFFERED=1
export XLA_PYTHON_CLIENT_MEM_FRACTION=${XLA_PYTHON_CLIENT_MEM_FRACTION:-$("$python" -c "print(round(0.9 / $#, 2))")}
pids=()
for run in "$@"; do
  "$python" -m zoo.training.arrays train "$run" --minutes "$minutes" --synthesize > "$run/train.log" 2>&1 &
  pids+=($!)
done
status=0
for pid in "${pids[@]}"; do wait "$pid" || status=1; done
for run in "$@"; do
  name=$(basename "$run")
  logs=()  # a run that failed before its first epoch has its log alone; the other runs are still saved
  for file in history.csv checkpoints/state.json train.log; do [ -f "$run/$file" ] && logs+=("$file"); done
  tar czf "$out/$name.logs.tgz" -C "$run" "${logs[@]}"
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
