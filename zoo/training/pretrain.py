"""Pretraining a model's audio or image source front on its own training pairs, before the seq2seq
objective: which words of the vocabulary does each target hold?

Show, Attend and Tell's CNN came pretrained (on ImageNet); a captioner whose CNN starts from scratch
learns it only through the caption loss, which reaches the CNN through means over the cells (the first
state, an attention that starts uniform). Where the objects are small that teacher is too weak: on
digit grids (a few of 144 cells hold a digit) a CNN taught "which digits are here" through the mean of
its cells stayed at chance, and a captioner trained from scratch reached 35 % digit accuracy in 5
epochs. Tagging through the *max* over the cells teaches the same CNN in a few hundred steps.

A recipe's ``"pretrain_source": {"epochs": 2, "learning_rate": 0.001}`` (``learning_rate`` optional: the
recipe's) runs this once, before the first epoch of a fresh run (a resumed run has its weights
already). The tagger is the model's own ``source_front``, the max over its real cells, and a dense
layer of one logit per word of the target vocabulary (its ids after the reserved ones), trained with
binary cross-entropy against the words each target holds; the dense layer is then dropped, the front
keeps what it learned.
Backend-agnostic: ``keras`` only (the tf.data side is in ``zoo.training.train``).
"""
from __future__ import annotations

import keras

from zoo.layers.attention import masked_max

PRETRAIN_KEYS = {"epochs": int, "learning_rate": float}


def check_pretrain_source(config) -> None:
    """Validates a recipe's ``pretrain_source`` dict; a ValueError names the key and what is wrong."""
    unknown = sorted(set(config) - set(PRETRAIN_KEYS))
    if unknown or "epochs" not in config:
        raise ValueError(f"Recipe key 'pretrain_source' takes {sorted(PRETRAIN_KEYS)} ('epochs' required), "
                         f"got {sorted(config)}")
    epochs = config["epochs"]
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
        raise ValueError(f"Recipe key 'pretrain_source': epochs must be an integer >= 1, got {epochs!r}")
    rate = config.get("learning_rate", 1.0)
    if isinstance(rate, bool) or not isinstance(rate, (int, float)) or rate <= 0:
        raise ValueError(f"Recipe key 'pretrain_source': learning_rate must be a number > 0, got {rate!r}")


def source_tagger(model, words: int) -> keras.Model:
    """{"source", "source_length"} -> logits (batch, words), one per target word: the model's own
    ``source_front`` (shared: training the tagger trains it), the max over its real cells, a dense layer."""
    if model.source_front is None:
        raise ValueError(f"pretrain_source pretrains an audio or image source front; the {model.family} model "
                         "reads token ids")
    inputs = model.source_front.inputs()
    cells, mask = model.source_front(inputs["source"], inputs["source_length"])  # (batch, cells, C), (batch, cells)
    pooled = keras.layers.Lambda(lambda pair: masked_max(*pair), name="max_over_cells")([cells, mask])  # (batch, C)
    return keras.Model(inputs, keras.layers.Dense(words, name="word_logits")(pooled), name="source_tagger")


def pretrain_source(model, data, dev_data, words: int, epochs: int, learning_rate: float,
                    verbose="auto") -> dict:
    """Fits ``source_tagger(model, words)`` on ``data`` (batches of ({"source", "source_length"},
    word presence (batch, words) in {0, 1}), or one such pair of arrays, batched by 32) for ``epochs``,
    scoring ``dev_data`` (the same kind) after each; returns the last epoch's figures
    {"loss", "word_accuracy", "dev_loss", "dev_word_accuracy"} (word accuracy: the share of (example,
    word) pairs tagged right, logit > 0 meaning present)."""
    tagger = source_tagger(model, words)
    tagger.compile(optimizer=keras.optimizers.Adam(learning_rate),
                   loss=keras.losses.BinaryCrossentropy(from_logits=True),
                   metrics=[keras.metrics.BinaryAccuracy(threshold=0.0, name="word_accuracy")])
    inputs, present = data if isinstance(data, tuple) else (data, None)
    history = tagger.fit(inputs, present, validation_data=dev_data, epochs=epochs, verbose=verbose).history
    return {key.replace("val_", "dev_"): float(values[-1]) for key, values in history.items()}
