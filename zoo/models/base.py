"""The family contract every seq2seq model in the zoo follows.

A family object holds three functional Keras models built from the *same* layers, so one set of
weights serves training, decoding and export:

- ``trainer``: {"source": (batch, src_len), "decoder_input": (batch, tgt_len)} int32
  -> logits (batch, tgt_len, target_vocab_size). Trained with teacher forcing.
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


class Seq2Seq:
    """Base class: subclasses build ``trainer``, ``encoder`` and ``step`` in their constructor."""

    family: str = ""
    has_attention: bool = True
    state_names: tuple[str, ...] = ()

    trainer: keras.Model
    encoder: keras.Model
    step: keras.Model

    def get_config(self) -> dict:
        raise NotImplementedError

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
