"""Luong et al. 2015, "Effective Approaches to Attention-based Neural Machine Translation".

Encoder: embedding -> stacked (bi)LSTM; its final states pass through a dense bridge to the
decoder's size. Decoder: LSTM with input feeding (the previous attentional state h̃ joins the
next input), global attention (dot / general / concat score) and h̃_t = tanh(W_c [ctx_t; h_t]),
then dropout and a projection to the target vocabulary.
Backend-agnostic: ``keras.layers`` and ``keras.ops`` only.
"""
from __future__ import annotations

import keras
from keras import ops

from zoo.layers.attention import check_score
from zoo.layers.cells import LuongDecoderCell
from zoo.layers.encoders import RNNEncoder, check_dropout, check_positive
from zoo.models.base import Seq2Seq


class Luong(Seq2Seq):
    """LSTM encoder-decoder with Luong attention and input feeding.

    Args:
        source_vocab_size, target_vocab_size: vocabulary sizes, reserved ids included.
        embedding_dim: size of the source and target embeddings.
        encoder_units: LSTM size per direction; encoder_layers: stacked encoder layers.
        bidirectional: bidirectional encoder (memory size 2 * encoder_units).
        units: decoder LSTM and attentional state size.
        score: attention score, ``"dot"`` (needs memory size == units), ``"general"`` or ``"concat"``.
        dropout: rate on embeddings, between encoder layers and before the output projection.
        source: None for token ids (``source_vocab_size`` of them); or an audio or image source's front,
            {"kind": "audio" | "image", ...} (``zoo.layers.fronts``), with ``source_vocab_size`` None.
    """

    family = "luong"

    def __init__(self, source_vocab_size: int, target_vocab_size: int, embedding_dim: int = 64,
                 encoder_units: int = 256, encoder_layers: int = 1, bidirectional: bool = True,
                 units: int = 512, score: str = "general", dropout: float = 0.0, source: dict | None = None):
        check_positive(target_vocab_size=target_vocab_size,
                       embedding_dim=embedding_dim, encoder_units=encoder_units,
                       encoder_layers=encoder_layers, units=units)
        check_dropout(dropout)
        memory_units = encoder_units * (2 if bidirectional else 1)
        check_score(score, memory_units, units, f"the encoder memory size ({memory_units} = encoder_units"
                                                f"{' * 2 (bidirectional)' if bidirectional else ''})")
        self.config = dict(source_vocab_size=source_vocab_size, target_vocab_size=target_vocab_size,
                           embedding_dim=embedding_dim, encoder_units=encoder_units,
                           encoder_layers=encoder_layers, bidirectional=bidirectional, units=units,
                           score=score, dropout=dropout, **({"source": source} if source else {}))

        # Layers, shared by the three graphs below.
        self._make_source_side(source, source_vocab_size, embedding_dim)
        self.target_embedding = keras.layers.Embedding(target_vocab_size, embedding_dim, name="target_embedding")
        self.embedding_dropout = keras.layers.Dropout(dropout, name="embedding_dropout")
        self.encoder_rnn = RNNEncoder(encoder_units, encoder_layers, bidirectional, "lstm", dropout, name="encoder")
        self.bridge_h = keras.layers.Dense(units, activation="tanh", name="bridge_h")
        self.bridge_c = keras.layers.Dense(units, name="bridge_c")
        self.cell = LuongDecoderCell(units, score, name="decoder_cell")

        self._build_graphs()

    def _encode(self, source, source_length, training=None):
        """source (batch, src_len) -> memory, memory_mask, [h0, c0, h̃0] (batch, units) each."""
        embedded, memory_mask = self._embed_source(source, source_length, training)  # (batch, src_len, emb)
        memory, (h, c) = self.encoder_rnn(embedded, memory_mask)  # (batch, src_len, m_units)
        h0 = self.bridge_h(h)  # (batch, units)
        return memory, memory_mask, [h0, self.bridge_c(c), ops.zeros_like(h0)]
