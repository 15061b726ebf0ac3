"""Evaluate a predictor on a dataset split (sequence-level scores with several references)."""
from __future__ import annotations

import time

from zoo import data
from zoo.metrics import sequence_scores


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
