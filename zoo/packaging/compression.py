"""Weights stored in float16 (half the folder, the same model) or int8 (a quarter, nearly the same).

A pretrained folder's ``model.weights.h5`` may hold its float32 weights rounded to float16
(config ``"weights_dtype": "float16"``). Keras loads them into the model's float32 variables, so
nothing else changes; rounding moves a weight by at most 2^-11 of its size, which for our models
changes no greedy output we have measured (``g2p-luong``: dev and test WER / PER equal to the last
digit shown). Every figure a float16 folder reports is measured on the rounded weights: ``zoo
train`` with the recipe key ``"weights_dtype": "float16"`` rounds before its final evaluation, and
``zoo compress NAME --output DIR`` (``package_compressed``) rounds a trained folder and evaluates it
again, recording the float32 figures beside the new ones.

Rounding and storing (``round_weights``, ``store_weights_as``, ``check_weights_dtype``) are
``zoo.hub``'s, since ``hub.save`` writes every folder in its ``weights_dtype``; this module only
packages an existing folder that way.

``"int8"`` stores each float32 matrix (kernels, embeddings: two or more axes) as int8 with one float32
scale per output channel (symmetric, the channel's largest magnitude at 127; ``zoo.hub.quantize_int8``)
and the vectors (biases) in float16; ``zoo.load`` multiplies them back into float32 variables, so
decoding and export are unchanged and only the rounding differs: ``g2p-luong`` stored so is 5.6 MB
instead of 11, and its greedy WER / PER on 1,000 test words moved from 31.7 / 8.75 to 32.0 / 8.78 %.
"""
from __future__ import annotations

import json
import os
import pathlib

from zoo.hub import check_weights_dtype, round_weights


def package_compressed(name: str | os.PathLike, folder: str | os.PathLike, weights_dtype: str = "float16") -> pathlib.Path:
    """A trained pretrained model (name or folder) -> a pretrained folder ``folder`` (may be the same
    one) with its weights stored in ``weights_dtype``, evaluated again (greedy and beam search on dev
    and test, as a recipe's final evaluation does). Its metrics.json keeps the original's records and
    adds ``"uncompressed"``: the original's greedy and beam figures; its card is the original's with a
    section saying how the folder was made and what the rounding changed."""
    from zoo import data, hub
    from zoo.evaluation import evaluate_recipe

    check_weights_dtype(weights_dtype, "--dtype")
    source, folder = hub.resolve(name), pathlib.Path(folder)
    config = json.loads((source / "config.json").read_text())
    if config.get("family") == "ensemble":
        raise ValueError(f"{str(name)!r} is an ensemble, which has no weights of its own: compress its members")
    predictor = hub.load(source)
    before = json.loads((source / "metrics.json").read_text()) if (source / "metrics.json").is_file() else {}
    card = (source / "README.md").read_text() if (source / "README.md").is_file() else f"# {folder.name}\n"
    round_weights(predictor.model, weights_dtype)
    declared = data.get(data.dataset_of(config))
    evaluated = evaluate_recipe(predictor, {"name": folder.name, "dataset": declared.name})
    metrics = {**before, **{k: v for k, v in evaluated.items() if k != "recipe"},
               "weights_dtype": weights_dtype, "uncompressed": _figures(before, declared.shown)}
    kept = {k: v for k, v in config.items() if k != "weights_dtype"}  # save() writes weights_dtype itself
    section = _compressed_section(str(name), folder.name, weights_dtype, before, metrics, declared)
    hub.save(predictor, folder, metrics, card + section,
             extra_config={**kept, "name": folder.name, "beam": metrics["beam"]["strategy"]}, weights_dtype=weights_dtype)
    return folder


STORED = {  # how a folder stores its weights, by weights_dtype (the card says it)
    "float16": "rounded to float16 (half the size of float32; Keras loads them into float32 variables)",
    "int8": "quantized: each matrix as int8 with a float32 scale per output channel, vectors in float16 "
            "(a quarter of float32; `zoo.load` multiplies them back into float32 variables)",
}


def _figures(metrics: dict, keys) -> dict:
    """Greedy dev/test and beam test figures of ``keys`` (a dataset's ``shown`` metrics, e.g. WER and
    PER) in a metrics.json (what it has of them)."""
    results = {split: metrics[split] for split in ("dev", "test") if split in metrics}
    if "test" in metrics.get("beam", {}):
        results["beam_test"] = metrics["beam"]["test"]
    return {key: {k: result[k] for k in keys if k in result} for key, result in results.items()}


def _compressed_section(source: str, name: str, weights_dtype: str, before: dict, after: dict, declared) -> str:
    """The card section of ``package_compressed``: how the folder was made, and the ``shown`` metrics
    of ``declared`` (the model's ``zoo.data.dataset.Dataset``) before and after rounding."""
    keys = declared.shown
    before_figures, after_figures = _figures(before, keys), _figures(after, keys)

    def cell(figures: dict) -> str:
        return " / ".join(f"{figures[k]:.2f}" if k in figures else "-" for k in keys)

    rows = "".join(
        f"| {label} | {cell(before_figures[key])} | {cell(after_figures[key])} |\n"
        for key, label in (("dev", "dev, greedy"), ("test", "test, greedy"), ("beam_test", "test, beam"))
        if key in before_figures and key in after_figures)
    percent = all(declared.scorer(k).percent for k in keys)
    names = " / ".join(declared.scorer(k).label for k in keys) + (" %" if percent else "")
    table = (f"| split | {names} (float32) | {names} (stored) |\n|---|---|---|\n" + rows) if rows else ""
    return f"""
## Weights stored in {weights_dtype}
`model.weights.h5` holds the weights {STORED[weights_dtype]}, made by `zoo compress {source} --output pretrained/{name}`, which
evaluated the rounded model again; metrics.json holds its figures, and the float32 ones under
`uncompressed`.

{table}"""
