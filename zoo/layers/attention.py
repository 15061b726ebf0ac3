"""Attention over an encoder memory, masked over source padding: Luong et al. 2015 (dot / general /
concat scores, queried with the current decoder state) and Bahdanau et al. 2015 (additive score,
queried with the previous decoder state). Padding always gets exactly zero weight.

Backend-agnostic: ``keras.layers`` and ``keras.ops`` only.
"""
from __future__ import annotations

import keras
from keras import ops

SCORES = ("dot", "general", "concat")


def check_score(score: str, memory_units: int, units: int, memory: str) -> str:
    """Validates a Luong score for a family at construction: one of ``SCORES``, and ``"dot"`` only when
    the memory (described by ``memory``, e.g. "the encoder memory size (512 = encoder_units * 2)") is
    ``units`` wide."""
    if score not in SCORES:
        raise ValueError(f"score must be one of {SCORES}, got {score!r}")
    if score == "dot" and memory_units != units:
        raise ValueError(f"score='dot' needs {memory} to equal units ({units}).")
    return score


def masked_softmax(scores, mask):
    """Softmax over the last axis where ``mask`` is True; masked positions get exactly 0.

    scores: (batch, src_len) float, mask: (batch, src_len) bool -> (batch, src_len), in the scores' dtype.
    Computed in float32 whatever the scores' dtype: in float16 (mixed precision) -1e9 would be -inf and
    a fully masked row NaN.
    """
    dtype = scores.dtype
    scores = ops.where(mask, ops.cast(scores, "float32"), -1e9)  # (batch, src_len) float32
    # exp(-1e9 - max) underflows to exactly 0; the mask product also zeroes a fully masked row.
    exp = ops.exp(scores - ops.max(scores, axis=-1, keepdims=True)) * ops.cast(mask, "float32")
    return ops.cast(exp / ops.maximum(ops.sum(exp, axis=-1, keepdims=True), 1e-30), dtype)


def masked_mean(memory, memory_mask):
    """The mean of the real memory positions: memory (batch, src_len, m_units), memory_mask (batch, src_len)
    bool -> (batch, m_units) (zeros for a fully masked row)."""
    weights = ops.cast(memory_mask, memory.dtype)[:, :, None]  # (batch, src_len, 1)
    count = ops.maximum(ops.sum(weights, axis=1), 1.0)  # (batch, 1)
    return ops.sum(memory * weights, axis=1) / count  # (batch, m_units)


def masked_max(memory, memory_mask):
    """Each feature's largest value over the real memory positions: memory (batch, src_len, m_units),
    memory_mask (batch, src_len) bool -> (batch, m_units) (zeros for a fully masked row)."""
    real = memory_mask[:, :, None]  # (batch, src_len, 1)
    lowest = ops.min(memory, axis=1, keepdims=True)  # (batch, 1, m_units): never above a real value
    largest = ops.max(ops.where(real, memory, lowest), axis=1)  # (batch, m_units)
    return ops.where(ops.any(memory_mask, axis=1)[:, None], largest, ops.zeros_like(largest))


def additive_scores(query, memory, query_kernel, memory_kernel, score_vector):
    """vᵀ tanh(W q + U m_j) for every memory position j.

    query (batch, q_units), memory (batch, src_len, m_units) -> scores (batch, src_len).
    """
    hidden = ops.tanh(
        ops.expand_dims(ops.matmul(query, query_kernel), 1)  # (batch, 1, units)
        + ops.matmul(memory, memory_kernel)  # (batch, src_len, units)
    )
    return ops.sum(hidden * score_vector, axis=-1)  # (batch, src_len)


def attend(scores, memory, memory_mask):
    """scores (batch, src_len), memory (batch, src_len, m_units), memory_mask (batch, src_len) bool
    -> context (batch, m_units), weights (batch, src_len): masked softmax, then the weighted sum."""
    weights = masked_softmax(scores, memory_mask)  # (batch, src_len)
    context = ops.einsum("bs,bsm->bm", weights, memory)  # (batch, m_units)
    return context, weights


class MemoryAttention(keras.layers.Layer):
    """Base of the attention layers: ``context, weights = attention(query, memory, memory_mask)``."""

    def compute_output_spec(self, query, memory, memory_mask):
        batch, src_len, memory_units = memory.shape
        return (
            keras.KerasTensor((batch, memory_units), dtype=self.compute_dtype),
            keras.KerasTensor((batch, src_len), dtype=self.compute_dtype),
        )


