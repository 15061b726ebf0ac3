"""Decoder cells (one step each), the layer that runs one over a target, and the deep output layer.

A cell computes one decoder step; ``RecurrentDecoder`` scans it over a teacher-forced target for
training. Step-wise decoding calls the very same cell, so training and decoding share weights and
code. Every cell has the same call contract:

    output, new_state, weights = cell(embedded, state, memory, memory_mask)

with embedded (batch, emb), state a list of (batch, ·) tensors (``cell.state_names``), memory
(batch, src_len, m_units), memory_mask (batch, src_len) bool -> output (batch, cell.output_units),
the new state, and the attention weights (batch, src_len) (all zero for a cell without attention).
Backend-agnostic: ``keras.layers`` and ``keras.ops`` only.
"""
from __future__ import annotations

import keras
from keras import ops

from zoo.layers.attention import BahdanauAttention, LuongAttention, masked_mean
from zoo.layers.encoders import check_cell, num_states

RNN_CELLS = {"lstm": keras.layers.LSTMCell, "gru": keras.layers.GRUCell, "simple": keras.layers.SimpleRNNCell}


def rnn_cell(cell: str, units: int, name: str) -> keras.layers.Layer:
    """A Keras RNN cell by name: ``"lstm"``, ``"gru"`` or ``"simple"``."""
    return RNN_CELLS[check_cell(cell)](units, name=name)


def run_cell(rnn, inputs, state: list, training=False):
    """One step of a Keras RNN cell -> (output (batch, units), new state as a list)."""
    output, new_state = rnn(inputs, list(state), training=training)
    return output, list(new_state) if isinstance(new_state, (list, tuple)) else [new_state]


def cell_state_names(cell: str, suffix: str = "") -> tuple[str, ...]:
    return tuple(name + suffix for name in ("h", "c")[: num_states(cell)])


@keras.saving.register_keras_serializable(package="zoo")
class LuongDecoderCell(keras.layers.Layer):
    """One step of the Luong et al. 2015 decoder with input feeding.

    x_t = [embedding(y_{t-1}); h̃_{t-1}]          input feeding
    h_t, c_t = LSTM(x_t, (h_{t-1}, c_{t-1}))
    a_t, ctx_t = attention(h_t, memory)
    h̃_t = tanh(W_c [ctx_t; h_t])                   attentional hidden state (fed to the output layer)

    State: ``[h, c, h̃]``, each (batch, units).
    Call: ``h̃, new_state, weights = cell(embedded, state, memory, memory_mask)`` with embedded
    (batch, emb), memory (batch, src_len, m_units), memory_mask (batch, src_len) bool ->
    h̃ (batch, units), new_state, weights (batch, src_len).
    """

    state_names = ("h", "c", "attentional")

    def __init__(self, units: int, score: str = "general", **kwargs):
        super().__init__(**kwargs)
        self.units, self.score = units, score
        self.output_units = units
        self.lstm = keras.layers.LSTMCell(units, name="lstm")
        self.attention = LuongAttention(score, name="attention")
        self.combine = keras.layers.Dense(units, activation="tanh", use_bias=False, name="combine")

    def build(self, embedded_shape, state_shape=None, memory_shape=None, memory_mask_shape=None):
        batch = embedded_shape[0]
        memory_units = memory_shape[-1]
        self.lstm.build((batch, embedded_shape[-1] + self.units))
        self.attention.build((batch, self.units), memory_shape)
        self.combine.build((batch, memory_units + self.units))

    def call(self, embedded, state, memory, memory_mask, training=False):
        h, c, attentional = state
        cell_input = ops.concatenate([embedded, attentional], axis=-1)  # (batch, emb + units)
        h, (h, c) = self.lstm(cell_input, [h, c], training=training)  # (batch, units)
        context, weights = self.attention(h, memory, memory_mask)  # (batch, m_units), (batch, src_len)
        attentional = self.combine(ops.concatenate([context, h], axis=-1))  # (batch, units)
        return attentional, [h, c, attentional], weights

    def get_config(self):
        return {**super().get_config(), "units": self.units, "score": self.score}


