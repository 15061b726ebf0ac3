"""Step-wise decoding over the family contract (``encoder`` + ``step``), backend-agnostic.

Three strategies share one loop (``search``):

- ``Greedy()``: the most probable token at every step.
- ``BeamSearch(beam_size, alpha, coverage_penalty, n_best)``: GNMT length penalty
  ``lp = ((5 + len) / 6) ** alpha`` and optional coverage penalty
  ``cp = beta * sum_i log(min(sum_t a_ti, 1))``; hypotheses are ranked by ``score / lp + cp``.
- ``Sampling(temperature, top_k, top_p, seed, num_samples)``: reproducible for a given seed, on
  every backend and inside exported graphs (the noise is a counter-based hash of seed, step, row and
  token: no stateful random op).

The model is only seen through the family contract (``zoo.models.base``): ``encode`` gives a context
and a state, each any structure of (batch, ...) tensors, and ``step`` scores one token. Hypotheses
tile and reorder both with ``keras.tree.map_structure``, so coverage, location or per-member
ensemble state needs no special case; ``step``'s vocabulary may be extended per example (copy).

The loop is ``keras.ops.while_loop``: traced once (never unrolled) under ``tf.function`` /
``jax.jit`` and run eagerly otherwise. Each iteration runs the decoder for one token of every
hypothesis, carrying the RNN state, so the model's cost per token does not grow with the length
decoded so far. Buffers are written at position t with a one-hot ``where`` (no XLA-only op, so the
graph stays servable). Hypotheses are reordered by their beam parents with ``take_along_axis``.

Every strategy returns a ``Decoded`` whose arrays have an n-best axis, best first:
    ids (batch, n_best, max_length) int32, padded with <pad>
    lengths (batch, n_best) int32: tokens before </s>
    scores (batch, n_best) float32: sum of token log-probabilities, </s> included
    normalized_scores (batch, n_best) float32: the ranking score (``scores`` for greedy/sampling)
    attention (batch, n_best, max_length, src_len) float32: the weights behind each emitted token
    memory_lengths (batch,) int32: each row's real memory steps (attention's columns past them are 0)
"""
from __future__ import annotations

import dataclasses
from typing import NamedTuple

import keras
import numpy as np
from keras import ops

from zoo.text.vocab import END_ID, PAD_ID, START_ID

NEG = -1e9  # "impossible" score: finite, so no inf - inf = nan anywhere


class Decoded(NamedTuple):
    ids: object
    lengths: object
    scores: object
    normalized_scores: object
    attention: object
    memory_lengths: object


def _check_int(name, value, minimum):
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")


def _check_number(name, value, low, high, low_inclusive=True):
    ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    ok = ok and (value >= low if low_inclusive else value > low) and value <= high
    if not ok:
        raise ValueError(f"{name} must be in {'[' if low_inclusive else '('}{low}, {high}], got {value!r}")


@dataclasses.dataclass(frozen=True)
class Greedy:
    """The most probable token at every step."""

    min_length: int = 0

    def __post_init__(self):
        _check_int("min_length", self.min_length, 0)

    width = property(lambda self: 1)
    n_best = property(lambda self: 1)


@dataclasses.dataclass(frozen=True)
class BeamSearch:
    """Beam search with GNMT length and coverage penalties, returning ``n_best`` hypotheses.

    Args:
        beam_size: hypotheses kept per input (>= 1; 1 is greedy).
        alpha: length penalty exponent (0: raw log-probability; larger favours longer outputs).
        coverage_penalty: beta of the GNMT coverage penalty (0: off).
        n_best: hypotheses returned per input, 1 <= n_best <= beam_size.
        min_length: </s> is forbidden before this many tokens.
    """

    beam_size: int = 4
    alpha: float = 0.6
    coverage_penalty: float = 0.0
    n_best: int = 1
    min_length: int = 0

    def __post_init__(self):
        _check_int("beam_size", self.beam_size, 1)
        _check_int("n_best", self.n_best, 1)
        if self.n_best > self.beam_size:
            raise ValueError(f"n_best must be <= beam_size ({self.beam_size}), got {self.n_best}")
        _check_number("alpha", self.alpha, 0.0, 10.0)
        _check_number("coverage_penalty", self.coverage_penalty, 0.0, 10.0)
        _check_int("min_length", self.min_length, 0)

    width = property(lambda self: self.beam_size)


