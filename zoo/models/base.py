"""The family contract every seq2seq model in the zoo follows.

A family object holds one functional Keras model, ``trainer``, and two methods that call the *same*
layers step by step, so one set of weights serves training, decoding and export:

- ``trainer``: {"source": X, "source_length": (batch,) int32, "decoder_input": (batch, tgt_len) int32,
  plus a copy model's "source_extended" (batch, src_len) int32}
  -> log-probabilities (batch, tgt_len, V_out) float32. Trained with teacher forcing.
- ``encode(inputs)``: the same dict without "decoder_input" -> (context, state):
  context {"memory": (batch, S', m_units), "memory_mask": (batch, S') bool, [extras]} and the decoder's
  initial state {name: tensor}, any structure beam search may reorder row-wise.
- ``step(token (batch,) int32, context, state)``
  -> (log_probs (batch, V_out) float32, attention (batch, S') float32, new state).

X is the frontend's ``source``: int32 token ids (batch, src_len) for text; a family's ``source_front``
(``zoo.layers.fronts``) turns other sources (waveforms, images) into features with a mask. V_out is
the target vocabulary, extended by per-example source words for copy models. Decoding strategies
only see ``encode`` and ``step``; they never know the family. A family without attention
(``has_attention = False``) returns all-zero attention. ``state_names`` names the state tensors;
it may depend on the config (e.g. [h, c] per decoder layer), so read it from the instance.
Config is the constructor's keyword arguments, mirrored by ``get_config``; ``from_config`` rebuilds
the same architecture (fresh weights). Families: ``zoo.models.FAMILIES``; a new family is one file
with a ``Seq2Seq`` subclass, registered there.
"""
from __future__ import annotations

import keras
from keras import ops

from zoo.layers.cells import DeepOutput, RecurrentDecoder


def length_mask(source_length, positions_like):
    """source_length (batch,) int and any (batch, width) tensor -> (batch, width) bool, true on the first
    source_length positions (symbolic-safe: the width may be unknown)."""
    positions = ops.cumsum(ops.ones_like(positions_like, dtype="int32"), axis=1) - 1  # (batch, width): 0, 1, ...
    return positions < ops.cast(source_length, "int32")[:, None]


