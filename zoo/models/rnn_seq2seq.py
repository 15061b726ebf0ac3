"""Sutskever et al. 2014, "Sequence to Sequence Learning with Neural Networks".

Encoder: embedding -> stacked RNN (LSTM in the paper) over the source, optionally reversed (only its
real tokens: padding stays on the right). Decoder: a stack of as many layers, layer l starting from
encoder layer l's final state (through an optional dense bridge), reading the previous target token
and projecting its top state to the target vocabulary. There is no attention: the whole source has
to pass through the final states, which is why reversing it (bringing its first tokens close to the
first target tokens) helped in the paper.
Backend-agnostic: ``keras.layers`` and ``keras.ops`` only.
"""
from __future__ import annotations

import keras
from keras import ops

from zoo.layers.cells import PlainDecoderCell
from zoo.layers.encoders import Bridge, RNNEncoder, check_bridge, check_cell, check_dropout, check_positive
from zoo.models.base import Seq2Seq, length_mask


def reverse_real_tokens(ids, mask):
    """Reverses each row's real tokens, keeping right padding on the right: [a b c 0 0] -> [c b a 0 0].

    ids (batch, src_len) int, mask (batch, src_len) bool -> (batch, src_len).
    """
    ids = ops.cast(ids, "int32")
    lengths = ops.sum(ops.cast(mask, "int32"), axis=1, keepdims=True)  # (batch, 1)
    positions = ops.cumsum(ops.ones_like(ids), axis=1) - 1  # (batch, src_len): 0, 1, 2, ... (symbolic-safe)
    source_positions = ops.where(mask, lengths - 1 - positions, positions)  # (batch, src_len)
    return ops.where(mask, ops.take_along_axis(ids, source_positions, axis=1), ops.zeros_like(ids))


class RNNSeq2Seq(Seq2Seq):
    """Stacked RNN encoder-decoder without attention; the encoder's final states start the decoder.

    Args:
        source_vocab_size, target_vocab_size: vocabulary sizes, reserved ids included.
        embedding_dim: size of the source and target embeddings.
        encoder_units: encoder cell size per direction.
        units: decoder cell size.
        layers: stacked layers, in the encoder and in the decoder alike (residual from layer 3 on).
        cell: ``"lstm"``, ``"gru"`` or ``"simple"`` (encoder and decoder).
        bidirectional: bidirectional encoder (final states of size 2 * encoder_units).
        reverse_source: feed the source reversed (Sutskever et al.), padding kept on the right.
        bridge: ``"none"``: decoder layer l starts from encoder layer l's final states, which needs
            encoder_units * directions == units; ``"dense"``: through a dense layer per state.
        dropout: rate on embeddings, between encoder layers and before the output projection.
    """

    family = "rnn_seq2seq"
    has_attention = False

    def __init__(self, source_vocab_size: int, target_vocab_size: int, embedding_dim: int = 64,
                 encoder_units: int = 256, units: int = 256, layers: int = 2, cell: str = "lstm",
                 bidirectional: bool = False, reverse_source: bool = True, bridge: str = "none",
                 dropout: float = 0.0):
        check_positive(source_vocab_size=source_vocab_size, target_vocab_size=target_vocab_size,
                       embedding_dim=embedding_dim, encoder_units=encoder_units, units=units, layers=layers)
        check_cell(cell)
        check_dropout(dropout)
        state_units = encoder_units * (2 if bidirectional else 1)
        check_bridge(bridge, state_units, units,
                     f"the encoder's final state (encoder_units{' * 2, bidirectional' if bidirectional else ''})")
        self.config = dict(source_vocab_size=source_vocab_size, target_vocab_size=target_vocab_size,
                           embedding_dim=embedding_dim, encoder_units=encoder_units, units=units, layers=layers,
                           cell=cell, bidirectional=bidirectional, reverse_source=reverse_source, bridge=bridge,
                           dropout=dropout)
        self.reverse_source = reverse_source

        # Layers, shared by the three graphs below.
        self.source_embedding = keras.layers.Embedding(source_vocab_size, embedding_dim, name="source_embedding")
        self.target_embedding = keras.layers.Embedding(target_vocab_size, embedding_dim, name="target_embedding")
        self.embedding_dropout = keras.layers.Dropout(dropout, name="embedding_dropout")
        self.encoder_rnn = RNNEncoder(encoder_units, layers, bidirectional, cell, dropout, return_all_states=True,
                                      name="encoder")
        n = self.encoder_rnn.num_states
        self.bridges = [Bridge(units, state_units, n, bridge, name=f"bridge_{i}") for i in range(layers)]
        self.cell = PlainDecoderCell(units, layers, cell, name="decoder_cell")

        self._build_graphs()

    def _encode(self, source, source_length, training=None):
        """source (batch, src_len) -> memory (batch, src_len, m_units) in reading order, memory_mask
        (batch, src_len), and the decoder's initial state: per layer [h, (c)], (batch, units) each."""
        if self.reverse_source:  # same lengths: padding stays on the right
            source = reverse_real_tokens(source, length_mask(source_length, source))
        embedded, memory_mask = self._embed_source(source, source_length, training)  # (batch, src_len, emb)
        memory, layer_states = self.encoder_rnn(embedded, memory_mask)
        initial_state = []
        for bridge, states in zip(self.bridges, layer_states):
            initial_state += bridge(states)  # [h, (c)] (batch, units) each
        return memory, memory_mask, initial_state
