"""Is the input pipeline ever the bottleneck? And what do token-budget batches save?

For a recipe (default ``recipes/en-es.json``: Bible and LibreOffice sentences in SentencePiece pieces, the
translation-length data of the zoo), measured in one run on this machine:

1. the ``tf.data`` pipeline alone (``zoo.data.pipeline.make_dataset``, after its one-off encoding):
   training examples per second delivered, one whole epoch iterated;
2. the recipe's model consuming them: examples per second of ``train_on_batch`` steps on the same
   batches (after one warm-up step per batch shape);
3. the padding share (padded target and source positions over all positions) of fixed ``batch_size``
   batches and of ``batch_tokens`` batches with the same mean tokens per batch, and their step counts.

It prints a Markdown table; the ratio pipeline / model is the headroom (the issue asks for >= 10x).

Run: ``python benchmarks/pipeline.py`` (a few minutes on 2 CPU cores: it trains the recipe's two
SentencePiece models in a temporary folder first); ``--examples 5000 --steps 5`` for a quick look.
"""
from __future__ import annotations

import argparse
import os
import pathlib
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

from zoo import models  # noqa: E402
from zoo.data.pipeline import make_dataset  # noqa: E402
from zoo.training.losses import compile_trainer  # noqa: E402
from zoo.training.train import load_recipe, model_config, source_frontend, training_data  # noqa: E402


def padding_share(dataset) -> tuple[float, int]:
    """(padded positions / all positions over sources and targets, batches) of one epoch."""
    padded = total = batches = 0
    for inputs, _, weights in dataset:
        weights, source = weights.numpy(), inputs["source"].numpy()
        real_source = (np.arange(source.shape[1])[None, :] < inputs["source_length"].numpy()[:, None]).sum()
        padded += weights.size - weights.sum() + source.size - real_source
        total += weights.size + source.size
        batches += 1
    return padded / total, batches


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--recipe", default="en-es")
    parser.add_argument("--examples", type=int, default=0, help="training pairs used (0: all)")
    parser.add_argument("--steps", type=int, default=12, help="model steps timed")
    args = parser.parse_args(argv)

    recipe = load_recipe(args.recipe)
    with tempfile.TemporaryDirectory() as workdir:
        pairs, _, source_tokenizer, target_tokenizer = training_data(recipe, pathlib.Path(workdir), None)
    pairs = pairs[: args.examples] if args.examples else pairs
    frontend = source_frontend(recipe, source_tokenizer, target_tokenizer)
    limits = dict(max_source_length=recipe.get("max_source_length"), max_target_length=recipe["max_target_length"])
    fixed = make_dataset(pairs, frontend, target_tokenizer, recipe["batch_size"], seed=1, **limits)

    start = time.perf_counter()
    delivered = sum(len(target) for _, target, _ in fixed)
    pipeline_rate = delivered / (time.perf_counter() - start)

    model = models.build(recipe["family"], model_config(recipe, source_tokenizer, target_tokenizer))
    compile_trainer(model, recipe)
    batches = list(fixed.take(args.steps))
    for shape in {tuple(b[0]["decoder_input"].shape[1:]) for b in batches}:  # trace each shape once
        inputs, target, weights = next(b for b in batches if tuple(b[0]["decoder_input"].shape[1:]) == shape)
        model.trainer.train_on_batch(inputs, target, sample_weight=weights)
    start = time.perf_counter()
    for inputs, target, weights in batches:
        model.trainer.train_on_batch(inputs, target, sample_weight=weights)
    model_rate = sum(len(target) for _, target, _ in batches) / (time.perf_counter() - start)

    fixed_share, fixed_batches = padding_share(fixed)
    mean_tokens = sum(int(w.shape[0] * max(w.shape[1], i["source"].shape[1])) for i, _, w in fixed) / fixed_batches
    budget = make_dataset(pairs, frontend, target_tokenizer, recipe["batch_size"], seed=1,
                          batch_tokens=int(mean_tokens), **limits)
    budget_share, budget_batches = padding_share(budget)

    print(f"recipe {recipe['name']}: {delivered:,} training examples, batch_size {recipe['batch_size']}\n")
    print("| measured | figure |\n|---|---|")
    print(f"| pipeline alone, examples/s | {pipeline_rate:,.0f} |")
    print(f"| model train steps, examples/s ({len(batches)} steps) | {model_rate:,.1f} |")
    print(f"| headroom, pipeline / model | {pipeline_rate / model_rate:,.0f}x |")
    print(f"| padding share, batch_size {recipe['batch_size']} ({fixed_batches} batches) | {fixed_share:.1%} |")
    print(f"| padding share, batch_tokens {int(mean_tokens)} ({budget_batches} batches) | {budget_share:.1%} |")


if __name__ == "__main__":
    main()