@keras.saving.register_keras_serializable(package="zoo")
class PlainDecoderCell(keras.layers.Layer):
    """One step of a decoder without attention: stacked RNN cells (Sutskever et al. 2014), optionally
    conditioned at every step on a fixed summary vector c of the source (Cho et al. 2014).

    x_t = embedding(y_{t-1})                        ([embedding(y_{t-1}); c] with a summary)
    s¹_t = RNN_1(x_t, s¹_{t-1});  sˡ_t = RNN_l(sˡ⁻¹_t, sˡ_{t-1}), plus sˡ⁻¹_t from layer 3 on (residual)
    o_t = s^L_t                                     ([s^L_t; c] with a summary)

    Args:
        units: size of every layer; num_layers: stacked layers; cell: ``"lstm"``, ``"gru"``, ``"simple"``.
        summary_units: size of c (0: no summary).

    State (``state_names``): each layer's [h, (c)] in order, then the summary c, carried unchanged.
    Weights: all zero (batch, src_len), as there is no attention.
    """

    def __init__(self, units: int, num_layers: int = 1, cell: str = "lstm", summary_units: int = 0, **kwargs):
        super().__init__(**kwargs)
        self.units, self.num_layers, self.cell, self.summary_units = units, num_layers, cell, summary_units
        self.rnns = [rnn_cell(cell, units, name=f"{cell}_{i}") for i in range(num_layers)]
        self.output_units = units + summary_units
        names = [name for i in range(num_layers) for name in cell_state_names(cell, f"_{i + 1}" if num_layers > 1 else "")]
        self.state_names = tuple(names) + (("summary",) if summary_units else ())

    def build(self, embedded_shape, state_shape=None, memory_shape=None, memory_mask_shape=None):
        size = embedded_shape[-1] + self.summary_units
        for rnn in self.rnns:
            rnn.build((embedded_shape[0], size))
            size = self.units

    def call(self, embedded, state, memory, memory_mask, training=False):
        n = num_states(self.cell)
        x = embedded  # (batch, emb)
        if self.summary_units:
            summary = state[-1]  # (batch, summary_units)
            x = ops.concatenate([embedded, summary], axis=-1)  # (batch, emb + summary_units)
        new_state = []
        for i, rnn in enumerate(self.rnns):
            h, layer_state = run_cell(rnn, x, state[i * n:(i + 1) * n], training=training)  # (batch, units)
            x = h + x if i >= 2 else h
            new_state += layer_state
        output = x  # (batch, units)
        if self.summary_units:
            output = ops.concatenate([x, summary], axis=-1)  # (batch, units + summary_units)
            new_state.append(summary)
        return output, new_state, ops.zeros_like(memory[:, :, 0])

    def get_config(self):
        return {**super().get_config(), "units": self.units, "num_layers": self.num_layers, "cell": self.cell,
                "summary_units": self.summary_units}


@keras.saving.register_keras_serializable(package="zoo")
class BahdanauDecoderCell(keras.layers.Layer):
    """One step of the Bahdanau et al. 2015 decoder, optionally gated as in Xu et al. 2015.

    a_t, ctx_t = attention(s_{t-1}, memory)          additive score from the *previous* state
    ctx_t <- β_t ctx_t, β_t = σ(w·s_{t-1} + b)       with ``gate`` (Xu et al.'s gating scalar)
    s_t = RNN([embedding(y_{t-1}); ctx_t], s_{t-1})  the context feeds the cell
    o_t = [s_t; ctx_t]                               (the family's deep output adds embedding(y_{t-1}))

    Args:
        units: decoder state size; memory_units: encoder memory size (2 * H when bidirectional);
        attention_units: hidden size of the score; cell: ``"gru"`` or ``"lstm"``.
        gate: scale the context by a learned scalar β_t in (0, 1) computed from s_{t-1}.
        attend: False for a baseline without attention: ctx_t is the mean of the real memory positions
            at every step (no attention weights), and the returned weights are all zero.

    State: [h] (GRU) or [h, c] (LSTM), each (batch, units); the attention (and gate) query is h.
    """

    def __init__(self, units: int, memory_units: int, attention_units: int, cell: str = "gru", gate: bool = False,
                 attend: bool = True, **kwargs):
        super().__init__(**kwargs)
        self.units, self.memory_units, self.attention_units, self.cell = units, memory_units, attention_units, cell
        self.gate, self.attend = bool(gate), bool(attend)
        self.rnn = rnn_cell(cell, units, name=cell)
        self.attention = BahdanauAttention(attention_units, name="attention") if attend else None
        self.beta = keras.layers.Dense(1, activation="sigmoid", name="gate") if gate else None
        self.output_units = units + memory_units
        self.state_names = cell_state_names(cell)

    def build(self, embedded_shape, state_shape=None, memory_shape=None, memory_mask_shape=None):
        batch = embedded_shape[0]
        if self.attention is not None:
            self.attention.build((batch, self.units), (batch, None, self.memory_units))
        self.rnn.build((batch, embedded_shape[-1] + self.memory_units))
        if self.beta is not None:
            self.beta.build((batch, self.units))

    def call(self, embedded, state, memory, memory_mask, training=False):
        if self.attention is None:
            context, weights = masked_mean(memory, memory_mask), ops.zeros_like(memory[:, :, 0])  # (batch, m_units)
        else:
            context, weights = self.attention(state[0], memory, memory_mask)  # (batch, m_units), (batch, src_len)
        if self.beta is not None:
            context = self.beta(state[0]) * context  # β_t (batch, 1) in (0, 1) times (batch, m_units)
        cell_input = ops.concatenate([embedded, context], axis=-1)  # (batch, emb + m_units)
        h, new_state = run_cell(self.rnn, cell_input, state, training=training)  # (batch, units)
        return ops.concatenate([h, context], axis=-1), new_state, weights  # (batch, units + m_units)

    def get_config(self):
        return {**super().get_config(), "units": self.units, "memory_units": self.memory_units,
                "attention_units": self.attention_units, "cell": self.cell, "gate": self.gate, "attend": self.attend}


