"""Training losses/metrics (backend-agnostic) and evaluation scores (jiwer, sacrebleu)."""
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
    """Word and token error rates with several references per example.

    hypotheses: space-separated tokens (e.g. phonemes) per example; references: every acceptable
    reference of that example. For each example the closest reference (fewest edits, by ``jiwer``)
    is used. Returns ``wer`` (fraction of examples not exactly a reference, as in G2P papers),
    ``per`` (token edits / reference tokens, i.e. phoneme error rate), both in percent, and ``count``.
    """
    import jiwer

    if len(hypotheses) != len(references):
        raise ValueError(f"{len(hypotheses)} hypotheses but {len(references)} reference lists")
    if not hypotheses:
        raise ValueError("no examples to score")
    wrong, edits, ref_tokens = 0, 0, 0
    for hyp, refs in zip(hypotheses, references):
        best = None
        for ref in refs:
            out = jiwer.process_words(ref, hyp) if hyp.strip() else None
            n_ref = len(ref.split())
            errors = out.substitutions + out.deletions + out.insertions if out else n_ref
            if best is None or errors < best[0]:
                best = (errors, n_ref)
        wrong += best[0] > 0
        edits += best[0]
        ref_tokens += best[1]
    return {"wer": 100.0 * wrong / len(hypotheses), "per": 100.0 * edits / ref_tokens, "count": len(hypotheses)}


def text_scores(hypotheses: Sequence[str], references: Sequence[Sequence[str]]) -> dict:
    """Character error rate (``jiwer``), BLEU and chrF (``sacrebleu``), in percent, with several
    references per example.

    ``cer``: character edits (spaces included) to the closest reference / its characters, summed
    over examples. ``bleu`` and ``chrf``: sacrebleu's corpus scores (13a tokenization) against all
    references of each example.
    """
    import sacrebleu

    if len(hypotheses) != len(references):
        raise ValueError(f"{len(hypotheses)} hypotheses but {len(references)} reference lists")
    if not hypotheses or not all(references):
        raise ValueError("no examples to score, or an example without references")
    edits, characters = 0, 0
    for hyp, refs in zip(hypotheses, references):
        errors = [_character_edits(ref, hyp) for ref in refs]
        best = min(range(len(refs)), key=errors.__getitem__)
        edits += errors[best]
        characters += len(refs[best])
    width = max(map(len, references))
    streams = [[refs[i] if i < len(refs) else None for refs in references] for i in range(width)]
    return {"cer": 100.0 * edits / max(characters, 1),
            "bleu": sacrebleu.corpus_bleu(list(hypotheses), streams).score,
            "chrf": sacrebleu.corpus_chrf(list(hypotheses), streams).score}


def _character_edits(reference: str, hypothesis: str) -> int:
    """Levenshtein distance in characters (jiwer), empty strings included."""
    import jiwer

    if not hypothesis or not reference:
        return max(len(reference), len(hypothesis))
    out = jiwer.process_characters(reference, hypothesis)
    return out.substitutions + out.deletions + out.insertions
