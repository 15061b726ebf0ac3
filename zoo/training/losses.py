"""Training losses and metrics (backend-agnostic): what ``zoo.training.train`` compiles a family with."""
from __future__ import annotations

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
