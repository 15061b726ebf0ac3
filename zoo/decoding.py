"""Step-wise decoding over the family contract (``encoder`` + ``step``), backend-agnostic.

The loop is ``keras.ops.while_loop``: traced once (no unrolling) under ``tf.function`` / ``jax.jit``
and eager otherwise. Each iteration runs the decoder for one token, carrying the RNN state, so the
model's cost per token does not grow with the length decoded so far. Buffers are written at
position t with a one-hot ``where`` (no XLA-only ops, so the graph stays servable).

Every strategy returns a ``Decoded``: ids (batch, max_length) int32 padded with <pad>, lengths
(batch,) = tokens before </s>, scores (batch,) = sum of token log-probabilities including </s>,
attention (batch, max_length, src_len) = the attention weights used for each emitted token.
"""
from __future__ import annotations

from typing import NamedTuple

import keras
from keras import ops

from zoo.text.vocab import END_ID, PAD_ID, START_ID


class Decoded(NamedTuple):
    ids: object  # (batch, max_length) int32
    lengths: object  # (batch,) int32
    scores: object  # (batch,) float32
    attention: object  # (batch, max_length, src_len) float32


def check_max_length(max_length) -> int:
    if isinstance(max_length, bool) or not isinstance(max_length, int) or max_length < 1:
        raise ValueError(f"max_length must be an integer >= 1, got {max_length!r}")
    return max_length


def _forbid_special(logits):
    """Decoders never emit <pad> or <s>: their logits are pushed to -1e9. (batch, vocab)."""
    vocab = ops.shape(logits)[-1]
    forbidden = ops.logical_or(ops.arange(vocab) == PAD_ID, ops.arange(vocab) == START_ID)
    return ops.where(forbidden[None, :], ops.full_like(logits, -1e9), logits)


def greedy(model, source_ids, max_length: int) -> Decoded:
    """Greedy decoding: the most probable token at every step, until </s> or ``max_length``.

    model: a family (``zoo.models.base.Seq2Seq``); source_ids: (batch, src_len) int32, right-padded.
    """
    max_length = check_max_length(max_length)
    memory, memory_mask, *state = model.encoder(source_ids, training=False)
    batch = ops.shape(source_ids)[0]
    positions = ops.arange(max_length)  # (max_length,)
    init = (
        ops.convert_to_tensor(0, "int32"),  # t
        ops.full((batch,), START_ID, "int32"),  # previous token
        ops.zeros((batch,), "bool"),  # finished
        ops.zeros((batch, max_length), "int32"),  # ids
        ops.zeros((batch,), "int32"),  # lengths
        ops.zeros((batch,), "float32"),  # scores
        ops.zeros_like(ops.repeat(ops.expand_dims(memory[:, :, 0], 1), max_length, axis=1)),  # attention
        tuple(state),
    )

    def cond(t, token, finished, ids, lengths, scores, attention, state):
        return ops.logical_and(t < max_length, ops.logical_not(ops.all(finished)))

    def body(t, token, finished, ids, lengths, scores, attention, state):
        logits, weights, *state = model.step([token, memory, memory_mask, *state], training=False)
        log_probs = ops.log_softmax(ops.cast(_forbid_special(logits), "float32"), axis=-1)  # (batch, vocab)
        next_token = ops.cast(ops.argmax(log_probs, axis=-1), "int32")  # (batch,)
        next_token = ops.where(finished, PAD_ID, next_token)
        token_log_prob = ops.take_along_axis(log_probs, next_token[:, None], axis=-1)[:, 0]
        scores = scores + ops.where(finished, 0.0, token_log_prob)
        at_t = ops.logical_and((positions == t)[None, :], ops.logical_not(finished)[:, None])  # (batch, L)
        ids = ops.where(at_t, next_token[:, None], ids)
        attention = ops.where(at_t[:, :, None], ops.cast(weights[:, None, :], attention.dtype), attention)
        lengths = lengths + ops.cast(ops.logical_and(ops.logical_not(finished), next_token != END_ID), "int32")
        finished = ops.logical_or(finished, next_token == END_ID)
        return t + 1, next_token, finished, ids, lengths, scores, attention, tuple(state)

    _, _, _, ids, lengths, scores, attention, _ = ops.while_loop(cond, body, init, maximum_iterations=max_length)
    return Decoded(ids, lengths, scores, attention)


def compile_decoder(fn):
    """Compiles a decoding function for the active Keras backend (tf.function / jax.jit / as is)."""
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        return tf.function(fn, reduce_retracing=True)
    if backend == "jax":
        import jax

        return jax.jit(fn)
    return fn
