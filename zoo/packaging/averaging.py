"""Weight averaging: several trained models of one architecture -> one model whose every weight is
their mean (checkpoint averaging, or a "model soup" when the models are fine-tuned from one start).

Averaging only makes sense between models that share an architecture and a starting point: fine-tunes
of one model, or checkpoints of one run. Models trained from different random starts sit in different
basins and their mean is worse than either; ``average`` cannot tell, so measure the result
(``package_average`` evaluates it). Unlike an ensemble, the result costs one model's time and memory.
"""
from __future__ import annotations

import json
import os
import pathlib

import numpy as np

# Settings that change training only: models that differ in them still share every weight's meaning.
TRAINING_ONLY_SETTINGS = ("dropout",)


def average(models, name: str | None = None, verify_checksums: bool = True):
    """Pretrained models (names or folders, at least two) -> a ``Predictor`` whose weights are the
    element-wise mean of theirs. The models must share family, model config (``dropout`` aside),
    tokenizers, vocabularies and length limits; the result takes the first model's config."""
    from zoo import hub

    if isinstance(models, (str, bytes, os.PathLike)) or len(models) < 2:
        raise ValueError(f"models must be a list of at least two pretrained model names or folders, got {models!r}")
    models = list(models)
    predictors = [hub.load(model, verify_checksums=verify_checksums) for model in models]
    first = predictors[0]
    for model, predictor in zip(models, predictors):
        problem = _mismatch(predictor, first)
        if problem:
            raise ValueError(f"cannot average {model!r} with {models[0]!r}: {problem}")
    weight_lists = [predictor.model.trainer.get_weights() for predictor in predictors]
    first.model.trainer.set_weights([
        np.mean([weights[i] for weights in weight_lists], axis=0, dtype=np.float64).astype(weight_lists[0][i].dtype)
        for i in range(len(weight_lists[0]))])
    first.name = name or "+".join(str(model) for model in models)
    return first


def _mismatch(predictor, first) -> str | None:
    """What keeps ``predictor``'s weights from being averaged with ``first``'s, or None."""
    from zoo.hub import differing_tokenizer

    if predictor.model.family == "ensemble":
        return "it is an ensemble, which has no weights of its own: average its members instead"
    if predictor.model.family != first.model.family:
        return f"families differ ({predictor.model.family!r} vs {first.model.family!r})"
    ours, theirs = _architecture(predictor.model.get_config()), _architecture(first.model.get_config())
    if ours != theirs:
        keys = sorted(key for key in ours.keys() | theirs.keys() if ours.get(key) != theirs.get(key))
        return "model configs differ in " + ", ".join(f"{key} ({ours.get(key)!r} vs {theirs.get(key)!r})" for key in keys)
    side = differing_tokenizer(predictor, first)
    if side:
        return f"their {side} settings or vocabularies differ"
    limits = ("max_source_length", "max_target_length")
    if any(getattr(predictor, limit) != getattr(first, limit) for limit in limits):
        return "their max_source_length / max_target_length differ"
    return None


def _architecture(config: dict) -> dict:
    return {key: value for key, value in config.items() if key not in TRAINING_ONLY_SETTINGS}


def package_average(models, folder: str | os.PathLike, dataset: str | None = None) -> pathlib.Path:
    """Averages ``models`` (see ``average``), evaluates the result (greedy and beam search on dev and
    test, as a training recipe's final evaluation does) and writes it as a pretrained folder named
    after ``folder``. ``dataset``: default, the first model's."""
    from zoo import data, hub
    from zoo.evaluation import evaluate_recipe
    from zoo.packaging.card import averaged_card

    folder = pathlib.Path(folder)
    predictor = average(models, name=folder.name)  # checks models first
    models = list(models)
    configs = [json.loads((hub.resolve(model) / "config.json").read_text()) for model in models]
    dataset = dataset or data.dataset_of(configs[0])
    metrics = evaluate_recipe(predictor, {"name": folder.name, "dataset": dataset})
    shown = data.get(dataset).shown
    metrics["averaged"] = [{"model": str(model), "recipe": config.get("recipe"), **_member_results(model, shown)}
                           for model, config in zip(models, configs)]
    card = averaged_card(folder.name, dataset, predictor.model.family, predictor.model.get_config(), metrics)
    hub.save(predictor, folder, metrics, card,
             extra_config={"name": folder.name, "dataset": dataset, "averaged": [str(model) for model in models],
                           "beam": metrics["beam"]["strategy"]})
    return folder


def _member_results(model, keys) -> dict:
    """A model's own greedy dev/test figures of ``keys`` (the dataset's ``shown`` metrics, e.g. WER and
    PER) from its metrics.json (empty when it has none)."""
    from zoo import hub

    path = hub.resolve(model) / "metrics.json"
    if not path.is_file():
        return {}
    metrics = json.loads(path.read_text())
    return {split: {key: metrics[split][key] for key in keys if key in metrics[split]}
            for split in ("dev", "test") if split in metrics}
