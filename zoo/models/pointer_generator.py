"""See et al. 2017, "Get To The Point: Summarization with Pointer-Generator Networks".

Encoder: embedding -> bidirectional LSTM; its final states pass through dense bridges to the
decoder LSTM's first state. Each decoder step runs the LSTM on embedding(y_{t-1}), attends to the
memory with an additive score that also reads the coverage (the attention summed over the steps so
far) and mixes two distributions over the extended vocabulary (the target vocabulary V plus
``max_oov`` slots for source words it lacks, ``zoo.frontends.text``):

    P_vocab = softmax(W_out tanh(W [s_t; ctx_t]))                 generate a vocabulary word
    p_gen   = sigmoid(w [s_t; ctx_t; embedding(y_{t-1})])          how much to generate
    P(w)    = p_gen P_vocab(w) + (1 - p_gen) Σ_{i: x_i = w} a_ti   copy: attention on the source's w

A word outside V that the source holds can thus be emitted (its extended id); the detokenizer reads
it back from the source. With ``coverage``, the score gets w_c c_ti and training adds the coverage
loss λ Σ_i min(a_ti, c_ti) per target token, which discourages attending twice to the same words.
State: {"h", "c", "coverage" (batch, src_len)}; context adds "source_extended" (batch, src_len).
Backend-agnostic: ``keras.layers`` and ``keras.ops`` only.
"""
from __future__ import annotations

import keras
from keras import ops

from zoo.layers.attention import attend
from zoo.layers.cells import RecurrentDecoder
from zoo.layers.encoders import RNNEncoder, check_dropout, check_positive
from zoo.models.base import Seq2Seq
from zoo.text.vocab import PAD_ID, UNK_ID

TINY = 1e-30  # probability floor before the log: an unused extended slot is log(1e-30), not -inf


@keras.saving.register_keras_serializable(package="zoo")
class CoverageAttention(keras.layers.Layer):
    """Additive attention with coverage: e_i = vᵀ tanh(W s + U h_i + w_c c_i), a = masked softmax(e).

    Call: ``context, weights = attention(query, memory, memory_mask, coverage)`` with query
    (batch, q_units), memory (batch, src_len, m_units), memory_mask (batch, src_len) bool, coverage
    (batch, src_len) -> context (batch, m_units), weights (batch, src_len).
    """

    def __init__(self, units: int, **kwargs):
        super().__init__(**kwargs)
        check_positive(units=units)
        self.units = units

    def build(self, query_shape, memory_shape, memory_mask_shape=None, coverage_shape=None):
        self.query_kernel = self.add_weight(name="query_kernel", shape=(query_shape[-1], self.units))
        self.memory_kernel = self.add_weight(name="memory_kernel", shape=(memory_shape[-1], self.units))
        self.coverage_kernel = self.add_weight(name="coverage_kernel", shape=(self.units,), initializer="zeros")
        self.score_vector = self.add_weight(name="score_vector", shape=(self.units,))

    def call(self, query, memory, memory_mask, coverage):
        hidden = ops.tanh(ops.matmul(query, self.query_kernel)[:, None, :]  # (batch, 1, units)
                          + ops.matmul(memory, self.memory_kernel)  # (batch, src_len, units)
                          + coverage[:, :, None] * self.coverage_kernel)  # (batch, src_len, units)
        return attend(ops.sum(hidden * self.score_vector, axis=-1), memory, memory_mask)

    def compute_output_spec(self, query, memory, memory_mask, coverage):
        batch, src_len, memory_units = memory.shape
        return (keras.KerasTensor((batch, memory_units), dtype=self.compute_dtype),
                keras.KerasTensor((batch, src_len), dtype=self.compute_dtype))

    def get_config(self):
        return {**super().get_config(), "units": self.units}


