"""Evaluate a predictor on a dataset split (sequence-level scores with several references)."""
from __future__ import annotations

import time

from zoo import data
from zoo.metrics import sequence_scores


def evaluate(predictor, dataset: str, split: str = "test", max_examples: int | None = None) -> dict:
    """Greedy-decodes every source of the split -> {"wer", "per", "count", "seconds"}."""
    references = data.references(dataset, split)
    sources = list(references)[:max_examples]
    start = time.perf_counter()
    hypotheses = predictor.predict(sources)
    scores = sequence_scores(hypotheses, [references[s] for s in sources])
    return {**scores, "seconds": round(time.perf_counter() - start, 1)}