@dataclasses.dataclass(frozen=True)
class Sampling:
    """Ancestral sampling from the (temperature-scaled, top-k / top-p filtered) distribution.

    Args:
        temperature: > 0 divides the logits; 0 means greedy.
        top_k: sample among the k most probable tokens (0: all).
        top_p: nucleus sampling, the smallest set of tokens whose probability reaches top_p (1: all).
        seed: the same seed gives the same samples.
        num_samples: independent samples per input, returned best (highest score) first.
    """

    temperature: float = 1.0
    top_k: int = 0
    top_p: float = 1.0
    seed: int = 0
    num_samples: int = 1
    min_length: int = 0

    def __post_init__(self):
        _check_number("temperature", self.temperature, 0.0, 1e6)
        _check_int("top_k", self.top_k, 0)
        _check_number("top_p", self.top_p, 0.0, 1.0, low_inclusive=False)
        _check_int("seed", self.seed, 0)
        _check_int("num_samples", self.num_samples, 1)
        _check_int("min_length", self.min_length, 0)

    width = property(lambda self: self.num_samples)
    n_best = property(lambda self: self.num_samples)


def check_max_length(max_length) -> int:
    _check_int("max_length", max_length, 1)
    return max_length


def length_penalty(lengths, alpha):
    """GNMT length penalty ((5 + len) / 6) ** alpha (a float or a () tensor); lengths count </s>."""
    return ops.power((5.0 + ops.cast(lengths, "float32")) / 6.0, alpha)


def coverage(attention_sum, memory_mask, beta: float):
    """GNMT coverage penalty beta * sum_i log(min(sum_t a_ti, 1)) over real source positions.

    attention_sum (batch, k, src_len), memory_mask (batch, 1, src_len) -> (batch, k)."""
    covered = ops.log(ops.clip(attention_sum, 1e-6, 1.0))
    return beta * ops.sum(ops.where(memory_mask, covered, 0.0), axis=-1)


def _uniform_noise(seed: int, step, shape):
    """Uniform [0, 1) noise (rows, vocab) from a murmur3-style hash of (seed, step, row, column).

    Plain int32 arithmetic (wrapping multiply, xor, shifts): identical on every backend and servable.
    """
    rows, vocab = shape
    index = ops.arange(rows, dtype="int32")[:, None] * vocab + ops.arange(vocab, dtype="int32")[None, :]
    salt = (seed * 0x165667B1 + 0x3C6EF372) & 0xFFFFFFFF  # a Python int, wrapped to 32 bits ...
    salt -= (salt >> 31) << 32  # ... and read as signed: JAX rejects int32 constants out of range
    h = index ^ (ops.cast(step, "int32") * 0x27D4EB2D) ^ salt

    def logical_right(x, bits):  # int32 >> is arithmetic; mask the sign bits back off
        return ops.bitwise_and(ops.right_shift(x, bits), (1 << (32 - bits)) - 1)

    for _ in range(2):  # murmur3 fmix32, constants as int32
        h = h ^ logical_right(h, 16)
        h = h * -2048144789
        h = h ^ logical_right(h, 13)
        h = h * -1028477387
        h = h ^ logical_right(h, 16)
    return ops.cast(ops.bitwise_and(h, 0x7FFFFF), "float32") / float(1 << 23)


