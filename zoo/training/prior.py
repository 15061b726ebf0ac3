"""The output layer's bias set to the training targets' log unigram frequencies (recipe ``"output_prior": true``).

A fresh model predicts a near-uniform distribution over the target vocabulary, so the first steps'
gradient mostly says "learn the unigram". With Adam every weight then moves by about the learning rate
in one consistent direction: in a model whose output goes through ``tanh`` before the projection (the
pointer-generator without copy) the decoder's outputs become the same saturated vector for every input
within some 30 steps, and the model never leaves that unigram (measured on summarize-debian-plain:
token accuracy 0.13, the share of ``</s>``, after a whole epoch). Starting the bias at the unigram
leaves nothing to learn there and the gradient carries the input's information from the first step
(Karpathy, "A Recipe for Training Neural Networks": "init well").
Backend-agnostic: numpy and the model's ``projection`` layer.
"""
from __future__ import annotations

import numpy as np

from zoo.text.vocab import END_ID, PAD_ID


def log_prior(target_ids: np.ndarray, rows: int, vocab_size: int) -> np.ndarray:
    """Target token ids (any shape; ``PAD_ID`` ignored, ids >= ``vocab_size`` (copied words) counted
    as nothing) of ``rows`` targets without ``</s>`` -> (vocab_size,) float32 log frequencies, ``</s>``
    counted once per row and every token at least once (add-one), so none is -inf."""
    ids = np.asarray(target_ids).ravel()
    ids = ids[(ids != PAD_ID) & (ids < vocab_size)]
    counts = np.bincount(ids, minlength=vocab_size).astype(np.float64) + 1.0  # (vocab_size,)
    counts[END_ID] += rows
    return np.log(counts / counts.sum()).astype(np.float32)


def set_output_prior(model, prior: np.ndarray) -> None:
    """Sets ``model.projection``'s bias (every family's vocabulary projection) to ``prior`` (vocab_size,)."""
    kernel, bias = model.projection.get_weights()
    if bias.shape != prior.shape:
        raise ValueError(f"output prior has shape {prior.shape}; the projection's bias has {bias.shape}")
    model.projection.set_weights([kernel, prior.astype(bias.dtype)])
