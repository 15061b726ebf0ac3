"""Recurrent encoders: stacked, optionally bidirectional, with a bridge to the decoder's state size.

Backend-agnostic: ``keras.layers`` and ``keras.ops`` only.
"""
from __future__ import annotations

import keras
from keras import ops

CELLS = {"lstm": keras.layers.LSTM, "gru": keras.layers.GRU, "simple": keras.layers.SimpleRNN}


def check_cell(cell: str) -> str:
    if cell not in CELLS:
        raise ValueError(f"cell must be one of {tuple(CELLS)}, got {cell!r}")
    return cell


def check_positive(**values) -> None:
    for name, value in values.items():
        if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")


@keras.saving.register_keras_serializable(package="zoo")
class RNNEncoder(keras.layers.Layer):
    """Stacked (bi)directional RNN over embedded, right-padded source tokens.

    Args:
        units: cell size per direction.
        num_layers: stacked layers; dropout is applied between them.
        bidirectional: run each layer both ways and concatenate (memory size 2 * units).
        cell: ``"lstm"``, ``"gru"`` or ``"simple"``.
        dropout: dropout rate between stacked layers (training only).

    Call: ``memory, states = encoder(embedded, mask)`` with embedded (batch, src_len, emb) and
    mask (batch, src_len) bool -> memory (batch, src_len, units * directions) and the last layer's
    final states, each (batch, units * directions): [h] for GRU/simple, [h, c] for LSTM, forward and
    backward concatenated.
    """

    def __init__(self, units: int, num_layers: int = 1, bidirectional: bool = True, cell: str = "lstm",
                 dropout: float = 0.0, **kwargs):
        super().__init__(**kwargs)
        check_positive(units=units, num_layers=num_layers)
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout}")
        self.units, self.num_layers, self.bidirectional = units, num_layers, bidirectional
        self.cell, self.dropout = check_cell(cell), dropout
        self.rnns = []
        for i in range(num_layers):
            rnn = CELLS[cell](units, return_sequences=True, return_state=True, name=f"{cell}_{i}")
            self.rnns.append(keras.layers.Bidirectional(rnn, name=f"bi_{cell}_{i}") if bidirectional else rnn)
        self.drop = keras.layers.Dropout(dropout)

    @property
    def output_units(self) -> int:
        return self.units * (2 if self.bidirectional else 1)

    @property
    def num_states(self) -> int:
        return 2 if self.cell == "lstm" else 1

    def build(self, embedded_shape, mask_shape=None):
        shape = tuple(embedded_shape)
        for rnn in self.rnns:
            rnn.build(shape)
            shape = shape[:-1] + (self.output_units,)

    def call(self, embedded, mask, training=False):
        sequence, states = embedded, None
        for i, rnn in enumerate(self.rnns):
            if i > 0:  # between layers only: the family owns dropout on the embeddings
                sequence = self.drop(sequence, training=training)
            outputs = rnn(sequence, mask=mask, training=training)
            sequence, states = outputs[0], outputs[1:]
        if self.bidirectional:  # [fw_h, (fw_c), bw_h, (bw_c)] -> [h, (c)] with both directions
            n = self.num_states
            states = [ops.concatenate([states[i], states[n + i]], axis=-1) for i in range(n)]
        # Zero the padded positions explicitly (a fresh tensor: no Keras mask rides along with it).
        memory = ops.where(ops.expand_dims(mask, -1), sequence, ops.zeros_like(sequence))
        return memory, list(states)

    def compute_output_spec(self, embedded, mask, training=False):
        batch, src_len, _ = embedded.shape
        memory = keras.KerasTensor((batch, src_len, self.output_units), dtype=self.compute_dtype)
        states = [keras.KerasTensor((batch, self.output_units), dtype=self.compute_dtype)
                  for _ in range(self.num_states)]
        return memory, states

    def get_config(self):
        return {**super().get_config(), "units": self.units, "num_layers": self.num_layers,
                "bidirectional": self.bidirectional, "cell": self.cell, "dropout": self.dropout}