def _filter_logits(logits, strategy: Sampling):
    """Temperature, top-k and top-p filtering of (rows, vocab) logits."""
    logits = logits / strategy.temperature
    if strategy.top_k:
        k = min(strategy.top_k, logits.shape[-1]) if logits.shape[-1] else strategy.top_k
        kth = ops.top_k(logits, k, sorted=True)[0][:, -1:]  # (rows, 1)
        logits = ops.where(logits < kth, NEG, logits)
    if strategy.top_p < 1.0:
        probs = ops.softmax(logits, axis=-1)
        sorted_probs = ops.flip(ops.sort(probs, axis=-1), axis=-1)  # descending
        before = ops.cumsum(sorted_probs, axis=-1) - sorted_probs  # mass strictly before each token
        kept = ops.where(before < strategy.top_p, sorted_probs, 2.0)
        threshold = ops.min(kept, axis=-1, keepdims=True)  # smallest kept probability
        logits = ops.where(probs < threshold, NEG, logits)
    return logits


def _forbid(log_probs, t, min_length: int):
    """Never emit <pad> or <s>; no </s> before ``min_length`` tokens. (rows, vocab)."""
    vocab_ids = ops.arange(ops.shape(log_probs)[-1])
    forbidden = ops.logical_or(vocab_ids == PAD_ID, vocab_ids == START_ID)
    if min_length:
        forbidden = ops.logical_or(forbidden, ops.logical_and(vocab_ids == END_ID, t < min_length))
    return ops.where(forbidden[None, :], NEG, ops.maximum(log_probs, NEG))  # log 0 (an unused copy slot) -> NEG


def _gather_beams(x, parent):
    """x (batch, k, ...) reordered along k by parent (batch, k)."""
    index = ops.reshape(parent, ops.shape(parent) + (1,) * (len(x.shape) - 2))
    return ops.take_along_axis(x, index, axis=1)


def source_inputs(source) -> dict:
    """The model's source inputs: a frontend's dict ({"source", "source_length", ...}) as it is, or
    right-padded token ids (batch, src_len) -> {"source": ids, "source_length": non-pad tokens}."""
    if isinstance(source, dict):
        return source
    if isinstance(source, (np.ndarray, list)):  # NumPy in, NumPy out: callers may mix it with their arrays
        ids = np.asarray(source, "int32")
        return {"source": ids, "source_length": (ids != PAD_ID).sum(axis=1).astype("int32")}
    ids = ops.cast(source, "int32")
    return {"source": ids, "source_length": ops.sum(ops.cast(ops.not_equal(ids, PAD_ID), "int32"), axis=1)}


