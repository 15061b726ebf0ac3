"""Training callbacks: atomic checkpoints and sequence-level dev metrics."""
from __future__ import annotations

import json
import math
import os

import keras

from zoo.io import atomic_write_text


class AtomicCheckpoint(keras.callbacks.Callback):
    """Writes ``last.weights.h5`` every epoch and ``best.weights.h5`` when ``monitor`` improves.

    Files are written to a temporary name and renamed, so a kill never leaves half a checkpoint.
    ``state.json`` records the epoch and the best value so far.
    """

    def __init__(self, folder: str, family, monitor: str = "val_loss", mode: str = "min"):
        super().__init__()
        if mode not in ("min", "max"):
            raise ValueError(f"mode must be 'min' or 'max', got {mode!r}")
        self.folder, self.family, self.monitor, self.mode = folder, family, monitor, mode
        os.makedirs(folder, exist_ok=True)
        self.state_path = os.path.join(folder, "state.json")
        self.best = None
        if os.path.exists(self.state_path):
            with open(self.state_path) as f:
                self.best = json.load(f).get("best")

    def _improved(self, value) -> bool:
        if value is None or math.isnan(value):
            return False
        return self.best is None or (value < self.best if self.mode == "min" else value > self.best)

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        self.family.save_weights(os.path.join(self.folder, "last.weights.h5"))
        value = logs.get(self.monitor)
        value = None if value is None else float(value)
        if self._improved(value):
            self.best = value
            self.family.save_weights(os.path.join(self.folder, "best.weights.h5"))
        atomic_write_text(self.state_path, json.dumps({"epoch": epoch + 1, "monitor": self.monitor, "best": self.best}))


class SequenceMetrics(keras.callbacks.Callback):
    """Decodes dev sources at the end of each epoch and adds ``dev_wer`` / ``dev_per`` to the logs
    (so TensorBoard, CSV logs and checkpoints that come after it in the callback list see them)."""

    def __init__(self, predictor, references: dict[str, list[str]], max_examples: int = 1000):
        super().__init__()
        self.predictor = predictor
        self.sources = list(references)[:max_examples]
        self.references = [references[s] for s in self.sources]

    def on_epoch_end(self, epoch, logs=None):
        from zoo.metrics import sequence_scores

        scores = sequence_scores(self.predictor.predict(self.sources), self.references)
        if logs is not None:
            logs["dev_wer"], logs["dev_per"] = scores["wer"], scores["per"]
        print(f" - dev_wer: {scores['wer']:.2f} - dev_per: {scores['per']:.2f}")
