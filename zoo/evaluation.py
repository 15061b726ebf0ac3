"""Evaluate a predictor on a dataset split (sequence-level scores with several references)."""
from __future__ import annotations

import itertools
import time

from zoo import data
from zoo.metrics import sequence_scores
from zoo.predictor import check_weight


def evaluate(predictor, dataset: str, split: str = "test", max_examples: int | None = None, beam_size: int = 1,
             alpha: float = 0.6, rescorers=None) -> dict:
    """Decodes every source of the split (greedy, or beam search, reranked by ``rescorers`` when given:
    see ``Predictor.rerank``) -> {"wer", "per", "exact_match", "count", "seconds"}, in percent;
    ``exact_match`` = 100 - ``wer``: outputs exactly a reference. A dataset's ``SCORING_VIEWS`` add
    one {"wer", "per", "count"} entry each, e.g. ``"no_stress"``."""
    references = data.references(dataset, split)
    sources = list(references)[:max_examples]
    start = time.perf_counter()
    extra = {"rescorers": rescorers} if rescorers else {}  # any object with predict(sources, beam_size, alpha) will do
    hypotheses = predictor.predict(sources, beam_size=beam_size, alpha=alpha, **extra)
    seconds = round(time.perf_counter() - start, 1)
    scores = sequence_scores(hypotheses, [references[s] for s in sources])
    for view, normalize in data.SCORING_VIEWS.get(dataset, {}).items():
        scores[view] = sequence_scores([normalize(h) for h in hypotheses],
                                       [[normalize(r) for r in references[s]] for s in sources])
    return {**scores, "exact_match": 100.0 - scores["wer"], "seconds": seconds}


WEIGHT_GRID = (0.0, 0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 1.75, 2.0)


def tune_rescorers(predictor, dataset: str, rescorers, split: str = "dev", grid=WEIGHT_GRID, beam_size: int = 4,
                   alpha: float = 0.0, max_examples: int | None = None) -> dict:
    """The weights of ``rescorers`` (Predictors; see ``Predictor.rerank``) that give the lowest WER on
    a split, by grid search: the beam's candidates are decoded and scored once (``rescore_beam``),
    each combination of ``grid`` values (one per rescorer) only re-ranks them. Ties go to the first
    combination in grid order. -> {"weights": [...], "wer": at those weights, "beam_wer": the beam's
    own ranking, "count"}; ``evaluate(..., rescorers=list(zip(rescorers, weights)))`` gives that WER."""
    grid, rescorers = list(grid), list(rescorers)
    if not grid or not rescorers:
        raise ValueError(f"grid and rescorers must each hold at least one entry, got {len(grid)} and {len(rescorers)}")
    for i, weight in enumerate(grid):
        check_weight(weight, f"grid[{i}]")
    references = data.references(dataset, split)
    sources = list(references)[:max_examples]
    if not sources:
        raise ValueError(f"no {split} examples to tune on (max_examples={max_examples!r})")
    candidates, scores = predictor.rescore_beam(sources, rescorers, beam_size=beam_size, alpha=alpha)
    accepted = [{tuple(r.split()) for r in references[source]} for source in sources]

    def wer(weights) -> float:
        ranked = predictor.rank(candidates, scores, weights)
        return 100.0 * sum(tuple(best.text.split()) not in ok for (best,), ok in zip(ranked, accepted)) / len(sources)

    best_wer, best_weights = float("inf"), ()
    for weights in itertools.product(grid, repeat=len(rescorers)):
        error_rate = wer(weights)
        if error_rate < best_wer:
            best_wer, best_weights = error_rate, weights
    return {"weights": list(best_weights), "wer": best_wer, "beam_wer": wer([0.0] * len(rescorers)), "count": len(sources)}


def evaluate_recipe(predictor, recipe: dict, epochs: int | None = None, alphas=(0.0, 0.6, 1.0), beam_size: int = 4) -> dict:
    """A recipe's final evaluation -> metrics.json's content: greedy dev/test figures, and beam search
    with the length penalty alpha chosen on dev. ``recipe`` needs ``name`` and ``dataset``; ``epochs``
    (trained) is recorded when given."""
    dataset = recipe["dataset"]
    by_alpha = {alpha: evaluate(predictor, dataset, "dev", beam_size=beam_size, alpha=alpha) for alpha in alphas}
    alpha = min(alphas, key=lambda a: (by_alpha[a]["wer"], by_alpha[a]["per"]))
    extra = data.EXTRA_SPLITS.get(dataset, ())  # evaluation-only splits, e.g. dates' held-out formats
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
            "dev_wer_by_alpha": {str(a): round(m["wer"], 2) for a, m in by_alpha.items()},
            "dev": by_alpha[alpha],
            "test": evaluate(predictor, dataset, "test", beam_size=beam_size, alpha=alpha),
        },
    }
    if extra:
        metrics["extra"] = {split: evaluate(predictor, dataset, split) for split in extra}
        metrics["beam"]["extra"] = {split: evaluate(predictor, dataset, split, beam_size=beam_size, alpha=alpha)
                                    for split in extra}
    return metrics
