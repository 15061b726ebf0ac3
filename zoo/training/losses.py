"""Training losses and metrics (backend-agnostic): what ``zoo.training.train`` and
``zoo.training.arrays`` compile a family with (``compile_trainer``)."""
from __future__ import annotations

import keras


def compile_trainer(model, recipe: dict) -> None:
    """Compiles ``model.trainer`` (a ``zoo.models`` family) for a recipe, one way for every training
    path: Adam with its ``learning_rate`` and ``clipnorm``, ``masked_loss`` with its ``label_smoothing``,
    and the weighted metrics ``token_accuracy`` and ``token_cross_entropy``, with the optimizer built
    (its slots exist before ``fit``). A family's own loss terms (``add_loss``: the pointer-generator's
    coverage loss) add to the loss Keras minimizes."""
    model.trainer.compile(optimizer=keras.optimizers.Adam(recipe["learning_rate"], clipnorm=recipe["clipnorm"]),
                          loss=masked_loss(recipe.get("label_smoothing", 0.0)),
                          weighted_metrics=[masked_accuracy(), token_cross_entropy()])
    # The optimizer's slots (Adam's moments) are made now, not inside the first training step: on
    # TensorFlow a tf.function that creates variables is traced twice, and a step's trace takes seconds.
    model.trainer.optimizer.build(model.trainer.trainable_variables)


def masked_loss(label_smoothing: float = 0.0):
    """Token cross-entropy from logits; padding is excluded through the pipeline's sample weights.
    ``label_smoothing`` (a recipe's ``"label_smoothing"``, 0 <= e < 1) spreads e of each target's
    probability mass evenly over the vocabulary (Szegedy et al. 2016)."""
    if isinstance(label_smoothing, bool) or not isinstance(label_smoothing, (int, float)) \
            or not 0.0 <= label_smoothing < 1.0:
        raise ValueError(f"label_smoothing must be a number in [0, 1), got {label_smoothing!r}")
    if label_smoothing == 0.0:
        return keras.losses.SparseCategoricalCrossentropy(from_logits=True, name="loss")
    return SmoothedCrossEntropy(label_smoothing)


@keras.saving.register_keras_serializable(package="zoo")
class SmoothedCrossEntropy(keras.losses.Loss):
    """Sparse token cross-entropy from logits with label smoothing: (1 - e) * -log p(target) + e * the
    mean over the vocabulary of -log p(token). y_true (batch, len) ids, y_pred (batch, len, vocab)
    logits -> (batch, len) losses (Keras applies the sample weights and the reduction)."""

    def __init__(self, label_smoothing: float, name: str = "loss", **kwargs):
        super().__init__(name=name, **kwargs)
        self.label_smoothing = float(label_smoothing)

    def call(self, y_true, y_pred):
        log_probs = keras.ops.log_softmax(keras.ops.cast(y_pred, "float32"), axis=-1)  # (batch, len, vocab)
        target = keras.ops.cast(y_true, "int32")[..., None]
        nll = -keras.ops.squeeze(keras.ops.take_along_axis(log_probs, target, axis=-1), axis=-1)
        uniform = -keras.ops.mean(log_probs, axis=-1)
        return (1.0 - self.label_smoothing) * nll + self.label_smoothing * uniform

    def get_config(self) -> dict:
        return {**super().get_config(), "label_smoothing": self.label_smoothing}


def masked_accuracy():
    """Token accuracy over real target tokens only (use as a *weighted* metric with the sample weights)."""
    return keras.metrics.SparseCategoricalAccuracy(name="token_accuracy")


def token_cross_entropy():
    """Mean cross-entropy per *real* target token (a weighted metric: sum(w * ce) / sum(w)).

    The loss divides by every position, padding included, so ``exp(loss)`` is not a perplexity;
    ``exp`` of this metric is."""
    return keras.metrics.SparseCategoricalCrossentropy(from_logits=True, name="token_cross_entropy")
