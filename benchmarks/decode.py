"""Decoding speed, as ratios measured in one run (prints Markdown tables).

1. Per-token cost of compiled greedy decoding at output lengths 20 / 40 / 80 (batch 1): the loop
   carries the RNN state, so ms/token should stay flat (t80 / t40 per token close to 1).
2. Our compiled greedy loop vs a keras-io-style Python loop that calls the model once per token.
3. Beam 1 / 4 / 8 relative to greedy (batch 32, 20 tokens).
4. Step-wise ensembles of 2 and 3 such models relative to one (greedy and beam 4, batch 32, 20 tokens).
5. A whole split the way ``zoo evaluate`` decodes it: the pretrained g2p-luong on the 6,395 CMUdict dev
   words (real lengths, real outputs), batches of 256 taken in the words' order (the baseline) vs
   shortest words first, which ``Predictor.decode`` does (less padding, loops that end sooner).

Sections 1-4 use g2p-luong's architecture with random weights (speed does not depend on the weights);
outputs are forced to the wanted length with ``min_length``.
Run: ``python benchmarks/decode.py`` (about three minutes on 2 CPU cores).
"""
from __future__ import annotations

import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402

from zoo import data, decoding, hub  # noqa: E402
from zoo.models import Luong  # noqa: E402
from zoo.models.ensemble import Ensemble  # noqa: E402
from zoo.text.vocab import START_ID  # noqa: E402


def best_of(fn, repeats=5):
    fn()  # warm-up (tracing)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def compiled(model, strategy, length):
    fn = decoding.compile_decoder(lambda s: decoding.search(model, s, strategy, max_length=length))
    return lambda source: np.asarray(fn(source).ids)


def predict_per_token(model, source, length):
    """The keras-io lstm_seq2seq pattern: one uncompiled call of the model per output token."""
    context, state = model.encode(decoding.source_inputs(source))
    token = np.full((len(source),), START_ID, "int32")
    out = []
    for _ in range(length):
        log_probs, _, state = model.step(token, context, state)
        token = np.asarray(log_probs).argmax(-1).astype("int32")
        out.append(token)
    return np.stack(out, 1)


def main():
    keras.utils.set_random_seed(0)
    model = Luong(32, 73, embedding_dim=64, encoder_units=256, units=512, score="general")
    one = np.array([[5, 6, 7, 8, 9, 10, 11, 12, 13]], "int32")
    batch = np.tile(one, (32, 1))

    print(f"backend: {keras.backend.backend()}, model: {model.count_params():,} parameters\n")
    print("| output tokens | ms per call | ms per token |\n|---|---|---|")
    per_token = {}
    for length in (20, 40, 80):
        decode = compiled(model, decoding.Greedy(min_length=length), length)
        seconds = best_of(lambda: decode(one))
        per_token[length] = 1000 * seconds / length
        print(f"| {length} | {1000 * seconds:.1f} | {per_token[length]:.3f} |")
    print(f"\nflatness t80/t40 per token: {per_token[80] / per_token[40]:.2f} (1.0 = constant cost per token)\n")

    greedy_20 = compiled(model, decoding.Greedy(min_length=20), 20)
    ours = best_of(lambda: greedy_20(one))
    keras_io = best_of(lambda: predict_per_token(model, one, 20), repeats=2)
    print("| greedy, 1 input, 20 tokens | ms | relative |\n|---|---|---|")
    print(f"| zoo compiled loop | {1000 * ours:.1f} | 1.0 |")
    print(f"| keras-io style, a Python call per token | {1000 * keras_io:.1f} | {keras_io / ours:.1f}x slower |\n")

    print("| strategy, 32 inputs, 20 tokens | ms | relative to greedy |\n|---|---|---|")
    greedy = best_of(lambda: greedy_20(batch))
    print(f"| greedy | {1000 * greedy:.1f} | 1.00 |")
    for beam in (1, 4, 8):
        decode = compiled(model, decoding.BeamSearch(beam, min_length=20), 20)
        seconds = best_of(lambda: decode(batch))
        print(f"| beam {beam} | {1000 * seconds:.1f} | {seconds / greedy:.2f} |")

    members = [model] + [Luong.from_config(model.get_config()) for _ in range(2)]
    print("\n| members, 32 inputs, 20 tokens | greedy ms | relative | beam 4 ms | relative |\n|---|---|---|---|---|")
    single = {}
    for count in (1, 2, 3):
        ensemble = members[0] if count == 1 else Ensemble(members[:count])
        row = []
        for strategy in (decoding.Greedy(min_length=20), decoding.BeamSearch(4, min_length=20)):
            decode = compiled(ensemble, strategy, 20)
            seconds = best_of(lambda: decode(batch))
            single.setdefault(strategy, seconds)
            row.append(f"{1000 * seconds:.1f} | {seconds / single[strategy]:.2f}")
        print(f"| {count} | {' | '.join(row)} |")

    print("\n| g2p-luong, 6,395 dev words, batches of 256 | greedy s | beam 4 s |\n|---|---|---|")
    words = list(dict.fromkeys(source for source, _ in data.load("cmudict", "dev")))  # the split's (alphabetical) order
    g2p = hub.load("g2p-luong")

    def in_order(beam_size):  # the baseline: each run of 256 consecutive words is one batch
        for start in range(0, len(words), 256):
            g2p.decode(words[start:start + 256], beam_size=beam_size)

    def shortest_first(beam_size):  # what Predictor.decode does with a whole list
        g2p.decode(words, beam_size=beam_size)

    baseline = {}
    for label, decode in (("in the words' order", in_order), ("shortest first (Predictor.decode)", shortest_first)):
        row = []
        for beam_size in (1, 4):
            g2p.decode(words[:256], beam_size=beam_size)  # warm-up (tracing)
            start = time.perf_counter()
            decode(beam_size)
            seconds = time.perf_counter() - start
            baseline.setdefault(beam_size, seconds)
            row.append(f"{seconds:.1f} ({seconds / baseline[beam_size]:.2f})")
        print(f"| {label} | {' | '.join(row)} |")


if __name__ == "__main__":
    main()
