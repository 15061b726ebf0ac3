"""Listen, Attend and Spell (Chan et al. 2016), speech in, characters out.

Listener: the audio front (log-mel frames, SpecAugment in training, frames stacked) -> a pyramidal
BiLSTM (``PyramidalEncoder``) that halves time at each of its layers. Its final states pass through a
dense bridge to the speller's size. Speller: an attending LSTM with input feeding (Luong et al.'s
``LuongDecoderCell``: the previous attentional state joins the next character's embedding, global
attention over the listener's memory, h̃_t = tanh(W_c [ctx_t; h_t])), dropout and a projection to the
characters. Backend-agnostic: ``keras.layers`` and ``keras.ops`` only.
"""
from __future__ import annotations

import keras
from keras import ops

from zoo.layers.attention import check_score
from zoo.layers.cells import LuongDecoderCell
from zoo.layers.encoders import PyramidalEncoder, check_dropout, check_positive
from zoo.models.base import Seq2Seq


class LAS(Seq2Seq):
    """Pyramidal BiLSTM listener and attending LSTM speller.

    Args:
        source_vocab_size: None (the source is audio).
        target_vocab_size: characters, reserved ids included.
        source: the audio front, {"kind": "audio", ...} (``zoo.layers.fronts.AudioFront``).
        embedding_dim: character embedding size.
        listener_units: LSTM size per direction; listener_layers: pyramid layers, each halving time.
        units: speller LSTM and attentional state size.
        score: attention score, ``"general"`` or ``"concat"`` (``"dot"`` needs 2 * listener_units == units).
        dropout: rate on the front's features, between listener layers and before the projection.
    """

    family = "las"

    def __init__(self, source_vocab_size, target_vocab_size: int, source: dict | None = None, embedding_dim: int = 64,
                 listener_units: int = 256, listener_layers: int = 3, units: int = 512, score: str = "general",
                 dropout: float = 0.0):
        check_positive(target_vocab_size=target_vocab_size, embedding_dim=embedding_dim,
                       listener_units=listener_units, listener_layers=listener_layers, units=units)
        if source_vocab_size is not None or not isinstance(source, dict) or source.get("kind") != "audio":
            raise ValueError("LAS listens to audio: it needs source={'kind': 'audio', ...} and no "
                             f"source_vocab_size, got source={source!r}, source_vocab_size={source_vocab_size!r}")
        check_score(score, 2 * listener_units, units,
                    f"the listener's memory size (2 * listener_units = {2 * listener_units})")
        check_dropout(dropout)
        self.config = dict(source_vocab_size=None, target_vocab_size=target_vocab_size, source=source,
                           embedding_dim=embedding_dim, listener_units=listener_units,
                           listener_layers=listener_layers, units=units, score=score, dropout=dropout)
        self._make_source_side(source, None, embedding_dim)
        self.target_embedding = keras.layers.Embedding(target_vocab_size, embedding_dim, name="target_embedding")
        self.embedding_dropout = keras.layers.Dropout(dropout, name="embedding_dropout")
        self.encoder_rnn = PyramidalEncoder(listener_units, listener_layers, "lstm", dropout, name="listener")
        self.bridge_h = keras.layers.Dense(units, activation="tanh", name="bridge_h")
        self.bridge_c = keras.layers.Dense(units, name="bridge_c")
        self.cell = LuongDecoderCell(units, score, name="speller_cell")
        self._build_graphs()

    def _encode(self, source, source_length, training=None):
        """waveform (batch, samples) -> memory (batch, S', 2 * listener_units), its mask (batch, S'),
        [h0, c0, h̃0] (batch, units) each; S' = the front's frames / 2 ** listener_layers, rounded up."""
        features, mask = self._embed_source(source, source_length, training)  # (batch, frames, d)
        memory, memory_mask, (h, c) = self.encoder_rnn(features, mask, training=training)
        h0 = self.bridge_h(h)  # (batch, units)
        return memory, memory_mask, [h0, self.bridge_c(c), ops.zeros_like(h0)]
