"""The family contract every seq2seq model in the zoo follows.

A family object holds three functional Keras models built from the *same* layers, so one set of
weights serves training, decoding and export:

- ``trainer``: {"source": (batch, src_len), "decoder_input": (batch, tgt_len)} int32
  -> logits (batch, tgt_len, target_vocab_size) float32. Trained with teacher forcing.
- ``encoder``: source (batch, src_len) int32
  -> [memory (batch, src_len, m_units), memory_mask (batch, src_len) bool, *initial_state]
- ``step``: [token (batch,) int32, memory, memory_mask, *state]
  -> [logits (batch, target_vocab_size), attention (batch, src_len), *new_state]

Decoding strategies only see ``encoder`` and ``step``; they never know the family. A family without
attention (``has_attention = False``) returns all-zero attention from ``step``. ``state_names`` names
the state tensors in order; it may depend on the config (e.g. [h, c] per decoder layer), so read it
from the instance.
Config is the constructor's keyword arguments, mirrored by ``get_config``; ``from_config`` rebuilds
the same architecture (fresh weights). Families: ``zoo.models.FAMILIES``.
"""
from __future__ import annotations

import keras

from zoo.layers.cells import DeepOutput, RecurrentDecoder


class Seq2Seq:
    """Base class: a family's constructor makes its encoder-side layers and decoder cell, then calls
    ``_build_graphs`` for ``trainer``, ``encoder`` and ``step``."""

    family: str = ""
    has_attention: bool = True
    state_names: tuple[str, ...] = ()

    trainer: keras.Model
    encoder: keras.Model
    step: keras.Model

    def _build_graphs(self, deep_output: bool = False) -> None:
        """Adds the output layers (an optional maxout ``deep_output`` over [decoder output; embedding],
        dropout, the vocabulary projection), then builds ``trainer``, ``encoder`` and ``step`` from the
        layers the family's constructor made first: ``target_embedding``, ``embedding_dropout``,
        ``encoder_rnn`` and the decoder ``cell``, and its ``_encode(source)`` -> (memory, memory_mask,
        initial_state)."""
        units, dropout = self.config["units"], self.config["dropout"]
        self.state_names = self.cell.state_names
        self.decoder = RecurrentDecoder(self.cell, name="decoder")  # the cell scanned over a whole target
        self.deep_output = DeepOutput(units, name="deep_output") if deep_output else None
        self.output_dropout = keras.layers.Dropout(dropout, name="output_dropout")
        # float32 logits under every dtype policy: under mixed precision the rest computes in float16 or
        # bfloat16, but the softmax, the loss and the decoders' log-probabilities need float32.
        self.projection = keras.layers.Dense(self.config["target_vocab_size"], dtype="float32", name="projection")

        # trainer and encoder: one graph; the encoder is its source-side sub-graph.
        source = keras.Input((None,), dtype="int32", name="source")
        decoder_input = keras.Input((None,), dtype="int32", name="decoder_input")
        memory, memory_mask, initial_state = self._encode(source)
        embedded = self.embedding_dropout(self.target_embedding(decoder_input))  # (batch, tgt_len, emb)
        outputs, _ = self.decoder(embedded, memory, memory_mask, initial_state)  # (batch, tgt_len, cell.output_units)
        logits = self.projection(self.output_dropout(self._readout(outputs, embedded)))  # (batch, tgt_len, vocab)
        self.trainer = keras.Model({"source": source, "decoder_input": decoder_input}, logits,
                                   name=f"{self.family}_trainer")
        self.encoder = keras.Model(source, [memory, memory_mask, *initial_state], name=f"{self.family}_encoder")

        # step: one decoder token, carrying the cell's state (every state tensor is (batch, units)).
        token = keras.Input((), dtype="int32", name="token")
        step_memory = keras.Input((None, self.encoder_rnn.output_units), name="memory")
        step_mask = keras.Input((None,), dtype="bool", name="memory_mask")
        state = [keras.Input((units,), name=name) for name in self.state_names]
        step_embedded = self.target_embedding(token)  # (batch, emb)
        output, new_state, weights = self.cell(step_embedded, state, step_memory, step_mask)
        step_logits = self.projection(self._readout(output, step_embedded))  # (batch, vocab)
        self.step = keras.Model([token, step_memory, step_mask, *state], [step_logits, weights, *new_state],
                                name=f"{self.family}_step")

    def _readout(self, outputs, embedded):
        """Decoder outputs (..., cell.output_units) and the previous tokens' embeddings (..., emb) -> the
        projection's input: maxout(W [outputs; embedded]) (..., units) with a deep output, else the outputs."""
        return outputs if self.deep_output is None else self.deep_output([outputs, embedded])

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
