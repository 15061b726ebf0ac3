"""Evaluate a predictor on a dataset split, scored as the dataset declares (``zoo.data.dataset``)."""
from __future__ import annotations

import itertools
import time
from typing import Sequence

from zoo import data
from zoo.data import scorers
from zoo.evaluation.outputs import output_statistics
from zoo.predictor import check_weight


def evaluate(predictor, dataset: str, split: str = "test", max_examples: int | None = None, beam_size: int = 1,
             alpha: float | None = None, rescorers=None) -> dict:
    """Decodes every source of the split (greedy, or beam search with length penalty ``alpha``, by
    default the model's (``Predictor.decoding``), reranked by ``rescorers`` when given: see
    ``Predictor.rerank``) and scores the outputs as the dataset declares (``zoo.data.get``) ->
    {each of its metric keys, "count", each of its scoring views, "seconds"}. CMUdict: "wer", "per",
    "exact_match", "count", "no_stress": {"wer", "per", "count"}, "seconds". A dataset with
    ``output_statistics`` adds "outputs" (``zoo.evaluation.outputs``)."""
    declared = data.get(dataset)
    references = data.references(dataset, split)
    sources = list(references)[:max_examples]
    start = time.perf_counter()
    # any object with predict(sources, beam_size[, alpha]) will do; no alpha: the predictor's own
    extra = {**({"rescorers": rescorers} if rescorers else {}), **({"alpha": alpha} if alpha is not None else {})}
    hypotheses = predictor.predict(sources, beam_size=beam_size, **extra)
    seconds = round(time.perf_counter() - start, 1)
    wanted = [references[s] for s in sources]
    statistics = ({"outputs": output_statistics(hypotheses, wanted, predictor.target_tokenizer)}
                  if declared.output_statistics else {})
    return {**declared.score(hypotheses, wanted), "count": len(sources), **declared.score_views(hypotheses, wanted),
            **statistics, "seconds": seconds}


def sequence_scores(hypotheses: Sequence[str], references: Sequence[Sequence[str]]) -> dict:
    """G2P's scores of outputs with several references per example, in percent: ``wer`` (outputs not
    exactly a reference: scorer ``wer_sequence``), ``per`` (token edits over the closest reference's
    tokens: scorer ``per``) and ``count``. The rules live in ``zoo.data.scorers``."""
    return {**scorers.score({"wer": "wer_sequence", "per": "per"}, hypotheses, references), "count": len(hypotheses)}


WEIGHT_GRID = (0.0, 0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 1.75, 2.0)


def tune_rescorers(predictor, dataset: str, rescorers, split: str = "dev", grid=WEIGHT_GRID, beam_size: int = 4,
                   alpha: float | None = None, max_examples: int | None = None) -> dict:
    """The weights of ``rescorers`` (Predictors; see ``Predictor.rerank``) that give the best score of the
    dataset's selection metric (CMUdict: the lowest WER) on a split, by grid search: the beam's
    candidates are decoded and scored once (``rescore_beam``), each combination of ``grid`` values (one
    per rescorer) only re-ranks them. Ties go to the first combination in grid order. -> {"weights":
    [...], <selection key>: at those weights, "beam_<selection key>": the beam's own ranking, "count"};
    ``evaluate(..., rescorers=list(zip(rescorers, weights)))`` gives that figure."""
    grid, rescorers = list(grid), list(rescorers)
    if not grid or not rescorers:
        raise ValueError(f"grid and rescorers must each hold at least one entry, got {len(grid)} and {len(rescorers)}")
    for i, weight in enumerate(grid):
        check_weight(weight, f"grid[{i}]")
    declared = data.get(dataset)
    key, scorer = declared.selection, declared.scorer(declared.selection)
    references = data.references(dataset, split)
    sources = list(references)[:max_examples]
    if not sources:
        raise ValueError(f"no {split} examples to tune on (max_examples={max_examples!r})")
    candidates, scores = predictor.rescore_beam(sources, rescorers, beam_size=beam_size, alpha=alpha)
    wanted = [references[source] for source in sources]

    def figure(weights) -> float:
        ranked = predictor.rank(candidates, scores, weights)
        return scorer([best.text for (best,) in ranked], wanted)

    best_figure, best_weights = None, ()
    for weights in itertools.product(grid, repeat=len(rescorers)):
        value = figure(weights)
        if best_figure is None or scorer.better(value, best_figure):
            best_figure, best_weights = value, weights
    return {"weights": list(best_weights), key: best_figure, f"beam_{key}": figure([0.0] * len(rescorers)),
            "count": len(sources)}


