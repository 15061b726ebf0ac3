"""Recurrent encoders: stacked, optionally bidirectional and residual, and the bridge from their
final states to a decoder's initial states.

Backend-agnostic: ``keras.layers`` and ``keras.ops`` only.
"""
from __future__ import annotations

import keras
from keras import ops

CELLS = {"lstm": keras.layers.LSTM, "gru": keras.layers.GRU, "simple": keras.layers.SimpleRNN}
BRIDGES = ("dense", "none")


def check_cell(cell: str, allowed=tuple(CELLS)) -> str:
    if cell not in allowed:
        raise ValueError(f"cell must be one of {tuple(allowed)}, got {cell!r}")
    return cell


def check_positive(**values) -> None:
    for name, value in values.items():
        if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")


def check_dropout(dropout) -> None:
    if isinstance(dropout, bool) or not isinstance(dropout, (int, float)) or not 0.0 <= dropout < 1.0:
        raise ValueError(f"dropout must be in [0, 1), got {dropout!r}")


def num_states(cell: str) -> int:
    """State tensors per layer: [h, c] for LSTM, [h] for GRU and simple RNN."""
    return 2 if cell == "lstm" else 1


@keras.saving.register_keras_serializable(package="zoo")
class RNNEncoder(keras.layers.Layer):
    """Stacked (bi)directional RNN over embedded, right-padded source tokens.

    Layer i (1-based) reads layer i-1's output (dropout between layers, training only); from layer 3
    on, its input is also added to its output (GNMT-style residual connections, which keep deep
    stacks trainable; layers 1 and 2 change the size, so they have none).

    Args:
        units: cell size per direction.
        num_layers: stacked layers.
        bidirectional: run each layer both ways and concatenate (memory size 2 * units).
        cell: ``"lstm"``, ``"gru"`` or ``"simple"``.
        dropout: dropout rate between stacked layers (training only).
        return_all_states: return every layer's final states instead of the last layer's.

    Call: ``memory, states = encoder(embedded, mask)`` with embedded (batch, src_len, emb) and
    mask (batch, src_len) bool -> memory (batch, src_len, units * directions), zero on padding, and
    the last layer's final states, each (batch, units * directions): [h] for GRU/simple, [h, c] for
    LSTM, forward and backward concatenated. With ``return_all_states``, ``states`` is a list with
    one such list per layer, first layer first.
    """

    def __init__(self, units: int, num_layers: int = 1, bidirectional: bool = True, cell: str = "lstm",
                 dropout: float = 0.0, return_all_states: bool = False, **kwargs):
        super().__init__(**kwargs)
        check_positive(units=units, num_layers=num_layers)
        check_dropout(dropout)
        self.units, self.num_layers, self.bidirectional = units, num_layers, bidirectional
        self.cell, self.dropout = check_cell(cell), dropout
        self.return_all_states = return_all_states
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
        return num_states(self.cell)

    def recurrent_layers(self) -> list:
        """The Keras RNN layers of every direction and layer (each has ``use_cudnn``)."""
        return [part for rnn in self.rnns
                for part in ((rnn.forward_layer, rnn.backward_layer) if self.bidirectional else (rnn,))]

    def build(self, embedded_shape, mask_shape=None):
        shape = tuple(embedded_shape)
        for rnn in self.rnns:
            rnn.build(shape)
            shape = shape[:-1] + (self.output_units,)

    def call(self, embedded, mask, training=False):
        sequence, all_states = embedded, []
        n = self.num_states
        for i, rnn in enumerate(self.rnns):
            layer_input = sequence
            if i > 0:  # between layers only: the family owns dropout on the embeddings
                sequence = self.drop(sequence, training=training)
            outputs = rnn(sequence, mask=mask, training=training)
            sequence, states = outputs[0], list(outputs[1:])  # (batch, src_len, units * directions)
            if i >= 2:  # layer 3 on (1-based): residual connection
                sequence = sequence + layer_input
            if self.bidirectional:  # [fw_h, (fw_c), bw_h, (bw_c)] -> [h, (c)] with both directions
                states = [ops.concatenate([states[j], states[n + j]], axis=-1) for j in range(n)]
            all_states.append(states)
        # Zero the padded positions explicitly (a fresh tensor: no Keras mask rides along with it).
        memory = ops.where(ops.expand_dims(mask, -1), sequence, ops.zeros_like(sequence))
        return memory, (all_states if self.return_all_states else all_states[-1])

    def compute_output_spec(self, embedded, mask, training=False):
        batch, src_len, _ = embedded.shape
        memory = keras.KerasTensor((batch, src_len, self.output_units), dtype=self.compute_dtype)

        def layer_states():
            return [keras.KerasTensor((batch, self.output_units), dtype=self.compute_dtype)
                    for _ in range(self.num_states)]

        if self.return_all_states:
            return memory, [layer_states() for _ in range(self.num_layers)]
        return memory, layer_states()

    def get_config(self):
        return {**super().get_config(), "units": self.units, "num_layers": self.num_layers,
                "bidirectional": self.bidirectional, "cell": self.cell, "dropout": self.dropout,
                "return_all_states": self.return_all_states}


