"""One-input latency and whole-list throughput of g2p-luong next to g2p-en, in one run (Markdown tables).

The peer is the PyPI package ``g2p-en`` 2.1.0: a numpy GRU seq2seq that converts one word per call
(``pip install g2p-en==2.1.0``; without it its column is left out). Its ``G2p()`` would first read
NLTK's CMUdict corpus, which is not installed here and which ``predict`` does not use: the benchmark
hands it an empty dictionary.

1. One word per call (the first ``--words`` test words, after one warm-up call each way): p50 / p90
   milliseconds of g2p-en ``predict``, of ``zoo.load("g2p-luong").predict`` greedy and beam 4, and of
   the exported SavedModel's ``serving_default`` greedy and beam 4 (loaded with
   ``tf.saved_model.load``, as a Python client of the graph would). A floor row: the model's own
   matrix-vector products for one word, alone, in NumPy (``matrix_floor``): no decode of this model at
   batch 1 in float32 can be faster than reading those weights.
2. The whole test list (6,295 distinct CMUdict words), words per CPU-second (``time.process_time``:
   every thread of the process counts): g2p-en one word per call, ours in batches of 256, greedy and beam 4.

3. With ``--profile``: where a one-word greedy ``predict`` spends its time (cProfile over the timed words,
   the functions with the most time of their own).
``--jit`` measures ``zoo.load(MODEL, jit_compile=True)`` (XLA-compiled decoding) in sections 1 and 2.

Run: ``python benchmarks/speed.py [--words 300] [--jit] [--profile]`` (a few minutes on 2 CPU cores).
Ratios are what to read: timings of one machine on one day, taken side by side.
"""
from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import tempfile
import time
import types

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

import zoo  # noqa: E402
from zoo import data, export, hub  # noqa: E402

MODEL = "g2p-luong"


def g2p_en():
    """g2p-en's converter, or None when the package is not installed."""
    try:
        from g2p_en import g2p as module
    except ImportError:
        return None
    module.cmudict = types.SimpleNamespace(dict=dict)  # the lexicon lookup ``predict`` does not use
    return module.G2p()


def latency(fn, items) -> tuple[float, float]:
    """(p50, p90) milliseconds of ``fn(item)`` over ``items``, after one warm-up call."""
    fn(items[0])
    times = []
    for item in items:
        start = time.perf_counter()
        fn(item)
        times.append(1000 * (time.perf_counter() - start))
    return float(np.percentile(times, 50)), float(np.percentile(times, 90))


def matrix_floor(predictor, source_length: int = 8, target_length: int = 8):
    """A floor under any batch-1 greedy decode of this Luong model: only its matrix-vector products,
    with its own weights, in NumPy (BLAS), for a word of ``source_length`` characters and
    ``target_length`` phonemes: per encoder step each direction's recurrent kernel; per decoder step the
    LSTM's two kernels, the attention query, the combine layer and the projection. No gates, no masks,
    no search: what a batch of one must read from memory at least (about 140 MB a word here, more than
    the 32 MB cache). Returns a function of one (ignored) word."""
    weights = {v.path: np.asarray(v) for v in predictor.model.trainer.weights}

    def kernel(suffix):
        return next(value for path, value in weights.items() if path.endswith(suffix))

    directions = [(kernel(f"{d}_lstm_0/lstm_cell/kernel"), kernel(f"{d}_lstm_0/lstm_cell/recurrent_kernel"))
                  for d in ("forward", "backward")]
    lstm, recurrent = kernel("decoder_cell/lstm/kernel"), kernel("decoder_cell/lstm/recurrent_kernel")
    query, combine, projection = (kernel("attention/query_kernel"), kernel("combine/kernel"),
                                  kernel("projection/kernel"))
    embedded = np.ones((source_length, directions[0][0].shape[0]), "float32")  # (src_len, embedding_dim)

    def word(_):
        for inputs, hidden in directions:
            projected = embedded @ inputs  # (src_len, 4 * encoder_units): every step at once
            state = np.zeros(hidden.shape[0], "float32")
            for t in range(source_length):
                state = np.tanh((projected[t] + state @ hidden)[: hidden.shape[0]])
        memory = np.ones((source_length, query.shape[1]), "float32")  # (src_len, 2 * encoder_units)
        state, feed = np.zeros(recurrent.shape[0], "float32"), np.zeros(lstm.shape[0], "float32")
        for _ in range(target_length):
            state = np.tanh((feed @ lstm + state @ recurrent)[: recurrent.shape[0]])
            scores = memory @ (state @ query)  # (src_len,)
            context = np.exp(scores - scores.max()) @ memory
            feed[-combine.shape[1]:] = np.tanh(np.concatenate([context, state]) @ combine)
            int((feed[-combine.shape[1]:] @ projection).argmax())
    return word