@keras.saving.register_keras_serializable(package="zoo")
class PointerGeneratorCell(keras.layers.Layer):
    """One decoder step: s_t = LSTM(embedding(y_{t-1}), s_{t-1}); a_t, ctx_t = attention(s_t, memory,
    coverage); coverage += a_t. Output [s_t; ctx_t] (batch, units + memory_units).

    State: ``[h, c, coverage]``: (batch, units), (batch, units), (batch, src_len).
    """

    state_names = ("h", "c", "coverage")

    def __init__(self, units: int, memory_units: int, attention_units: int, coverage: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.units, self.memory_units, self.attention_units = units, memory_units, attention_units
        self.coverage = coverage
        self.output_units = units + memory_units
        self.lstm = keras.layers.LSTMCell(units, name="lstm")
        self.attention = CoverageAttention(attention_units, name="attention")

    def build(self, embedded_shape, state_shape=None, memory_shape=None, memory_mask_shape=None):
        batch = embedded_shape[0]
        self.lstm.build((batch, embedded_shape[-1]))
        self.attention.build((batch, self.units), (batch, None, self.memory_units))

    def call(self, embedded, state, memory, memory_mask, training=False):
        h, c, coverage = state
        h, (h, c) = self.lstm(embedded, [h, c], training=training)  # (batch, units)
        seen = coverage if self.coverage else ops.zeros_like(coverage)  # without coverage: plain additive
        context, weights = self.attention(h, memory, memory_mask, seen)  # (batch, m_units), (batch, src_len)
        return ops.concatenate([h, context], axis=-1), [h, c, coverage + weights], weights

    def get_config(self):
        return {**super().get_config(), "units": self.units, "memory_units": self.memory_units,
                "attention_units": self.attention_units, "coverage": self.coverage}


@keras.saving.register_keras_serializable(package="zoo")
class CoverageLoss(keras.layers.Layer):
    """Adds λ · mean over real target tokens of Σ_i min(a_ti, c_ti), c_t = Σ_{t'<t} a_t'i, through
    ``add_loss``; returns the attention unchanged. Call: ``loss_layer(weights (batch, tgt_len, src_len),
    decoder_input (batch, tgt_len))``."""

    def __init__(self, weight: float = 1.0, **kwargs):
        super().__init__(**kwargs)
        self.weight = weight

    def call(self, weights, decoder_input):
        coverage = ops.cumsum(weights, axis=1) - weights  # (batch, tgt_len, src_len): before step t
        per_token = ops.sum(ops.minimum(weights, coverage), axis=-1)  # (batch, tgt_len)
        real = ops.cast(ops.not_equal(decoder_input, PAD_ID), per_token.dtype)
        self.add_loss(self.weight * ops.sum(per_token * real) / ops.maximum(ops.sum(real), 1.0))
        return weights

    def get_config(self):
        return {**super().get_config(), "weight": self.weight}


class PointerGenerator(Seq2Seq):
    """Bidirectional LSTM encoder, LSTM decoder with (coverage) attention, copying from the source.

    Args:
        source_vocab_size, target_vocab_size: vocabulary sizes, reserved ids included.
        embedding_dim: size of the source and target embeddings.
        encoder_units: LSTM size per direction (memory size 2 * encoder_units).
        units: decoder LSTM size and the vocabulary distribution's hidden size.
        attention_units: hidden size of the attention score (default: units).
        max_oov: extended-vocabulary slots per source, for words outside the target vocabulary.
        copy: False leaves out the copy mechanism (no ``p_gen``, no extended vocabulary, ``max_oov``
            unused): the plain attention model the pointer-generator adds to, for ablations.
        coverage: coverage attention and the coverage loss (weight ``coverage_weight``).
        dropout: rate on embeddings and before the output projection.
    """

    family = "pointer_generator"

    def __init__(self, source_vocab_size: int, target_vocab_size: int, embedding_dim: int = 64,
                 encoder_units: int = 128, units: int = 256, attention_units: int | None = None, max_oov: int = 50,
                 copy: bool = True, coverage: bool = False, coverage_weight: float = 1.0, dropout: float = 0.0):
        check_positive(source_vocab_size=source_vocab_size, target_vocab_size=target_vocab_size,
                       embedding_dim=embedding_dim, encoder_units=encoder_units, units=units, max_oov=max_oov)
        if attention_units is not None:
            check_positive(attention_units=attention_units)
        check_dropout(dropout)
        self.config = dict(source_vocab_size=source_vocab_size, target_vocab_size=target_vocab_size,
                           embedding_dim=embedding_dim, encoder_units=encoder_units, units=units,
                           attention_units=attention_units, max_oov=max_oov, copy=copy, coverage=coverage,
                           coverage_weight=coverage_weight, dropout=dropout)
        self.copy = bool(copy)
        self.max_oov = max_oov if copy else 0  # 0: the frontend and the Predictor treat it as a plain model
        self.vocabulary_size = target_vocab_size
        memory_units = 2 * encoder_units

        self.source_embedding = keras.layers.Embedding(source_vocab_size, embedding_dim, name="source_embedding")
        self.target_embedding = keras.layers.Embedding(target_vocab_size, embedding_dim, name="target_embedding")
        self.embedding_dropout = keras.layers.Dropout(dropout, name="embedding_dropout")
        self.encoder_rnn = RNNEncoder(encoder_units, 1, True, "lstm", dropout, name="encoder")
        self.bridge_h = keras.layers.Dense(units, activation="tanh", name="bridge_h")
        self.bridge_c = keras.layers.Dense(units, name="bridge_c")
        self.cell = PointerGeneratorCell(units, memory_units, attention_units or units, coverage, name="decoder_cell")
        self.state_names = self.cell.state_names
        self.decoder = RecurrentDecoder(self.cell, name="decoder")
        self.hidden = keras.layers.Dense(units, activation="tanh", name="hidden")
        self.output_dropout = keras.layers.Dropout(dropout, name="output_dropout")
        self.projection = keras.layers.Dense(target_vocab_size, dtype="float32", name="projection")
        self.generate_gate = (keras.layers.Dense(1, activation="sigmoid", dtype="float32", name="generate_gate")
                              if copy else None)
        self.coverage_loss = CoverageLoss(coverage_weight, name="coverage_loss") if coverage else None

        inputs = self.source_inputs()
        decoder_input = keras.Input((None,), dtype="int32", name="decoder_input")
        memory, memory_mask, initial_state = self._encode(inputs["source"], inputs["source_length"])
        embedded = self.embedding_dropout(self.target_embedding(self._in_vocabulary(decoder_input)))  # (batch, tgt_len, emb)
        outputs, weights = self.decoder(embedded, memory, memory_mask, initial_state)  # (batch, tgt_len, ·)
        if self.coverage_loss is not None:
            weights = self.coverage_loss(weights, decoder_input)
        log_probs = self._log_probs(outputs, embedded, weights, inputs.get("source_extended"))
        self.trainer = keras.Model({**inputs, "decoder_input": decoder_input}, log_probs, name="pointer_generator_trainer")

    def source_inputs(self) -> dict:
        if not self.copy:
            return super().source_inputs()
        return {**super().source_inputs(),
                "source_extended": keras.Input((None,), dtype="int32", name="source_extended")}

    def _in_vocabulary(self, tokens):
        """Extended ids (copied words) -> <unk> for the embedding; vocabulary ids unchanged."""
        return ops.where(ops.greater_equal(tokens, self.vocabulary_size), UNK_ID, tokens)

    def _encode(self, source, source_length, training=None):
        """-> memory (batch, src_len, 2 * encoder_units), memory_mask, [h0, c0, coverage0 (batch, src_len)]."""
        embedded, memory_mask = self._embed_source(source, source_length, training)  # (batch, src_len, emb)
        memory, (h, c) = self.encoder_rnn(embedded, memory_mask)
        coverage = ops.zeros_like(ops.cast(memory_mask, memory.dtype))  # (batch, src_len)
        return memory, memory_mask, [self.bridge_h(h), self.bridge_c(c), coverage]

    def _log_probs(self, outputs, embedded, weights, source_extended):
        """Decoder outputs [s; ctx] (..., out), embeddings (..., emb), attention (..., src_len) and the
        source's extended ids (batch, src_len) -> log P over the extended vocabulary (..., V + max_oov),
        for one step (batch, ·) or a whole target (batch, tgt_len, ·). Without copy: log P_vocab (..., V)."""
        logits = self.projection(self.output_dropout(self.hidden(outputs)))  # (..., V)
        if not self.copy:
            return ops.log_softmax(logits, axis=-1)
        p_vocab = ops.softmax(logits, axis=-1)  # (..., V)
        p_gen = self.generate_gate(ops.concatenate([outputs, embedded], axis=-1))  # (..., 1)
        extended = ops.one_hot(source_extended, self.vocabulary_size + self.max_oov, dtype="float32")  # (batch, src_len, V+)
        weights = ops.cast(weights, "float32")
        if len(weights.shape) == 3:
            copied = ops.einsum("bts,bsv->btv", weights, extended)  # (batch, tgt_len, V+)
        else:
            copied = ops.einsum("bs,bsv->bv", weights, extended)  # (batch, V+)
        padding = [[0, 0]] * (len(p_vocab.shape) - 1) + [[0, self.max_oov]]
        mixed = p_gen * ops.pad(p_vocab, padding) + (1.0 - p_gen) * copied
        return ops.log(ops.maximum(mixed, TINY))

    def encode(self, inputs: dict, training: bool = False) -> tuple[dict, dict]:
        context, state = super().encode(inputs, training=training)
        return ({**context, "source_extended": inputs["source_extended"]} if self.copy else context), state

    def step(self, token, context: dict, state: dict, training: bool = False):
        """token (batch,) vocabulary or extended id -> log P (batch, V + max_oov), attention, new state."""
        embedded = self.target_embedding(self._in_vocabulary(token))  # (batch, emb)
        output, new_state, weights = self.cell(embedded, [state[name] for name in self.state_names],
                                               context["memory"], context["memory_mask"], training=training)
        log_probs = self._log_probs(output, embedded, weights, context.get("source_extended"))
        return log_probs, weights, dict(zip(self.state_names, new_state))
