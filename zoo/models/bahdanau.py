"""Bahdanau et al. 2015, "Neural Machine Translation by Jointly Learning to Align and Translate".

Encoder: embedding -> (stacked) bidirectional GRU or LSTM: memory h_j = [h→_j; h←_j]. Its final
states (both directions) pass through a dense bridge to the decoder's first state s_0. Each decoder
step scores the memory from the *previous* state, e_tj = vᵀ tanh(W s_{t-1} + U h_j), turns the
scores into weights over the real source positions and a context ctx_t, feeds [embedding(y_{t-1});
ctx_t] to the cell, and predicts y_t from the deep output maxout(W [s_t; ctx_t; embedding(y_{t-1})]).
Backend-agnostic: ``keras.layers`` and ``keras.ops`` only.
"""
from __future__ import annotations

import keras
from keras import ops

from zoo.layers.cells import BahdanauDecoderCell
from zoo.layers.encoders import Bridge, RNNEncoder, check_bridge, check_cell, check_dropout, check_positive
from zoo.models.base import Seq2Seq

CELLS = ("gru", "lstm")


class Bahdanau(Seq2Seq):
    """Bidirectional RNN encoder, additive attention from the previous decoder state, deep output.

    Args:
        source_vocab_size, target_vocab_size: vocabulary sizes, reserved ids included.
        embedding_dim: size of the source and target embeddings.
        encoder_units: encoder cell size per direction (memory size 2 * encoder_units);
        encoder_layers: stacked bidirectional layers.
        units: decoder state and deep output size.
        attention_units: hidden size of the attention score (default: units).
        cell: ``"gru"`` (the paper) or ``"lstm"``, in the encoder and the decoder.
        bridge: ``"dense"``: s_0 = tanh(W [h→_T; h←_1]); ``"none"``: s_0 = [h→_T; h←_1] unchanged,
            which needs 2 * encoder_units == units.
        dropout: rate on embeddings, between encoder layers and before the output projection.
        source: None for token ids (``source_vocab_size`` of them); or an audio or image source's front,
            {"kind": "audio" | "image", ...} (``zoo.layers.fronts``), with ``source_vocab_size`` None.
    """

    family = "bahdanau"

    def __init__(self, source_vocab_size: int, target_vocab_size: int, embedding_dim: int = 64,
                 encoder_units: int = 256, encoder_layers: int = 1, units: int = 256,
                 attention_units: int | None = None, cell: str = "gru", bridge: str = "dense",
                 dropout: float = 0.0, source: dict | None = None):
        check_positive(target_vocab_size=target_vocab_size,
                       embedding_dim=embedding_dim, encoder_units=encoder_units,
                       encoder_layers=encoder_layers, units=units)
        if attention_units is not None:
            check_positive(attention_units=attention_units)
        check_cell(cell, CELLS)
        check_dropout(dropout)
        memory_units = 2 * encoder_units
        check_bridge(bridge, memory_units, units, "the encoder's final state (2 * encoder_units)")
        self.config = dict(source_vocab_size=source_vocab_size, target_vocab_size=target_vocab_size,
                           embedding_dim=embedding_dim, encoder_units=encoder_units, encoder_layers=encoder_layers,
                           units=units, attention_units=attention_units, cell=cell, bridge=bridge, dropout=dropout,
                           **({"source": source} if source else {}))

        # Layers, shared by the three graphs below.
        self._make_source_side(source, source_vocab_size, embedding_dim)
        self.target_embedding = keras.layers.Embedding(target_vocab_size, embedding_dim, name="target_embedding")
        self.embedding_dropout = keras.layers.Dropout(dropout, name="embedding_dropout")
        self.encoder_rnn = RNNEncoder(encoder_units, encoder_layers, True, cell, dropout, name="encoder")
        self.bridge = Bridge(units, memory_units, self.encoder_rnn.num_states, bridge, name="bridge")
        self.cell = BahdanauDecoderCell(units, memory_units, attention_units or units, cell, name="decoder_cell")

        self._build_graphs(deep_output=True)

    def _encode(self, source, source_length, training=None):
        """source (batch, src_len) -> memory (batch, src_len, 2 * encoder_units), memory_mask
        (batch, src_len), and s_0: [h, (c)], (batch, units) each."""
        embedded, memory_mask = self._embed_source(source, source_length, training)  # (batch, src_len, emb)
        memory, states = self.encoder_rnn(embedded, memory_mask)  # final [h→_T; h←_1], ...
        return memory, memory_mask, self.bridge(states)