def check_bridge(bridge: str, input_units: int, units: int, what: str = "the encoder's final state") -> str:
    """Validates a ``bridge`` option at construction time (see ``Bridge``)."""
    if bridge not in BRIDGES:
        raise ValueError(f"bridge must be one of {BRIDGES}, got {bridge!r}")
    if bridge == "none" and input_units != units:
        raise ValueError(
            f"bridge='none' passes {what} (size {input_units}) to the decoder unchanged, so it must "
            f"equal the decoder's units ({units}); use bridge='dense' (one of {BRIDGES}) or matching sizes."
        )
    return bridge


@keras.saving.register_keras_serializable(package="zoo")
class Bridge(keras.layers.Layer):
    """Encoder final states -> decoder initial states.

    ``bridge="dense"``: state j of ``states`` goes through its own dense layer to ``units``:
    h0 = tanh(W_h h + b_h) for the hidden state (first), c0 = W_c c + b_c for an LSTM memory cell
    (linear: a cell state is not bounded). ``bridge="none"``: the states pass unchanged, which
    needs ``input_units == units`` (checked here, at construction).

    Args:
        units: the decoder's state size.
        input_units: the encoder's final state size, e.g. 2 * H for a bidirectional encoder.
        num_states: states per layer (2 for LSTM, 1 for GRU / simple RNN).
        bridge: ``"dense"`` or ``"none"``.

    Call: ``bridge(states)``: a list of ``num_states`` tensors (batch, input_units) -> a list of
    ``num_states`` tensors (batch, units).
    """

    def __init__(self, units: int, input_units: int, num_states: int = 1, bridge: str = "dense", **kwargs):
        super().__init__(**kwargs)
        check_positive(units=units, input_units=input_units, num_states=num_states)
        self.units, self.input_units, self.num_states = units, input_units, num_states
        self.bridge = check_bridge(bridge, input_units, units)
        self.denses = []
        if bridge == "dense":
            self.denses = [keras.layers.Dense(units, activation="tanh" if j == 0 else None, name=f"dense_{j}")
                           for j in range(num_states)]

    def build(self, states_shape=None):
        for dense in self.denses:
            dense.build((None, self.input_units))

    def call(self, states):
        if len(states) != self.num_states:
            raise ValueError(f"Bridge expects {self.num_states} states, got {len(states)}")
        if not self.denses:
            return list(states)
        return [dense(state) for dense, state in zip(self.denses, states)]  # (batch, units) each

    def compute_output_spec(self, states):
        return [keras.KerasTensor((state.shape[0], self.units), dtype=self.compute_dtype) for state in states]

    def get_config(self):
        return {**super().get_config(), "units": self.units, "input_units": self.input_units,
                "num_states": self.num_states, "bridge": self.bridge}