class Seq2Seq:
    """Base class: a family's constructor makes its encoder-side layers and decoder cell, then calls
    ``_build_graphs`` for ``trainer``."""

    family: str = ""
    has_attention: bool = True
    state_names: tuple[str, ...] = ()

    trainer: keras.Model
    source_front = None  # a ``zoo.layers.fronts`` layer for an audio or image source; None: token ids

    def _make_source_side(self, source: dict | None, source_vocab_size, embedding_dim: int) -> None:
        """Makes ``source_embedding`` for token ids (``source`` None), else the ``source`` config's front."""
        from zoo.layers.encoders import check_positive
        from zoo.layers.fronts import build_front

        if source is None:
            check_positive(source_vocab_size=source_vocab_size)
            self.source_embedding = keras.layers.Embedding(source_vocab_size, embedding_dim, name="source_embedding")
        else:
            self.source_front = build_front(source)

    def source_inputs(self) -> dict:
        """The trainer's source-side ``keras.Input``s: {"source", "source_length"}."""
        if self.source_front is not None:
            return self.source_front.inputs()
        return {"source": keras.Input((None,), dtype="int32", name="source"),
                "source_length": keras.Input((), dtype="int32", name="source_length")}

    def _build_graphs(self, deep_output: bool = False) -> None:
        """Adds the output layers (an optional maxout ``deep_output`` over [decoder output; embedding],
        dropout, the vocabulary projection), then builds ``trainer`` from the layers the family's
        constructor made first: ``target_embedding``, ``embedding_dropout``, ``encoder_rnn`` and the
        decoder ``cell``, and its ``_encode(source, source_length)`` -> (memory, memory_mask,
        initial_state list)."""
        dropout = self.config["dropout"]
        self.state_names = self.cell.state_names
        self.decoder = RecurrentDecoder(self.cell, name="decoder")  # the cell scanned over a whole target
        self.deep_output = DeepOutput(self.config["units"], name="deep_output") if deep_output else None
        self.output_dropout = keras.layers.Dropout(dropout, name="output_dropout")
        # float32 logits under every dtype policy: under mixed precision the rest computes in float16 or
        # bfloat16, but the softmax, the loss and the decoders' log-probabilities need float32.
        self.projection = keras.layers.Dense(self.config["target_vocab_size"], dtype="float32", name="projection")

        inputs = self.source_inputs()
        decoder_input = keras.Input((None,), dtype="int32", name="decoder_input")
        memory, memory_mask, initial_state = self._encode(inputs["source"], inputs["source_length"])
        embedded = self.embedding_dropout(self.target_embedding(decoder_input))  # (batch, tgt_len, emb)
        outputs, weights = self.decoder(embedded, memory, memory_mask, initial_state)  # (batch, tgt_len, ...)
        logits = self.projection(self.output_dropout(self._readout(outputs, embedded)))  # (batch, tgt_len, vocab)
        log_probs = self._regularise(ops.log_softmax(logits, axis=-1), weights, memory_mask, decoder_input)
        self.trainer = keras.Model({**inputs, "decoder_input": decoder_input}, log_probs, name=f"{self.family}_trainer")

    def _regularise(self, log_probs, weights, memory_mask, decoder_input):
        """The trainer's output: log_probs (batch, tgt_len, vocab) as they are; a family with a training-only
        loss on its attention weights (batch, tgt_len, src_len) adds it here (``add_loss`` in a layer that
        passes log_probs through), given memory_mask (batch, src_len) and decoder_input (batch, tgt_len)."""
        return log_probs

    def encode(self, inputs: dict, training: bool = False) -> tuple[dict, dict]:
        """{"source", "source_length"} -> (context {"memory", "memory_mask"}, initial state {name: (batch, ·)})."""
        memory, memory_mask, initial_state = self._encode(inputs["source"], inputs["source_length"], training=training)
        return {"memory": memory, "memory_mask": memory_mask}, dict(zip(self.state_names, initial_state))

    def step(self, token, context: dict, state: dict, training: bool = False):
        """token (batch,) -> log_probs (batch, vocab) float32, attention (batch, S'), new state."""
        embedded = self.target_embedding(token)  # (batch, emb)
        output, new_state, weights = self.cell(embedded, [state[name] for name in self.state_names],
                                               context["memory"], context["memory_mask"], training=training)
        logits = self.projection(self._readout(output, embedded))  # (batch, vocab)
        return ops.log_softmax(logits, axis=-1), weights, dict(zip(self.state_names, new_state))

    def _embed_source(self, source, source_length, training=None):
        """Token ids (batch, src_len) and lengths -> embedded (batch, src_len, emb), mask (batch, src_len);
        another source through its front -> features (batch, S', d), mask (batch, S')."""
        if self.source_front is not None:
            features, memory_mask = self.source_front(source, source_length, training=training)
            return self.embedding_dropout(features, training=training), memory_mask
        memory_mask = length_mask(source_length, source)  # (batch, src_len) bool
        return self.embedding_dropout(self.source_embedding(source), training=training), memory_mask

    def _readout(self, outputs, embedded):
        """Decoder outputs (..., cell.output_units) and the previous tokens' embeddings (..., emb) -> the
        projection's input: maxout(W [outputs; embedded]) (..., units) with a deep output, else the outputs."""
        return outputs if self.deep_output is None else self.deep_output([outputs, embedded])

    def recurrent_layers(self) -> list:
        """Every Keras RNN layer of the family (those with ``use_cudnn``), e.g. to trace without cuDNN."""
        return self.encoder_rnn.recurrent_layers()

    def get_config(self) -> dict:
        return dict(self.config)

    @classmethod
    def from_config(cls, config: dict) -> "Seq2Seq":
        return cls(**config)

    def count_params(self) -> int:
        return self.trainer.count_params()

    def save_weights(self, path: str) -> None:
        """Writes the model's weights (no optimizer state) atomically to ``path`` (.weights.h5)."""
        from zoo.io import atomic_path

        with atomic_path(path) as tmp:
            inference_only = type(self).from_config(self.get_config())
            inference_only.trainer.set_weights(self.trainer.get_weights())
            inference_only.trainer.save_weights(tmp)

    def load_weights(self, path: str) -> None:
        """Loads weights written by ``save_weights`` (a compiled trainer keeps its optimizer state)."""
        import warnings

        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Skipping variable loading for optimizer")
            self.trainer.load_weights(path)
