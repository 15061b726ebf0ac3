"""Serving latency: the exported SavedModel next to ``zoo.load(...).predict``, in one run.

For beam 1 (greedy) and beam 4, and batches of 1 and 64 words, prints the p50 / p95 latency of
one call of the SavedModel's ``serving_default`` signature (loaded with ``tf.saved_model.load``,
as a Python client of the graph would) and of ``Predictor.predict`` on the same words. Both
tokenize, decode and detokenize; ``predict`` also validates in Python and builds ``Hypothesis``
objects. The words are the model's first test sources.

Run: ``python benchmarks/serving.py [g2p-luong] [--repeats 30]`` (a few minutes on 2 CPU cores).
"""
from __future__ import annotations

import argparse
import os
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

import zoo  # noqa: E402
from zoo import export, hub  # noqa: E402

BEAMS = (1, 4)
BATCHES = (1, 64)


def percentiles(fn, repeats: int) -> tuple[float, float]:
    """(p50, p95) milliseconds of ``fn()`` over ``repeats`` calls, after one warm-up call."""
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(1000 * (time.perf_counter() - start))
    return float(np.percentile(times, 50)), float(np.percentile(times, 95))


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("model", nargs="?", default="g2p-luong", help="pretrained model name or folder")
    p.add_argument("--repeats", type=int, default=30, help="timed calls per cell")
    args = p.parse_args(argv)

    folder = hub.resolve(args.model)
    predictor = zoo.load(folder)
    words = export.default_examples(folder, max(BATCHES))
    print(f"model: {args.model}, TensorFlow {tf.__version__}, {args.repeats} calls per cell, "
          f"words: {words[0]!r}, {words[1]!r}, ...\n")
    print("| beam | batch | SavedModel p50 ms | p95 ms | predict p50 ms | p95 ms | predict / SavedModel (p50) |")
    print("|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as directory:
        for beam in BEAMS:
            path = export.export(folder, directory, beam_size=beam, version=beam, examples=words[:2])
            serve = tf.saved_model.load(str(path)).signatures["serving_default"]
            for batch in BATCHES:
                texts = words[:batch]
                text = tf.constant(texts)
                served = percentiles(lambda: serve(text=text)["outputs"].numpy(), args.repeats)
                predicted = percentiles(lambda: predictor.predict(texts, beam_size=beam), args.repeats)
                print(f"| {beam} | {batch} | {served[0]:.1f} | {served[1]:.1f} | {predicted[0]:.1f} | "
                      f"{predicted[1]:.1f} | {predicted[0] / served[0]:.2f} |")


if __name__ == "__main__":
    main()
