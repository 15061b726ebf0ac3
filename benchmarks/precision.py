"""Training speed by dtype policy, as ratios measured in one run (prints a Markdown table).

One training step (forward, loss, backward, Adam update) of g2p-luong's architecture on a fixed
batch of random ids, in float32, mixed_bfloat16 and mixed_float16 (``zoo.models.build(...,
precision)``, compiled as ``zoo.training.train`` compiles it). Mixed precision pays off where the hardware
has half-precision matrix units (GPU tensor cores); on a CPU without them expect it to be slower.
Run: ``python benchmarks/precision.py [--batch 256] [--steps 10]`` on any backend
(``KERAS_BACKEND=jax`` on a GPU machine); about two minutes on 2 CPU cores.
"""
from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402

from zoo.models import PRECISIONS, build  # noqa: E402
from zoo.training.losses import masked_loss  # noqa: E402

CONFIG = dict(source_vocab_size=32, target_vocab_size=73, embedding_dim=64, encoder_units=256, units=512,
              score="general", dropout=0.0)  # g2p-luong's architecture


def ms_per_step(precision: str, batch: int, length: int, steps: int) -> float:
    keras.utils.set_random_seed(0)
    model = build("luong", CONFIG, precision)
    model.trainer.compile(optimizer=keras.optimizers.Adam(1e-3, clipnorm=5.0), loss=masked_loss())
    rng = np.random.default_rng(0)
    source = rng.integers(4, CONFIG["source_vocab_size"], (batch, length)).astype("int32")
    inputs = {"source": source, "source_length": np.full((batch,), length, "int32"),
              "decoder_input": rng.integers(4, CONFIG["target_vocab_size"], (batch, length)).astype("int32")}
    target = rng.integers(4, CONFIG["target_vocab_size"], (batch, length)).astype("int32")
    model.trainer.train_on_batch(inputs, target)  # warm-up: tracing / compilation
    start = time.perf_counter()
    for _ in range(steps):
        loss = model.trainer.train_on_batch(inputs, target)
    assert np.isfinite(loss), f"{precision}: loss {loss}"
    return 1000.0 * (time.perf_counter() - start) / steps


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--length", type=int, default=10, help="source and target tokens per example")
    parser.add_argument("--steps", type=int, default=10)
    args = parser.parse_args()
    print(f"backend: {keras.backend.backend()}, batch {args.batch} x {args.length} tokens, "
          f"{args.steps} steps after one warm-up\n")
    times = {precision: ms_per_step(precision, args.batch, args.length, args.steps) for precision in PRECISIONS}
    print("| precision | ms per step | relative to float32 |\n|---|---|---|")
    for precision, ms in times.items():
        print(f"| {precision} | {ms:.1f} | {ms / times['float32']:.2f} |")


if __name__ == "__main__":
    main()
