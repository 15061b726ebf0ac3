"""Training callbacks: atomic checkpoints and backups, dev metrics, perplexity and TensorBoard attention maps.

Metric callbacks add their values to the epoch ``logs``, so the TensorBoard, CSV and checkpoint
callbacks placed after them in the list record and monitor them.
"""
from __future__ import annotations

import json
import logging
import math
import os
import re
from typing import Mapping, Sequence

import keras
import numpy as np

from zoo.io import atomic_path, atomic_write_text

log = logging.getLogger(__name__)


class AtomicCheckpoint(keras.callbacks.Callback):
    """Writes ``last.weights.h5`` every epoch and ``best.weights.h5`` when ``monitor`` improves.

    Files are written to a temporary name and renamed, so a kill never leaves half a checkpoint.
    ``state.json`` records the epoch, the monitor and the best value so far; a resumed run keeps that
    best value only when it watched the same monitor in the same mode. ``mode``: ``"min"`` keeps the
    lowest value, ``"max"`` the highest (a dataset's ``monitor`` gives both, ``zoo.data.dataset``).
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
                state = json.load(f)
            if (state.get("monitor"), state.get("mode", "min")) == (monitor, mode):
                self.best = state.get("best")

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
        atomic_write_text(self.state_path, json.dumps({"epoch": epoch + 1, "monitor": self.monitor, "mode": self.mode,
                                                            "best": self.best}))


BACKUP_METADATA = "training_metadata.json"


class AtomicBackup(keras.callbacks.Callback):
    """Backs up the whole training state after every epoch as a transaction, so a kill at any moment
    leaves one whole backup; ``restore_backup`` (or ``restore``) reads it back before ``fit``::

        backup = AtomicBackup(folder)
        model.compile(...)
        initial_epoch = backup.restore(model)  # 0 when the folder holds no backup
        model.fit(..., epochs=total, initial_epoch=initial_epoch, callbacks=[..., backup])

    After epoch ``e`` (0-based) it writes the model's weights with its optimizer state
    (``keras.Model.save_weights`` of a compiled model stores the optimizer's variables: step count,
    learning rate, moments) to a new file ``epoch-<e + 1>.weights.h5`` (temp name + rename), then
    atomically replaces ``training_metadata.json`` with ``{"epoch": e + 1, "weights": <that file>,
    "steps": <the optimizer's step count>}`` (the commit point), and only then deletes the previous
    file. ``epoch`` is the number of finished epochs, i.e. the 0-based epoch a resumed ``fit`` starts at.
    """

    def __init__(self, backup_dir: str | os.PathLike):
        super().__init__()
        self.backup_dir = os.fspath(backup_dir)

    def restore(self, model: keras.Model) -> int:
        """``restore_backup(model, self.backup_dir)``."""
        return restore_backup(model, self.backup_dir)

    def on_epoch_end(self, epoch, logs=None):
        finished = epoch + 1
        previous = backup_metadata(self.backup_dir)
        name = f"epoch-{finished}.weights.h5"
        with atomic_path(os.path.join(self.backup_dir, name)) as tmp:
            self.model.save_weights(tmp)
        atomic_write_text(os.path.join(self.backup_dir, BACKUP_METADATA),
                          json.dumps({"epoch": finished, "weights": name, "steps": _steps(self.model)}))
        if previous and previous.get("weights") not in (None, name):
            stale = os.path.join(self.backup_dir, previous["weights"])
            if os.path.exists(stale):
                os.remove(stale)


def backup_metadata(backup_dir: str | os.PathLike) -> dict | None:
    """The committed ``training_metadata.json`` of an ``AtomicBackup`` folder, or None when it holds none."""
    path = os.path.join(os.fspath(backup_dir), BACKUP_METADATA)
    if not os.path.exists(path):
        return None
    with open(path) as f:
        return json.load(f)


def restore_backup(model: keras.Model, backup_dir: str | os.PathLike) -> int:
    """Loads the last ``AtomicBackup`` in ``backup_dir`` into ``model`` (weights and optimizer state)
    and returns the number of epochs it had finished: the ``initial_epoch`` to pass to ``fit``, so
    epoch numbers, the learning-rate schedule and a CSV log continue where the run stopped. Returns 0
    and changes nothing when the folder holds no backup.

    ``model`` must be compiled (with the optimizer the backup was made with) and built; its optimizer
    is built here, so that its variables exist to receive the saved ones. Call it where the model
    trains, e.g. inside a distribution scope, before ``fit``."""
    metadata = backup_metadata(backup_dir)
    if metadata is None:
        return 0
    if getattr(model, "optimizer", None) is None:  # an uncompiled model has no such attribute
        raise ValueError(f"compile the model before restoring the backup in {os.fspath(backup_dir)!r}: "
                         "it holds optimizer state")
    if not model.optimizer.built:
        model.optimizer.build(model.trainable_variables)
    model.load_weights(os.path.join(os.fspath(backup_dir), metadata["weights"]))
    if "steps" in metadata and _steps(model) != metadata["steps"]:  # save_weights stopped storing the optimizer?
        raise RuntimeError(f"the backup in {os.fspath(backup_dir)!r} was made after {metadata['steps']} optimizer "
                           f"steps, but the restored optimizer counts {_steps(model)}: its state was not restored")
    log.info("resumed from %s after epoch %d", os.fspath(backup_dir), metadata["epoch"])
    return int(metadata["epoch"])


def _steps(model: keras.Model) -> int:
    """The optimizer's step count (``optimizer.iterations``)."""
    return int(keras.ops.convert_to_numpy(model.optimizer.iterations))


class SequenceMetrics(keras.callbacks.Callback):
    """Decodes dev sources (greedy) at the end of each epoch and adds ``dev_<key>`` to the logs for each
    of ``metrics`` ({metric key: scorer name} or scorer names, as a ``zoo.data.dataset.Dataset``
    declares them; see ``zoo.data.scorers``). Default ``TEXT_METRICS``: ``dev_wer`` (sequences not exactly a
    reference), ``dev_per`` (token edit rate), ``dev_exact_match``, ``dev_cer`` (character edit rate),
    ``dev_bleu`` and ``dev_chrf``."""

    def __init__(self, predictor, references: dict[str, list[str]], max_examples: int = 1000, metrics=None):
        from zoo.data import scorers
        from zoo.data.dataset import TEXT_METRICS

        super().__init__()
        self.predictor = predictor
        self.sources = list(references)[:max_examples]
        self.references = [references[s] for s in self.sources]
        self.metrics = scorers.metric_table(TEXT_METRICS if metrics is None else metrics)

    def on_epoch_end(self, epoch, logs=None):
        from zoo.data import scorers
        from zoo.data.dataset import dev_log

        hypotheses = self.predictor.predict(self.sources, beam_size=1)  # greedy, whatever the model's decoding
        figures = scorers.score(self.metrics, hypotheses, self.references)
        scores = {dev_log(key): value for key, value in figures.items()}
        if logs is not None:
            logs.update(scores)
        print(" - " + " - ".join(f"{name}: {value:.2f}" for name, value in scores.items()))


class Perplexity(keras.callbacks.Callback):
    """Adds ``perplexity`` and ``val_perplexity`` = exp(mean cross-entropy per real target token)
    to the logs, from the ``token_cross_entropy`` weighted metric (``zoo.training.losses``)."""

    def __init__(self, metric: str = "token_cross_entropy"):
        super().__init__()
        self.metric = metric

    def on_epoch_end(self, epoch, logs=None):
        for prefix in ("", "val_"):
            if logs is not None and prefix + self.metric in logs:
                logs[prefix + "perplexity"] = float(np.exp(float(logs[prefix + self.metric])))


def logdir_problem(logdir) -> str | None:
    """None when TensorBoard can write in ``logdir`` (created when missing), else why it cannot."""
    import tensorflow as tf

    probe = os.path.join(str(logdir), ".zoo-write-probe")
    try:
        tf.io.gfile.makedirs(str(logdir))
        with tf.io.gfile.GFile(probe, "w") as f:
            f.write("")
        tf.io.gfile.remove(probe)
    except (OSError, tf.errors.OpError) as error:
        return f"cannot write to logdir {str(logdir)!r} ({type(error).__name__}: {error})"
    return None


class AttentionMapLogger(keras.callbacks.Callback):
    """Every ``every_n_epochs`` epochs, decodes a fixed set of examples and writes to ``logdir``
    (TensorBoard, step = epoch as in Keras' own callback):

    - ``attention/NN``: one image per example, the heatmap (output tokens x source tokens) of its
      best hypothesis, from beam search when ``beam_size > 1``, or for a picture its attention over the
      picture word by word (see ``zoo.plot``);
    - ``predictions``: a text table of the examples' sources, predictions, log-probabilities (and
      references, when given).

    Bad input never stops training: with no examples or an unwritable ``logdir`` it logs a warning
    and writes nothing; for a family without attention it says so and writes the predictions only.

    Args:
        predictor: a ``zoo.predictor.Predictor`` around the family being trained.
        examples: sources, texts or (an image model's) PNG/JPEG bytes: a fixed set, so maps compare across
            epochs; a few, they are images. A picture's map has one panel per output word.
        logdir: TensorBoard folder, a run of its own (e.g. ``<workdir>/logs/attention``).
        every_n_epochs: write after epochs every_n_epochs, 2 * every_n_epochs, ... (1-based).
        beam_size: 1 for greedy decoding, more for beam search.
        references: optional source -> reference targets, shown in the text table.
    """

    def __init__(self, predictor, examples: Sequence[str], logdir, every_n_epochs: int = 1, beam_size: int = 1,
                 references: Mapping[str, Sequence[str]] | None = None):
        super().__init__()
        for name, value in (("every_n_epochs", every_n_epochs), ("beam_size", beam_size)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
        if isinstance(examples, (str, bytes)):
            raise TypeError(f"examples must be a list of sources, got a single {type(examples).__name__}: "
                            f"{examples[:40]!r}")
        self.examples = list(examples)
        predictor.encode_inputs(self.examples)  # a bad example fails here, not after the first epoch
        self.predictor, self.logdir, self.references = predictor, str(logdir), references
        self.every_n_epochs, self.beam_size = every_n_epochs, beam_size
        self.writer = None

    def on_train_begin(self, logs=None):
        import tensorflow as tf

        problem = logdir_problem(self.logdir) if self.examples else "examples is empty"
        if problem:
            log.warning("AttentionMapLogger: %s: no attention maps or predictions will be written; "
                        "training goes on", problem)
            return
        family = self.predictor.model
        if not family.has_attention:
            log.warning("AttentionMapLogger: family %r has no attention, so there are no attention maps; "
                        "only the examples' predictions are written to %s", family.family, self.logdir)
        self.writer = tf.summary.create_file_writer(self.logdir)

    def on_epoch_end(self, epoch, logs=None):
        import tensorflow as tf

        if self.writer is None or (epoch + 1) % self.every_n_epochs:
            return
        best = [n_best[0] for n_best in self.predictor.decode(self.examples, beam_size=self.beam_size)]
        with self.writer.as_default(step=epoch):
            if self.predictor.model.has_attention:
                for index, (source, hypothesis) in enumerate(zip(self.examples, best)):
                    tf.summary.image(f"attention/{index:02d}", self._pixels(source, hypothesis)[None],
                                     description=f"source: {self._name(index)}")
            tf.summary.text("predictions", self._table(best))
        self.writer.flush()

    def on_train_end(self, logs=None):
        if self.writer is not None:
            self.writer.close()
            self.writer = None

    def _name(self, index: int) -> str:
        """How the logs show example ``index``: its text, or "picture N" for an image's bytes."""
        source = self.examples[index]
        if isinstance(source, str):
            return source
        return f"{'clip' if self.predictor.frontend.kind == 'audio' else 'picture'} {index:02d}"

    def _pixels(self, source, hypothesis) -> np.ndarray:
        """The example's map -> (height, width, 3) uint8: a heatmap over a text's tokens, for a picture one
        panel per word over the picture, for a clip its spectrogram above each character's attention over
        time (``zoo.plot.source_hypothesis_figure``)."""
        from zoo.plot import decoding_name, figure_rgb, source_hypothesis_figure

        return figure_rgb(source_hypothesis_figure(self.predictor, source, hypothesis, decoding_name(self.beam_size)))

    def _table(self, best) -> np.ndarray:
        """(1 + examples, columns) markdown cells: TensorBoard shows a rank-2 text tensor as a table."""
        header = ["source", "prediction", "log-prob"] + (["references"] if self.references else [])
        rows = [header]
        for index, (source, hypothesis) in enumerate(zip(self.examples, best)):
            row = [self._name(index), hypothesis.text, f"{hypothesis.score:.3f}"]
            if self.references:
                row.append(" / ".join(self.references.get(source, [])))
            rows.append(row)
        return np.array([[_markdown_literal(cell) for cell in row] for row in rows])


def _markdown_literal(text: str) -> str:
    """Backslash-escapes markdown and HTML characters, so '</s>' or 'a_b' show as typed."""
    return re.sub(r"([\\`*_{}\[\]<>|#])", r"\\\1", text)
