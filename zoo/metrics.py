"""Training losses/metrics (backend-agnostic), and two bundles of evaluation scores, G2P's
(``sequence_scores``) and text's (``text_scores``), made of ``zoo.scorers`` (where the rules live)."""
from __future__ import annotations

from typing import Sequence

import keras


def masked_loss():
    """Token cross-entropy from logits; padding is excluded through the pipeline's sample weights."""
    return keras.losses.SparseCategoricalCrossentropy(from_logits=True, name="loss")


def masked_accuracy():
    """Token accuracy over real target tokens only (use as a *weighted* metric with the sample weights)."""
    return keras.metrics.SparseCategoricalAccuracy(name="token_accuracy")


def token_cross_entropy():
    """Mean cross-entropy per *real* target token (a weighted metric: sum(w * ce) / sum(w)).

    The loss divides by every position, padding included, so ``exp(loss)`` is not a perplexity;
    ``exp`` of this metric is."""
    return keras.metrics.SparseCategoricalCrossentropy(from_logits=True, name="token_cross_entropy")


def sequence_scores(hypotheses: Sequence[str], references: Sequence[Sequence[str]]) -> dict:
    """G2P's scores with several references per example, in percent: ``wer`` (outputs not exactly a
    reference: scorer ``wer_sequence``), ``per`` (token edits over the closest reference's tokens:
    scorer ``per``) and ``count``. The rules live in ``zoo.scorers``."""
    from zoo import scorers

    return {**scorers.score({"wer": "wer_sequence", "per": "per"}, hypotheses, references), "count": len(hypotheses)}


def text_scores(hypotheses: Sequence[str], references: Sequence[Sequence[str]]) -> dict:
    """Character error rate (``cer``), BLEU and chrF (``bleu``, ``chrf``) with several references per
    example: the ``zoo.scorers`` of those names."""
    from zoo import scorers

    return scorers.score(("cer", "bleu", "chrf"), hypotheses, references)
