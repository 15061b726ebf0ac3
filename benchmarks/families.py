"""Model families on G2P at an equal parameter budget and an equal number of training steps.

Every family in ``zoo.models.FAMILIES`` is sized to the same parameter budget (its width is searched
until the count is within a few percent), trained on CMUdict's train split for the same number of
steps with the same optimiser, batch size and seed, and scored on dev words with greedy decoding.
It prints a Markdown table: family, parameters, training steps per second, dev WER and PER. This is
our own small reproduction of the classic finding that attention helps (Bahdanau et al. 2015), not
a leaderboard: the pretrained models train far longer (see ``pretrained/*/README.md``).

Run: ``python benchmarks/families.py`` (about 15 minutes on 2 CPU cores with the defaults);
``--steps 50 --dev-examples 200`` for a quick look.
"""
from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402

from zoo import data  # noqa: E402
from zoo.data.pipeline import make_dataset  # noqa: E402
from zoo.evaluation import sequence_scores  # noqa: E402
from zoo.models import FAMILIES, build  # noqa: E402
from zoo.predictor import Predictor  # noqa: E402
from zoo.text.tokenizer import Tokenizer  # noqa: E402
from zoo.training.losses import masked_accuracy, masked_loss  # noqa: E402
from zoo.training.train import build_vocabulary  # noqa: E402

SOURCE_TOKENIZER = {"split": "chars", "lowercase": True}
TARGET_TOKENIZER = {"split": "whitespace", "lowercase": False}
MAX_LENGTH = 32


def family_config(family: str, width: int) -> dict:
    """The config of ``family`` at decoder size ``width``; bidirectional encoders get width / 2 per
    direction, so every family's encoder memory is ``width`` wide."""
    half = max(width // 2, 1)
    configs = {
        "rnn_seq2seq": dict(embedding_dim=64, encoder_units=width, units=width, layers=2, cell="lstm",
                            reverse_source=True),
        "cho": dict(embedding_dim=64, encoder_units=half, bidirectional=True, units=width, cell="gru"),
        "bahdanau": dict(embedding_dim=64, encoder_units=half, units=width, cell="gru"),
        "luong": dict(embedding_dim=64, encoder_units=half, units=width, score="general"),
    }
    if family not in configs:
        raise ValueError(f"benchmarks/families.py has no config for family {family!r}; add one to family_config")
    return configs[family]


def sized(family: str, budget: int, vocab_sizes: tuple[int, int]) -> tuple[dict, int]:
    """Binary search of the width (a multiple of 8) whose parameter count is closest to ``budget``."""
    def count(width):
        config = {**family_config(family, width), "source_vocab_size": vocab_sizes[0],
                  "target_vocab_size": vocab_sizes[1]}
        return config, build(family, config).count_params()

    low, high = 1, 256  # widths / 8
    while low < high:
        middle = (low + high) // 2
        if count(8 * middle)[1] < budget:
            low = middle + 1
        else:
            high = middle
    candidates = [count(8 * w) for w in (max(low - 1, 1), low)]
    return min(candidates, key=lambda c: abs(c[1] - budget))


class StepTimer(keras.callbacks.Callback):
    """Wall time of the training steps after the first ``warmup`` ones (tracing excluded)."""

    def __init__(self, warmup: int = 5):
        super().__init__()
        self.warmup, self.seconds, self.steps = warmup, 0.0, 0

    def on_train_batch_begin(self, batch, logs=None):
        self.start = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        if batch >= self.warmup:
            self.seconds += time.perf_counter() - self.start
            self.steps += 1


def run(family: str, budget: int, steps: int, batch_size: int, learning_rate: float, dev_examples: int,
        seed: int, tokenizers: tuple[Tokenizer, Tokenizer], train_pairs, dev_references) -> dict:
    source_tokenizer, target_tokenizer = tokenizers
    config, params = sized(family, budget, (len(source_tokenizer.vocabulary), len(target_tokenizer.vocabulary)))
    keras.utils.set_random_seed(seed)
    model = build(family, config)
    model.trainer.compile(optimizer=keras.optimizers.Adam(learning_rate, clipnorm=5.0), loss=masked_loss(),
                          weighted_metrics=[masked_accuracy()])
    train_data = make_dataset(train_pairs, source_tokenizer, target_tokenizer, batch_size, MAX_LENGTH, MAX_LENGTH,
                              seed=seed).repeat()
    timer = StepTimer()
    model.trainer.fit(train_data, epochs=1, steps_per_epoch=steps, callbacks=[timer], verbose=0, shuffle=False)
    predictor = Predictor(model, source_tokenizer, target_tokenizer, max_source_length=MAX_LENGTH,
                          max_target_length=MAX_LENGTH)
    sources = list(dev_references)[:dev_examples]
    scores = sequence_scores(predictor.predict(sources), [dev_references[s] for s in sources])
    return {"family": family, "params": params, "width": config["units"],
            "steps_per_s": timer.steps / max(timer.seconds, 1e-9), "wer": scores["wer"], "per": scores["per"]}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--families", nargs="+", default=sorted(FAMILIES), help="families to compare")
    parser.add_argument("--budget", type=int, default=1_500_000, help="parameters per model")
    parser.add_argument("--steps", type=int, default=600, help="training steps per model")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--learning-rate", type=float, default=3e-3)
    parser.add_argument("--dev-examples", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1234)
    args = parser.parse_args(argv)

    train_pairs = data.load("cmudict", "train")
    dev_references = data.references("cmudict", "dev")
    sources, targets = zip(*train_pairs)
    tokenizers = (Tokenizer(build_vocabulary(sources, SOURCE_TOKENIZER), **SOURCE_TOKENIZER),
                  Tokenizer(build_vocabulary(targets, TARGET_TOKENIZER), **TARGET_TOKENIZER))
    rows = [run(family, args.budget, args.steps, args.batch_size, args.learning_rate, args.dev_examples,
                args.seed, tokenizers, train_pairs, dev_references) for family in args.families]

    print(f"\nG2P (CMUdict), {args.steps} steps of batch {args.batch_size}, Adam {args.learning_rate:g}, "
          f"budget {args.budget:,} parameters, greedy decoding on {args.dev_examples} dev words\n")
    print("| family | attention | params | decoder units | steps/s | dev WER % | dev PER % |")
    print("|---|---|---|---|---|---|---|")
    for row in sorted(rows, key=lambda r: r["wer"]):
        attention = "yes" if FAMILIES[row["family"]].has_attention else "no"
        print(f"| {row['family']} | {attention} | {row['params']:,} | {row['width']} | {row['steps_per_s']:.2f} "
              f"| {row['wer']:.1f} | {row['per']:.1f} |")


if __name__ == "__main__":
    main()