@keras.saving.register_keras_serializable(package="zoo")
class DeepOutput(keras.layers.Layer):
    """A maxout hidden layer between the decoder and the vocabulary projection (the "deep output" of
    Cho et al. 2014 and Bahdanau et al. 2015): t = max(W_a x + b_a, W_b x + b_b) elementwise, where x
    concatenates the inputs (e.g. the decoder state, the context and the previous token's embedding).

    Call: ``deep_output([x_1, x_2, ...])`` with x_i (..., n_i) -> (..., units); works per step
    (batch, n_i) and over a whole target (batch, tgt_len, n_i) alike.
    """

    def __init__(self, units: int, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.maxout = keras.layers.Dense(2 * units, name="maxout")

    def build(self, input_shapes):
        self.maxout.build((None, sum(shape[-1] for shape in input_shapes)))

    def call(self, inputs):
        x = self.maxout(ops.concatenate(list(inputs), axis=-1))  # (..., 2 * units)
        return ops.maximum(x[..., : self.units], x[..., self.units:])  # (..., units)

    def compute_output_spec(self, inputs):
        return keras.KerasTensor(tuple(inputs[0].shape[:-1]) + (self.units,), dtype=self.compute_dtype)

    def get_config(self):
        return {**super().get_config(), "units": self.units}


@keras.saving.register_keras_serializable(package="zoo")
class RecurrentDecoder(keras.layers.Layer):
    """Runs a decoder cell over a whole teacher-forced target sequence (``keras.ops.scan``).

    Call: ``outputs, weights = decoder(embedded, memory, memory_mask, initial_state)`` with
    embedded (batch, tgt_len, emb) -> outputs (batch, tgt_len, cell.output_units),
    weights (batch, tgt_len, src_len).
    Padding at the end of a target needs no mask: step t only sees steps < t, and the loss ignores it.
    """

    def __init__(self, cell: keras.layers.Layer, **kwargs):
        super().__init__(**kwargs)
        self.cell = cell

    def build(self, embedded_shape, memory_shape, memory_mask_shape=None, initial_state_shape=None):
        if not self.cell.built:
            self.cell.build((embedded_shape[0], embedded_shape[-1]), memory_shape=memory_shape)

    def call(self, embedded, memory, memory_mask, initial_state, training=False):
        first_weights = ops.zeros_like(memory[:, :, 0])  # (batch, src_len)
        first_output = ops.zeros_like(memory[:, 0, :1]) * ops.zeros((1, self.cell.output_units), memory.dtype)

        def step(carry, embedded_t):
            state = list(carry[:-2])
            output, state, weights = self.cell(embedded_t, state, memory, memory_mask, training=training)
            carry = (*state, output, weights)
            return carry, carry  # the TF backend's scan wants outputs shaped like the carry

        time_major = ops.transpose(embedded, (1, 0, 2))  # (tgt_len, batch, emb)
        _, per_step = ops.scan(step, (*initial_state, first_output, first_weights), time_major)
        outputs = ops.transpose(per_step[-2], (1, 0, 2))  # cell outputs (batch, tgt_len, output_units)
        weights = ops.transpose(per_step[-1], (1, 0, 2))  # (batch, tgt_len, src_len)
        return outputs, weights

    def compute_output_spec(self, embedded, memory, memory_mask, initial_state, training=False):
        batch, tgt_len, _ = embedded.shape
        return (
            keras.KerasTensor((batch, tgt_len, self.cell.output_units), dtype=self.compute_dtype),
            keras.KerasTensor((batch, tgt_len, memory.shape[1]), dtype=self.compute_dtype),
        )

    def get_config(self):
        return {**super().get_config(), "cell": keras.saving.serialize_keras_object(self.cell)}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["cell"] = keras.saving.deserialize_keras_object(config["cell"])
        return cls(**config)