def search(model, source, strategy=Greedy(), max_length: int = 64, max_length_ratio=None, alpha=None) -> Decoded:
    """Decodes a batch with ``strategy``.

    source: the model's source inputs (a frontend's dict, see ``source_inputs``) or right-padded
        token ids (batch, src_len).
    max_length: absolute cap on output tokens (the buffers' size).
    max_length_ratio: optional (a, b): each input also stops after ``a * S' + b`` tokens, S' the
        real length of its memory.
    alpha: a beam search's length penalty as a () float32 tensor, in place of ``strategy.alpha``, so one
        compiled function serves every alpha (``Predictor.decoder``).
    """
    max_length = check_max_length(max_length)
    if not isinstance(strategy, (Greedy, BeamSearch, Sampling)):
        raise TypeError(f"strategy must be Greedy, BeamSearch or Sampling, got {type(strategy).__name__}")
    if isinstance(strategy, BeamSearch) and alpha is None:
        alpha = strategy.alpha
    k, n_best = strategy.width, strategy.n_best
    context, state = model.encode(source_inputs(source), training=False)
    memory_mask = context["memory_mask"]  # (batch, S') bool
    batch = ops.shape(memory_mask)[0]
    rows = batch * k

    # Every hypothesis of an input shares its encoding: tile (batch, ...) -> (batch * k, ...).
    tile = (lambda x: ops.repeat(x, k, axis=0)) if k > 1 else (lambda x: x)
    flat_context = keras.tree.map_structure(tile, context)
    state = keras.tree.map_structure(tile, state)

    source_lengths = ops.sum(ops.cast(memory_mask, "int32"), axis=1)  # (batch,)
    limit = ops.full((batch,), max_length, "int32")
    if max_length_ratio is not None:
        a, b = max_length_ratio
        by_source = ops.cast(ops.floor(a * ops.cast(source_lengths, "float32") + b), "int32")
        limit = ops.clip(by_source, 1, max_length)
    limit = limit[:, None]  # (batch, 1)

    positions = ops.arange(max_length)
    # Beam search starts with only the first beam alive, so its first top-k picks k different tokens.
    dead = ops.cast(ops.arange(k) > 0, "float32")[None, :] if isinstance(strategy, BeamSearch) else 0.0
    init = dict(
        t=ops.convert_to_tensor(0, "int32"),
        tokens=ops.full((rows,), START_ID, "int32"),
        scores=ops.zeros((batch, k)) + dead * NEG,  # (batch, k) sum of log-probs
        finished=ops.zeros((batch, k), "bool"),
        emitted=ops.zeros((batch, k), "int32"),  # tokens emitted, </s> included
        ids=ops.zeros((batch, k, max_length), "int32"),
        attention=ops.zeros_like(ops.repeat(ops.repeat(memory_mask[:, None, None, :], k, axis=1), max_length, axis=2),
                                 dtype="float32"),
        state=state,
    )

    def cond(v):
        return ops.logical_and(v["t"] < max_length, ops.logical_not(ops.all(v["finished"])))

    def body(v):
        t = v["t"]
        step_log_probs, weights, new_state = model.step(v["tokens"], flat_context, v["state"], training=False)
        step_log_probs = ops.cast(step_log_probs, "float32")  # (rows, vocab)
        vocab = ops.shape(step_log_probs)[-1]
        log_probs = ops.log_softmax(_forbid(step_log_probs, t, strategy.min_length), axis=-1)
        log_probs = ops.reshape(log_probs, (batch, k, vocab))
        finished, scores = v["finished"], v["scores"]

        if isinstance(strategy, BeamSearch) and k > 1:
            # A finished hypothesis has one continuation, <pad>, at no cost; an open one has all tokens.
            pad_only = ops.where(ops.arange(vocab)[None, None, :] == PAD_ID, 0.0, NEG)
            step_scores = ops.where(finished[:, :, None], pad_only, log_probs)
            candidates = scores[:, :, None] + step_scores  # (batch, k, vocab)
            lengths = v["emitted"][:, :, None] + ops.cast(ops.logical_not(finished), "int32")[:, :, None]
            ranking = candidates / length_penalty(lengths, alpha)
            if strategy.coverage_penalty:
                covered = ops.sum(v["attention"], axis=2)[:, :, None, :] + ops.where(
                    finished[:, :, None, None], 0.0, ops.reshape(weights, (batch, k, 1, -1)))
                ranking = ranking + coverage(covered, memory_mask[:, None, None, :], strategy.coverage_penalty)
            _, best = ops.top_k(ops.reshape(ranking, (batch, -1)), k)  # (batch, k) over k * vocab
            parent = best // vocab
            token = ops.cast(best % vocab, "int32")
            new_scores = ops.take_along_axis(ops.reshape(candidates, (batch, -1)), best, axis=1)
        else:
            parent = ops.repeat(ops.arange(k)[None, :], batch, axis=0)
            if isinstance(strategy, Sampling) and strategy.temperature > 0:
                filtered = _filter_logits(ops.reshape(log_probs, (rows, vocab)), strategy)
                gumbel = -ops.log(-ops.log(_uniform_noise(strategy.seed, t, (rows, vocab)) + 1e-10) + 1e-10)
                token = ops.cast(ops.argmax(filtered + gumbel, axis=-1), "int32")
            else:
                token = ops.cast(ops.argmax(ops.reshape(log_probs, (rows, vocab)), axis=-1), "int32")
            token = ops.reshape(token, (batch, k))
            token_log_prob = ops.take_along_axis(log_probs, token[:, :, None], axis=2)[:, :, 0]
            new_scores = scores + ops.where(finished, 0.0, token_log_prob)

        parent = ops.cast(parent, "int32")
        reorder = isinstance(strategy, BeamSearch) and k > 1  # other strategies never reorder rows
        gather = (lambda x: _gather_beams(x, parent)) if reorder else (lambda x: x)
        was_finished = gather(finished)
        token = ops.where(was_finished, PAD_ID, token)
        emitted = gather(v["emitted"]) + ops.cast(ops.logical_not(was_finished), "int32")
        finished = ops.logical_or(was_finished, token == END_ID)
        finished = ops.logical_or(finished, emitted >= limit)  # length caps end a hypothesis as it is

        at_t = ops.logical_and((positions == t)[None, None, :], ops.logical_not(was_finished)[:, :, None])
        ids = ops.where(at_t, token[:, :, None], gather(v["ids"]))  # (batch, k, L)
        step_weights = gather(ops.reshape(ops.cast(weights, "float32"), (batch, k, -1)))  # (batch, k, src_len)
        attention = ops.where(at_t[:, :, :, None], step_weights[:, :, None, :], gather(v["attention"]))
        if reorder:
            flat_parent = ops.reshape(parent + ops.arange(batch)[:, None] * k, (rows,))
            new_state = keras.tree.map_structure(lambda s: ops.take(s, flat_parent, axis=0), new_state)
        return [dict(t=t + 1, tokens=ops.reshape(token, (rows,)), scores=new_scores, finished=finished,
                     emitted=emitted, ids=ids, attention=attention, state=new_state)]

    (final,) = ops.while_loop(cond, body, [init], maximum_iterations=max_length)
    scores, emitted = final["scores"], final["emitted"]
    lengths = emitted - ops.cast(ops.any(final["ids"] == END_ID, axis=-1), "int32")  # (batch, k)
    if isinstance(strategy, BeamSearch):
        ranking = scores / length_penalty(emitted, alpha)
        if strategy.coverage_penalty:
            ranking = ranking + coverage(ops.sum(final["attention"], axis=2), memory_mask[:, None, :],
                                         strategy.coverage_penalty)
    else:
        ranking = scores
    _, order = ops.top_k(ranking, n_best)  # (batch, n_best), best first
    return Decoded(
        ids=_gather_beams(final["ids"], order),
        lengths=_gather_beams(lengths, order),
        scores=_gather_beams(scores, order),
        normalized_scores=_gather_beams(ranking, order),
        attention=_gather_beams(final["attention"], order),
        memory_lengths=source_lengths,
    )


def compile_decoder(fn, variables=(), jit_compile: bool = False):
    """Compiles a decoding function for the active Keras backend (tf.function / jax.jit / as is);
    ``jit_compile``: on TensorFlow, XLA-compiled (one compilation per input shape).

    ``variables``: the model's Keras variables. ``tf.function`` reads variables when it runs, but
    ``jax.jit`` would bake the values it traced with into the compiled function, so a model trained
    or reloaded after the first call would decode with stale weights: on JAX the variables' current
    values are passed in at every call instead.
    """
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        return tf.function(fn, reduce_retracing=True, autograph=False, jit_compile=jit_compile)
    if backend == "jax":
        import jax

        variables = list(variables)

        def stateless(values, *args):
            with keras.StatelessScope(state_mapping=list(zip(variables, values))):
                return fn(*args)

        compiled = jax.jit(stateless)
        return lambda *args: compiled([variable.value for variable in variables], *args)
    return fn
