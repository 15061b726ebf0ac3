"""Step-wise ensemble: several trained families decoding as one model, behind the family contract.

At every step each member runs its own decoder for one token, carrying its own state, and the
ensemble's next-token distribution is the weighted mixture of the members' distributions:

    log p(y_t | y_<t, x) = log sum_i w_i p_i(y_t | y_<t, x),   sum_i w_i = 1

So every decoding strategy (greedy, beam search, sampling), the rescorers and the SavedModel export
work on an ensemble unchanged: they only see ``encode``, ``step`` and ``trainer``. The members must
share their source frontend and target vocabulary (``zoo.hub.ensemble`` checks it); their
architectures may differ. An ensemble is built from trained members and is not itself trained.

- ``trainer``: the members' inputs -> (batch, tgt_len, target_vocab) log-probabilities of the mixture.
- ``encode``: -> context {"memory_mask": the first member's, "members": [each member's context]},
  state {"members": [each member's state]}: structures, which beam search reorders like any other.
- ``step``: -> (batch, vocab) mixture log-probabilities, attention (batch, src_len): the weighted
  mean over the members that attend, the new state.
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
        self._build_graphs()

    def _mixture(self, member_log_probs):
        """Members' log-probabilities, each (..., vocab) -> log of their weighted mixture (..., vocab)."""
        weighted = [ops.cast(log_probs, "float32") + log_weight
                    for log_probs, log_weight in zip(member_log_probs, self.log_weights)]
        return weighted[0] if len(weighted) == 1 else ops.logsumexp(ops.stack(weighted, axis=0), axis=0)

    def _attention(self, member_weights):
        """Members' attention, each (batch, src_len) -> the weighted mean over the members that attend."""
        attending = [(w, a) for m, w, a in zip(self.members, self.weights, member_weights) if m.has_attention]
        if not attending:
            return ops.cast(member_weights[0], "float32")  # all zeros: no member attends
        total = sum(w for w, _ in attending)
        return sum(ops.cast(a, "float32") * (w / total) for w, a in attending)

    def _build_graphs(self) -> None:
        inputs = self.members[0].source_inputs()
        inputs["decoder_input"] = keras.Input((None,), dtype="int32", name="decoder_input")
        log_probs = [_Member(m.trainer, name=f"member{i}_trainer")(inputs) for i, m in enumerate(self.members)]
        self.trainer = keras.Model(inputs, self._mixture(log_probs), name="ensemble_trainer")  # (batch, tgt_len, vocab)

    def source_inputs(self) -> dict:
        return self.members[0].source_inputs()

    def encode(self, inputs: dict, training: bool = False) -> tuple[dict, dict]:
        encoded = [member.encode(inputs, training=training) for member in self.members]
        contexts, states = [c for c, _ in encoded], [s for _, s in encoded]
        return {"memory_mask": contexts[0]["memory_mask"], "members": contexts}, {"members": states}

    def step(self, token, context: dict, state: dict, training: bool = False):
        outputs = [member.step(token, member_context, member_state, training=training)
                   for member, member_context, member_state in zip(self.members, context["members"], state["members"])]
        return (self._mixture([o[0] for o in outputs]), self._attention([o[1] for o in outputs]),
                {"members": [o[2] for o in outputs]})

    def recurrent_layers(self) -> list:
        return [layer for member in self.members for layer in member.recurrent_layers()]

    def count_params(self) -> int:
        return sum(m.count_params() for m in self.members)