@keras.saving.register_keras_serializable(package="zoo")
class LuongAttention(MemoryAttention):
    """Luong et al. 2015 global attention.

    score(h, m) = h·m (``dot``), h·W m (``general``), or vᵀ tanh(W [h; m]) (``concat``).

    Args:
        score: ``"dot"``, ``"general"`` or ``"concat"``.
        units: hidden size of the ``concat`` score (defaults to the query size).

    Call: ``context, weights = attention(query, memory, memory_mask)`` with
        query (batch, q_units), memory (batch, src_len, m_units), memory_mask (batch, src_len) bool
        -> context (batch, m_units), weights (batch, src_len) summing to 1 over unmasked positions.
    """

    def __init__(self, score: str = "general", units: int | None = None, **kwargs):
        super().__init__(**kwargs)
        if score not in SCORES:
            raise ValueError(f"score must be one of {SCORES}, got {score!r}")
        if units is not None and units <= 0:
            raise ValueError(f"units must be > 0, got {units}")
        self.score = score
        self.units = units

    def build(self, query_shape, memory_shape, memory_mask_shape=None):
        query_units, memory_units = query_shape[-1], memory_shape[-1]
        if self.score == "dot" and query_units != memory_units:
            raise ValueError(
                f"score='dot' needs query and memory of the same size, got {query_units} and {memory_units}; "
                "use score='general' or 'concat'."
            )
        if self.score == "general":
            # h·W m computed as (W^T h)·m: the query is projected once per step, the memory never.
            self.query_kernel = self.add_weight(name="query_kernel", shape=(query_units, memory_units))
        elif self.score == "concat":
            units = self.units or query_units
            self.query_kernel = self.add_weight(name="query_kernel", shape=(query_units, units))
            self.memory_kernel = self.add_weight(name="memory_kernel", shape=(memory_units, units))
            self.score_vector = self.add_weight(name="score_vector", shape=(units,))

    def call(self, query, memory, memory_mask):
        if self.score == "concat":
            scores = additive_scores(query, memory, self.query_kernel, self.memory_kernel, self.score_vector)
        else:
            if self.score == "general":
                query = ops.matmul(query, self.query_kernel)  # (batch, m_units)
            scores = ops.einsum("bm,bsm->bs", query, memory)  # (batch, src_len)
        return attend(scores, memory, memory_mask)

    def get_config(self):
        return {**super().get_config(), "score": self.score, "units": self.units}


@keras.saving.register_keras_serializable(package="zoo")
class BahdanauAttention(MemoryAttention):
    """Bahdanau et al. 2015 additive attention: e_j = vᵀ tanh(W s + U h_j), a = softmax(e) over the
    real source positions, context = Σ_j a_j h_j. The query s is the decoder's *previous* state
    s_{t-1}: the context is computed before the decoder cell runs, and feeds it.

    Args:
        units: size of the hidden layer of the score (the paper's n' / alignment model size).

    Call: ``context, weights = attention(query, memory, memory_mask)`` with
        query (batch, q_units), memory (batch, src_len, m_units), memory_mask (batch, src_len) bool
        -> context (batch, m_units), weights (batch, src_len) summing to 1 over unmasked positions
        and exactly 0 on padding.
    """

    def __init__(self, units: int, **kwargs):
        super().__init__(**kwargs)
        if isinstance(units, bool) or not isinstance(units, int) or units <= 0:
            raise ValueError(f"units must be a positive integer, got {units!r}")
        self.units = units

    def build(self, query_shape, memory_shape, memory_mask_shape=None):
        self.query_kernel = self.add_weight(name="query_kernel", shape=(query_shape[-1], self.units))
        self.memory_kernel = self.add_weight(name="memory_kernel", shape=(memory_shape[-1], self.units))
        self.score_vector = self.add_weight(name="score_vector", shape=(self.units,))

    def call(self, query, memory, memory_mask):
        scores = additive_scores(query, memory, self.query_kernel, self.memory_kernel, self.score_vector)
        return attend(scores, memory, memory_mask)

    def get_config(self):
        return {**super().get_config(), "units": self.units}
