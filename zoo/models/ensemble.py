"""Step-wise ensemble: several trained families decoding as one model, behind the family contract.

At every step each member runs its own decoder for one token, carrying its own state, and the
ensemble's next-token distribution is the weighted mixture of the members' distributions:

    log p(y_t | y_<t, x) = log sum_i w_i p_i(y_t | y_<t, x),   sum_i w_i = 1

So every decoding strategy (greedy, beam search, sampling), the rescorers and the SavedModel export
work on an ensemble unchanged: they only see ``encoder``, ``step`` and ``trainer``. The members must
share their source and target vocabularies (``zoo.hub.ensemble`` checks it); their architectures may
differ. An ensemble is built from trained members and is not itself trained.

- ``trainer``: {"source", "decoder_input"} -> (batch, tgt_len, target_vocab) log-probabilities of the
  mixture (valid logits: their log-softmax is themselves).
- ``encoder``: source -> [memory (batch, src_len, sum of the members' memory units), memory_mask,
  *every member's initial state in member order].
- ``step``: [token, memory, memory_mask, *states] -> [(batch, vocab) mixture log-probabilities,
  attention (batch, src_len): the weighted mean over the members that attend, *new states].
"""
from __future__ import annotations

import math
from typing import Sequence

import keras
from keras import ops

from zoo.models.base import Seq2Seq


def check_ensemble_weights(weights, count: int) -> list[float]:
    """Mixture weights for ``count`` members (None: equal) -> weights normalised to sum to 1."""
    if weights is None:
        return [1.0 / count] * count
    weights = list(weights)
    if len(weights) != count:
        raise ValueError(f"weights must hold one number per member ({count}), got {len(weights)}: {weights!r}")
    for i, weight in enumerate(weights):
        if isinstance(weight, bool) or not isinstance(weight, (int, float)) or not 0 < weight < float("inf"):
            raise ValueError(f"weights[{i}] must be a finite number > 0, got {weight!r}")
    total = float(sum(weights))
    return [weight / total for weight in weights]


class _Member(keras.layers.Layer):
    """Calls one member's functional model under a name unique in the ensemble's graphs (two members of
    one family would otherwise both be, e.g., ``luong_step``, and Keras needs unique names)."""

    def __init__(self, model: keras.Model, **kwargs):
        super().__init__(**kwargs)
        self.model = model
        self.built = True

    def call(self, inputs):
        return self.model(inputs, training=False)


class Ensemble:
    """A weighted mixture of trained families (``Seq2Seq`` instances sharing their vocabularies).

    Args:
        members: the families, each with ``encoder``/``step``/``trainer`` (see ``zoo.models.base``).
        weights: one mixture weight > 0 per member (normalised to sum to 1); None: equal weights.
    """

    family = "ensemble"

    def __init__(self, members: Sequence[Seq2Seq], weights: Sequence[float] | None = None):
        members = list(members)
        if not members:
            raise ValueError("an ensemble needs at least one member")
        vocab_sizes = {m.config["target_vocab_size"] for m in members}
        if len(vocab_sizes) != 1:
            raise ValueError(f"ensemble members must share their target vocabulary, got sizes {sorted(vocab_sizes)}")
        self.members = members
        self.weights = check_ensemble_weights(weights, len(members))
        self.log_weights = [math.log(w) for w in self.weights]
        self.has_attention = any(m.has_attention for m in members)
        self.state_names = tuple(f"member{i}_{name}" for i, m in enumerate(members) for name in m.state_names)
        self._build_graphs()

    def _mixture(self, member_logits):
        """Members' logits, each (..., vocab) -> log of the weighted mixture of their softmaxes (..., vocab)."""
        weighted = [ops.log_softmax(ops.cast(logits, "float32"), axis=-1) + log_weight
                    for logits, log_weight in zip(member_logits, self.log_weights)]
        return weighted[0] if len(weighted) == 1 else ops.logsumexp(ops.stack(weighted, axis=0), axis=0)

    def _attention(self, member_weights):
        """Members' attention, each (batch, src_len) -> the weighted mean over the members that attend."""
        attending = [(w, a) for m, w, a in zip(self.members, self.weights, member_weights) if m.has_attention]
        if not attending:
            return ops.cast(member_weights[0], "float32")  # all zeros: no member attends
        total = sum(w for w, _ in attending)
        return sum(ops.cast(a, "float32") * (w / total) for w, a in attending)

    def _build_graphs(self) -> None:
        source = keras.Input((None,), dtype="int32", name="source")
        decoder_input = keras.Input((None,), dtype="int32", name="decoder_input")
        logits = [_Member(m.trainer, name=f"member{i}_trainer")({"source": source, "decoder_input": decoder_input})
                  for i, m in enumerate(self.members)]
        self.trainer = keras.Model({"source": source, "decoder_input": decoder_input}, self._mixture(logits),
                                   name="ensemble_trainer")  # (batch, tgt_len, vocab)

        # each member's [memory, memory_mask, *state]
        encoded = [_Member(m.encoder, name=f"member{i}_encoder")(source) for i, m in enumerate(self.members)]
        memory = encoded[0][0] if len(encoded) == 1 else ops.concatenate([e[0] for e in encoded], axis=-1)
        initial_state = [s for e in encoded for s in e[2:]]
        self.encoder = keras.Model(source, [memory, encoded[0][1], *initial_state], name="ensemble_encoder")

        widths = [m.encoder_rnn.output_units for m in self.members]
        token = keras.Input((), dtype="int32", name="token")
        step_memory = keras.Input((None, sum(widths)), name="memory")  # (batch, src_len, sum of widths)
        step_mask = keras.Input((None,), dtype="bool", name="memory_mask")
        state = [keras.Input(tuple(s.shape[1:]), name=name) for s, name in zip(initial_state, self.state_names)]
        step_logits, step_weights, new_state = [], [], []
        offset, first_state = 0, 0
        for i, (member, width) in enumerate(zip(self.members, widths)):
            member_memory = step_memory[:, :, offset:offset + width]  # (batch, src_len, width)
            member_state = state[first_state:first_state + len(member.state_names)]
            member_logits, weights, *member_new_state = _Member(member.step, name=f"member{i}_step")(
                [token, member_memory, step_mask, *member_state])
            step_logits.append(member_logits)
            step_weights.append(weights)
            new_state.extend(member_new_state)
            offset += width
            first_state += len(member.state_names)
        self.step = keras.Model([token, step_memory, step_mask, *state],
                                [self._mixture(step_logits), self._attention(step_weights), *new_state],
                                name="ensemble_step")

    def count_params(self) -> int:
        return sum(m.count_params() for m in self.members)