@keras.saving.register_keras_serializable(package="zoo")
class PyramidalEncoder(keras.layers.Layer):
    """The listener of Listen, Attend and Spell (Chan et al. 2016): a stack of bidirectional RNNs, each
    reading pairs of consecutive outputs of the layer below concatenated into one step, so every layer
    halves the time axis and ``num_layers`` layers reduce it ``2 ** num_layers`` times (masks alike:
    a row of length n keeps ceil(n / 2) steps per layer; an odd last step is paired with zeros).

    Args:
        units: cell size per direction (memory size 2 * units).
        num_layers: stacked layers, each halving time.
        cell: ``"lstm"``, ``"gru"`` or ``"simple"``.
        dropout: dropout rate between layers (training only).

    Call: ``memory, mask, states = encoder(features, mask)`` with features (batch, frames, d) and mask
    (batch, frames) bool (true on each row's first frames) -> memory (batch, ceil(frames / 2 ** num_layers),
    2 * units), zero past each row's end, its mask, and the last layer's final states, each
    (batch, 2 * units), forward and backward concatenated ([h] or [h, c]).
    """

    def __init__(self, units: int, num_layers: int = 3, cell: str = "lstm", dropout: float = 0.0, **kwargs):
        super().__init__(**kwargs)
        check_positive(units=units, num_layers=num_layers)
        check_dropout(dropout)
        self.units, self.num_layers, self.cell, self.dropout = units, num_layers, check_cell(cell), dropout
        from zoo.layers.sources import StackFrames

        self.pairs = StackFrames(2, name="pairs")
        self.rnns = [keras.layers.Bidirectional(
            CELLS[cell](units, return_sequences=True, return_state=True, name=f"{cell}_{i}"), name=f"bi_{cell}_{i}")
            for i in range(num_layers)]
        self.drop = keras.layers.Dropout(dropout)

    @property
    def output_units(self) -> int:
        return 2 * self.units

    @property
    def reduction(self) -> int:
        """Input steps per memory step."""
        return 2 ** self.num_layers

    def recurrent_layers(self) -> list:
        return [part for rnn in self.rnns for part in (rnn.forward_layer, rnn.backward_layer)]

    def build(self, features_shape, mask_shape=None):
        depth = features_shape[-1]
        for rnn in self.rnns:
            rnn.build((features_shape[0], None, 2 * depth))
            depth = self.output_units

    def call(self, features, mask, training=False):
        sequence = features
        lengths = ops.sum(ops.cast(mask, "int32"), axis=1)  # (batch,)
        n = num_states(self.cell)
        for i, rnn in enumerate(self.rnns):
            if i > 0:
                sequence = self.drop(sequence, training=training)
            sequence, lengths = self.pairs(sequence, lengths)  # (batch, steps / 2, 2 * depth)
            mask = ops.cumsum(ops.ones_like(sequence[:, :, 0], dtype="int32"), axis=1) <= lengths[:, None]
            outputs = rnn(sequence, mask=mask, training=training)
            states = list(outputs[1:])
            # Zero past each row's end (a fresh tensor: no Keras mask rides along into the next pairing).
            sequence = ops.where(ops.expand_dims(mask, -1), outputs[0], ops.zeros_like(outputs[0]))
        states = [ops.concatenate([states[j], states[n + j]], axis=-1) for j in range(n)]
        return sequence, mask, states  # memory (batch, S', 2 * units)

    def compute_output_spec(self, features, mask, training=False):
        batch, frames, _ = features.shape
        steps = None if frames is None else -(-frames // self.reduction)
        states = [keras.KerasTensor((batch, self.output_units), dtype=self.compute_dtype)
                  for _ in range(num_states(self.cell))]
        return (keras.KerasTensor((batch, steps, self.output_units), dtype=self.compute_dtype),
                keras.KerasTensor((batch, steps), dtype="bool"), states)

    def get_config(self):
        return {**super().get_config(), "units": self.units, "num_layers": self.num_layers, "cell": self.cell,
                "dropout": self.dropout}
