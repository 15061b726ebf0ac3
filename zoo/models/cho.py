"""Cho et al. 2014, "Learning Phrase Representations using RNN Encoder-Decoder for Statistical
Machine Translation".

Encoder: embedding -> (stacked) GRU; its last hidden state h_T gives the summary c = tanh(V h_T)
(with an LSTM, its final memory cell joins h_T).
Decoder: a GRU that starts from s_0 = tanh(V' c) and sees c at every step, in its input
[embedding(y_{t-1}); c] and in the deep output t = maxout(W [s_t; c; embedding(y_{t-1})]), which is
projected to the target vocabulary. No attention: c is all the decoder knows of the source.
Backend-agnostic: ``keras.layers`` and ``keras.ops`` only.
"""
from __future__ import annotations

import keras
from keras import ops

from zoo.layers.cells import PlainDecoderCell
from zoo.layers.encoders import Bridge, RNNEncoder, check_cell, check_dropout, check_positive
from zoo.models.base import Seq2Seq


class Cho(Seq2Seq):
    """RNN encoder-decoder conditioned on a fixed summary vector of the source at every step.

    Args:
        source_vocab_size, target_vocab_size: vocabulary sizes, reserved ids included.
        embedding_dim: size of the source and target embeddings.
        encoder_units: encoder cell size per direction; encoder_layers: stacked encoder layers.
        bidirectional: bidirectional encoder (h_T then joins both directions' final states).
        units: summary c, decoder state and deep output size.
        cell: ``"gru"`` (the paper), ``"lstm"`` or ``"simple"``, in the encoder and the decoder.
        dropout: rate on embeddings, between encoder layers and before the output projection.
    """

    family = "cho"
    has_attention = False

    def __init__(self, source_vocab_size: int, target_vocab_size: int, embedding_dim: int = 64,
                 encoder_units: int = 256, encoder_layers: int = 1, bidirectional: bool = False,
                 units: int = 256, cell: str = "gru", dropout: float = 0.0):
        check_positive(source_vocab_size=source_vocab_size, target_vocab_size=target_vocab_size,
                       embedding_dim=embedding_dim, encoder_units=encoder_units,
                       encoder_layers=encoder_layers, units=units)
        check_cell(cell)
        check_dropout(dropout)
        self.config = dict(source_vocab_size=source_vocab_size, target_vocab_size=target_vocab_size,
                           embedding_dim=embedding_dim, encoder_units=encoder_units, encoder_layers=encoder_layers,
                           bidirectional=bidirectional, units=units, cell=cell, dropout=dropout)

        # Layers, shared by the three graphs below.
        self.source_embedding = keras.layers.Embedding(source_vocab_size, embedding_dim, name="source_embedding")
        self.target_embedding = keras.layers.Embedding(target_vocab_size, embedding_dim, name="target_embedding")
        self.embedding_dropout = keras.layers.Dropout(dropout, name="embedding_dropout")
        self.encoder_rnn = RNNEncoder(encoder_units, encoder_layers, bidirectional, cell, dropout, name="encoder")
        self.summary = keras.layers.Dense(units, activation="tanh", name="summary")  # c = tanh(V h_T)
        n = self.encoder_rnn.num_states
        self.bridge = Bridge(units, units, n, "dense", name="bridge")  # s_0 = tanh(V' c)
        self.cell = PlainDecoderCell(units, 1, cell, summary_units=units, name="decoder_cell")

        self._build_graphs(deep_output=True)

    def _encode(self, source, source_length, training=None):
        """source (batch, src_len) -> memory (batch, src_len, m_units), memory_mask (batch, src_len),
        and the decoder's initial state [s_0, (cell_0), c], (batch, units) each."""
        embedded, memory_mask = self._embed_source(source, source_length, training)  # (batch, src_len, emb)
        memory, states = self.encoder_rnn(embedded, memory_mask)  # [h_T, (cell_T)] (batch, m_units) each
        final = states[0] if len(states) == 1 else ops.concatenate(states, axis=-1)  # (batch, m_units * states)
        summary = self.summary(final)  # c (batch, units)
        return memory, memory_mask, [*self.bridge([summary] * len(states)), summary]