def evaluate_recipe(predictor, recipe: dict, epochs: int | None = None, alphas=(0.0, 0.6, 1.0), beam_size: int = 4) -> dict:
    """A recipe's final evaluation -> metrics.json's content: greedy dev/test figures, and beam search
    with the length penalty alpha chosen on dev by the dataset's selection metric (its figure for each
    alpha under ``by_alpha_key``). ``recipe`` needs ``name`` and ``dataset``; its ``beam_size`` replaces
    ``beam_size``; with ``baseline_model`` (a pretrained model's name or folder, e.g. an ablation trained
    with the same budget) that model's test figures, decoded with the same beam, are the recorded baseline
    (in place of the dataset's own); a dataset's ``simple_baselines`` are recorded under their own key.
    ``epochs`` (trained) is recorded when given."""
    dataset = recipe["dataset"]
    beam_size = recipe.get("beam_size", beam_size)
    declared = data.get(dataset)
    by_alpha = {alpha: evaluate(predictor, dataset, "dev", beam_size=beam_size, alpha=alpha) for alpha in alphas}
    alpha = min(alphas, key=lambda a: declared.ranking(by_alpha[a]))  # by the selection metric; ties: the first
    extra = declared.extra_splits  # evaluation-only splits, e.g. dates' held-out formats
    metrics = {
        "recipe": recipe["name"], "parameters": predictor.model.count_params(),
        **({"epochs": epochs} if epochs is not None else {}),
        **({"init_from": recipe["init_from"]} if "init_from" in recipe else {}),
        **({"training_precision": recipe["precision"]} if recipe.get("precision", "float32") != "float32" else {}),
        "decoding": "greedy",
        "dev": evaluate(predictor, dataset, "dev"),
        "test": evaluate(predictor, dataset, "test"),
        "beam": {
            "strategy": {"beam_size": beam_size, "alpha": alpha},
            by_alpha_key(declared): {str(a): round(m[declared.selection], 2) for a, m in by_alpha.items()},
            "dev": by_alpha[alpha],
            "test": evaluate(predictor, dataset, "test", beam_size=beam_size, alpha=alpha),
        },
    }
    if extra:
        metrics["extra"] = {split: evaluate(predictor, dataset, split) for split in extra}
        metrics["beam"]["extra"] = {split: evaluate(predictor, dataset, split, beam_size=beam_size, alpha=alpha)
                                    for split in extra}
    if declared.parts:  # each part's test split on its own (the combined corpora: each corpus)
        metrics["parts"] = {part: {"test": evaluate(predictor, part, "test"),
                                   "beam": evaluate(predictor, part, "test", beam_size=beam_size, alpha=alpha)}
                            for part in declared.parts}
    if declared.baseline:
        metrics["baseline"] = {"name": declared.baseline, **{
            name: baseline(declared.baseline)(name, "test") for name in declared.parts or (dataset,)}}
    if declared.simple_baselines is not None:
        metrics["simple_baselines"] = declared.simple_baselines("test")
    if "baseline_model" in recipe:
        other = trained_baseline(recipe["baseline_model"])  # loaded once, scored on each part
        metrics["baseline"] = {"name": recipe["baseline_model"], "trained": True, **{
            name: evaluate(other, name, "test", beam_size=beam_size, alpha=alpha) for name in declared.parts or (dataset,)}}
    return metrics


def trained_baseline(source: str):
    """A recipe's ``baseline_model``: a pretrained model's name or folder -> its predictor."""
    from zoo import hub

    try:
        return hub.load(source)
    except KeyError:
        raise ValueError(f"Recipe key 'baseline_model': {source!r} is neither a pretrained model name "
                         f"({', '.join(hub.list_models()) or 'none'}) nor a folder with a config.json") from None


def baseline(name: str):
    """A baseline of ``BASELINES`` by name -> its function (dataset, split) -> figures."""
    if name not in BASELINES:
        raise ValueError(f"unknown baseline {name!r}: one of {sorted(BASELINES)}")
    return BASELINES[name]


def _model1(dataset: str, split: str) -> dict:
    from zoo.evaluation import baseline_model1

    return baseline_model1.evaluate(dataset, split)


# name -> (dataset, split) -> figures with the dataset's metric keys (a Dataset's ``baseline``)
BASELINES = {"model1": _model1}


def by_alpha_key(dataset) -> str:
    """metrics.json's key of the selection metric on dev for each beam length penalty tried
    (``"dev_wer_by_alpha"`` for CMUdict and dates). ``dataset``: a name or a ``Dataset``."""
    declared = data.get(dataset) if isinstance(dataset, str) else dataset
    return f"dev_{declared.selection}_by_alpha"