def per_cpu_second(fn, count: int) -> float:
    """Items per CPU-second of one ``fn()`` that handles ``count`` items."""
    start = time.process_time()
    fn()
    return count / (time.process_time() - start)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--words", type=int, default=300, help="words timed one per call")
    p.add_argument("--jit", action="store_true", help="predict with jit_compile=True")
    p.add_argument("--profile", action="store_true", help="profile one-word greedy predict")
    args = p.parse_args(argv)

    predictor = zoo.load(MODEL, **({"jit_compile": True} if args.jit else {}))  # also runs on older zoo versions
    words = sorted({source for source, _ in data.load("cmudict", "test")})
    rng = np.random.default_rng(0)
    sample = [words[i] for i in rng.permutation(len(words))[: args.words]]
    peer = g2p_en()
    print(f"{MODEL} on {len(words):,} test words ({args.words} timed one per call); TensorFlow {tf.__version__}; "
          f"g2p-en {'2.1.0' if peer else 'not installed'}; predict jit_compile={args.jit}\n")

    rows = []
    if peer:
        rows.append(("g2p-en predict", latency(peer.predict, sample)))
    rows.append(("floor: our matrix products alone, NumPy", latency(matrix_floor(predictor), sample)))
    for beam in (1, 4):
        rows.append((f"predict, beam {beam}", latency(lambda w: predictor.predict([w], beam_size=beam), sample)))
    with tempfile.TemporaryDirectory() as directory:
        for beam in (1, 4):
            path = export.export(hub.resolve(MODEL), directory, beam_size=beam, version=beam, examples=sample[:2])
            serve = tf.saved_model.load(str(path)).signatures["serving_default"]
            rows.append((f"SavedModel, beam {beam}",
                         latency(lambda w: serve(text=tf.constant([w]))["outputs"].numpy(), sample)))
    base = rows[0][1][0]
    print("| one word per call | p50 ms | p90 ms | p50 / first row |\n|---|---|---|---|")
    for name, (p50, p90) in rows:
        print(f"| {name} | {p50:.2f} | {p90:.2f} | {p50 / base:.2f} |")

    print("\n| whole list | words per CPU-second | / g2p-en |\n|---|---|---|")
    rates = []
    if peer:
        rates.append(("g2p-en, one word per call", per_cpu_second(lambda: [peer.predict(w) for w in words], len(words))))
    for beam in (1, 4):
        predictor.predict(words, beam_size=beam)  # traced (and with --jit compiled for every shape) before timing
        rates.append((f"ours, beam {beam}, batches of 256",
                      per_cpu_second(lambda: predictor.predict(words, beam_size=beam), len(words))))
    for name, rate in rates:
        print(f"| {name} | {rate:,.0f} | {rate / rates[0][1]:.2f} |" if peer else f"| {name} | {rate:,.0f} | |")

    if args.profile:
        profile = cProfile.Profile()
        profile.enable()
        for word in sample:
            predictor.predict([word], beam_size=1)
        profile.disable()
        print(f"\none-word greedy predict, {len(sample)} calls, the 15 functions with the most time of their own:\n")
        pstats.Stats(profile).sort_stats("tottime").print_stats(15)


if __name__ == "__main__":
    main()
