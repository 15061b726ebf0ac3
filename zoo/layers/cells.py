"""Attention-wrapped decoder cells with input feeding, and the layer that runs one over time.

A cell computes one decoder step; ``RecurrentDecoder`` scans it over a teacher-forced target for
training. Step-wise decoding calls the very same cell, so training and decoding share weights and
code. Backend-agnostic: ``keras.layers`` and ``keras.ops`` only.
"""
from __future__ import annotations

import keras
from keras import ops

from zoo.layers.attention import LuongAttention


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
class RecurrentDecoder(keras.layers.Layer):
    """Runs a decoder cell over a whole teacher-forced target sequence (``keras.ops.scan``).

    Call: ``outputs, weights = decoder(embedded, memory, memory_mask, initial_state)`` with
    embedded (batch, tgt_len, emb) -> outputs (batch, tgt_len, units), weights (batch, tgt_len, src_len).
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

        def step(carry, embedded_t):
            *state, _ = carry
            _, state, weights = self.cell(embedded_t, state, memory, memory_mask, training=training)
            carry = (*state, weights)
            return carry, carry  # the TF backend's scan wants outputs shaped like the carry

        time_major = ops.transpose(embedded, (1, 0, 2))  # (tgt_len, batch, emb)
        _, per_step = ops.scan(step, (*initial_state, first_weights), time_major)
        outputs = ops.transpose(per_step[-2], (1, 0, 2))  # attentional states (batch, tgt_len, units)
        weights = ops.transpose(per_step[-1], (1, 0, 2))  # (batch, tgt_len, src_len)
        return outputs, weights

    def compute_output_spec(self, embedded, memory, memory_mask, initial_state, training=False):
        batch, tgt_len, _ = embedded.shape
        return (
            keras.KerasTensor((batch, tgt_len, self.cell.units), dtype=self.compute_dtype),
            keras.KerasTensor((batch, tgt_len, memory.shape[1]), dtype=self.compute_dtype),
        )

    def get_config(self):
        return {**super().get_config(), "cell": keras.saving.serialize_keras_object(self.cell)}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["cell"] = keras.saving.deserialize_keras_object(config["cell"])
        return cls(**config)
