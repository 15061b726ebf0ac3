"""Training a recipe where TensorFlow is not installed, e.g. on a GPU through Keras' JAX backend.

TensorFlow 2.21 needs CUDA 12; a machine with only CUDA 13 can still train our (backend-neutral)
models with Keras on JAX, but not run the tf.data pipeline or the tf-text tokenizers. So the work
splits in three:

1. ``python -m zoo.training.arrays write RECIPE WORKDIR`` (with TensorFlow, any CPU): does what ``zoo train``
   does before fitting (vocabularies, a distillation teacher's outputs, the initial weights of
   ``init_from``) and writes the tokenized training pairs and dev split as padded id arrays
   (``WORKDIR/arrays.npz``, with ``arrays.json`` and ``recipe.json``). For a copy model
   (``pointer_generator``: its source frontend gives ``source_extended``) they also hold each source
   token's extended id, and targets hold a copied word's extended id, as ``zoo.data.pipeline`` makes them.
   For speech (an audio recipe whose dataset declares ``Clips``, ``zoo.data.dataset``) they hold the
   transcripts' ids and clip indices only: the clips themselves (gigabytes) are read, or synthesized
   (``--synthesize``), where step 2 runs.
2. ``KERAS_BACKEND=jax python -m zoo.training.arrays train WORKDIR`` (Keras and NumPy only, any backend): fits
   the recipe's model on those arrays, bucketed by length, compiled as ``zoo train`` compiles it
   (``compile_trainer``: a family's own loss terms included), with the recipe's schedule, scores dev
   greedy outputs by the dataset's selection metric after each epoch when exact matches
   decide it (``DevWordErrorRate``), else (BLEU, chrF, speech's WER: scorers that need text) by the dev token
   cross-entropy under teacher forcing (``val_token_cross_entropy``), and keeps the best weights in
   ``WORKDIR/checkpoints`` (``AtomicCheckpoint``); a killed run resumes (``AtomicBackup``).
3. ``zoo train RECIPE --workdir WORKDIR --epochs 0 --output DIR`` (with TensorFlow): evaluates those
   best weights as ``zoo train`` evaluates its own and writes the pretrained folder.
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import pathlib
import time

import keras
import numpy as np

from zoo import models
from zoo.data import scorers
from zoo.data.dataset import Monitor, dev_log
from zoo.decoding import Greedy, compile_decoder, search, source_inputs
from zoo.text.vocab import END_ID, START_ID
from zoo.training.callbacks import AtomicBackup, AtomicCheckpoint
from zoo.training.losses import compile_trainer
from zoo.training.prior import log_prior, set_output_prior
from zoo.training.schedule import lr_callback

log = logging.getLogger(__name__)

# plus the longest allowed; a batch is padded to its bucket's width (those above the longest are unused)
BUCKET_WIDTHS = (8, 12, 16, 24, 32, 48, 64, 96)
# a clip batch's durations, likewise: few, as each compiles a train and a dev step (tens of seconds); on the
# speech train split 24 % of the samples are padding, against 20 % with one every second up to 6
CLIP_SECONDS = (2.5, 3.5, 5)
PROXY = "token_cross_entropy"  # the dev figure that selects when exact matches cannot compute the metric


def write(recipe, workdir: str | os.PathLike) -> pathlib.Path:
    """Step 1 (needs TensorFlow): the recipe's training pairs and dev split as id arrays in ``workdir``.

    ``arrays.npz`` holds ``train_source`` (n, max_source_length) and ``train_target``
    (n, max_target_length) right-padded ids (no <s> / </s>), ``dev_source`` (d, max_source_length)
    and every dev reference ``dev_reference`` (r, max_target_length + 1, ending in </s>) with the
    row of its source ``dev_reference_row`` (r,). For a copy model also ``train_source_extended``
    (n, max_source_length) and ``dev_source_extended`` (d, max_source_length), each source token's id
    in the extended vocabulary (``zoo.frontends.text``); then a target or reference word the vocabulary
    lacks but its source holds has that extended id. Returns the path of ``arrays.npz``."""
    from zoo import data
    from zoo.data.pipeline import encode_pairs
    from zoo.training.train import load_initial_model, load_recipe, source_frontend, training_data

    recipe = load_recipe(recipe)
    if "frontend" in recipe:
        return _write_clips(recipe, pathlib.Path(workdir))
    selection = _selection(recipe["dataset"])  # before any work: step 2 must be able to compute it
    workdir = pathlib.Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    init = load_initial_model(recipe) if "init_from" in recipe else None
    train_pairs, distilled, source_tokenizer, target_tokenizer = training_data(recipe, workdir, init)
    source_vocab, target_vocab = source_tokenizer.vocabulary, target_tokenizer.vocabulary
    source_width, target_width = recipe["max_source_length"], recipe["max_target_length"]
    frontend = source_frontend(recipe, source_tokenizer, target_tokenizer)
    features, target, report = encode_pairs(train_pairs, frontend, target_tokenizer, source_width, target_width)
    references = data.references(recipe["dataset"], "dev")
    arrays = {f"train_{key}": features[key].to_tensor(0, shape=[None, source_width]).numpy()
              for key in ("source", "source_extended") if key in features}
    arrays["train_target"] = target.to_tensor(0, shape=[None, target_width]).numpy()
    arrays.update(_dev_arrays(references, frontend, target_tokenizer, target_width))
    if selection.get("proxy"):  # scored by teacher forcing: each reference as a target, without </s>
        arrays["dev_target"] = np.where(arrays["dev_reference"] == END_ID, 0, arrays["dev_reference"])[:, :target_width]
    dev_sources = len(arrays["dev_source"])
    about = {"source_vocab_size": len(source_vocab), "target_vocab_size": len(target_vocab),
             "train_examples": report.kept, "dropped_empty": report.empty, "dropped_too_long": report.too_long,
             "dev_sources": dev_sources, "dev_sources_too_long": len(references) - dev_sources,
             "init_from": recipe.get("init_from"), **({"distillation": distilled} if distilled else {}),
             "selection": selection}
    return _save(workdir, arrays, about, recipe, init)


def _save(workdir: pathlib.Path, arrays: dict, about: dict, recipe: dict, init) -> pathlib.Path:
    """Step 1's files: ``arrays.npz`` (int32), ``arrays.json`` (``about``), ``recipe.json``, and the
    initial model's weights (``init.weights.h5``) when there is one. Returns the path of ``arrays.npz``."""
    path = workdir / "arrays.npz"
    np.savez_compressed(path, **{name: value.astype("int32") for name, value in arrays.items()})
    if init is not None:
        init.model.save_weights(str(workdir / "init.weights.h5"))
    (workdir / "arrays.json").write_text(json.dumps(about, indent=2))
    (workdir / "recipe.json").write_text(json.dumps(recipe, indent=2))
    log.info("wrote %s: %s", path, about)
    return path


def _write_clips(recipe: dict, workdir: pathlib.Path) -> pathlib.Path:
    """``write`` for an audio recipe whose dataset declares its clips (``zoo.data.dataset.Clips``): no audio is
    read here, only transcripts. ``arrays.npz`` holds ``train_clip`` (n,) and ``dev_clip`` (d,), the clips
    (indices into the split's ``Clips.waveforms``) whose transcript the target tokenizer keeps (not empty,
    at most ``max_target_length`` tokens), and their ids ``train_target`` (n, max_target_length) and
    ``dev_target`` (d, max_target_length); ``arrays.json`` a ``"clips"`` entry for ``train``."""
    import tensorflow as tf

    from zoo import data
    from zoo.training.train import load_initial_model, run_tokenizers, source_frontend

    declared = data.get(recipe["dataset"])
    frontend = source_frontend(recipe, None, None)
    if frontend.kind != "audio" or declared.clips is None:
        raise ValueError(f"recipe {recipe['name']!r} reads {frontend.kind} sources: arrays hold text, or the audio "
                         "of a dataset that declares its clips (speech); train it with `zoo train`")
    clips = declared.clips
    if frontend.sample_rate != clips.sample_rate:
        raise ValueError(f"recipe {recipe['name']!r} listens at {frontend.sample_rate} Hz but dataset "
                         f"{declared.name!r}'s clips are at {clips.sample_rate} Hz: arrays are not resampled")
    # dev scores teacher-forced (step 3 decodes): greedy decoding of every dev clip is not built here
    selection = {"metric": declared.selection, "scorer": declared.metrics[declared.selection], "proxy": PROXY}
    workdir.mkdir(parents=True, exist_ok=True)
    init = load_initial_model(recipe) if "init_from" in recipe else None
    transcripts = {split: list(clips.transcripts(split)) for split in ("train", "dev")}
    _, target_tokenizer = run_tokenizers(recipe, workdir, [(None, text) for text in transcripts["train"]], init)
    width, arrays, dropped = recipe["max_target_length"], {}, {}
    for split, texts in transcripts.items():
        ids = target_tokenizer.encode(tf.constant(texts))  # (clips, None) ragged
        lengths = ids.row_lengths().numpy()
        kept = np.flatnonzero((lengths > 0) & (lengths <= width))
        arrays[f"{split}_clip"] = kept
        arrays[f"{split}_target"] = ids.to_tensor(0, shape=[None, width]).numpy()[kept]
        dropped[split] = {"empty": int((lengths == 0).sum()), "too_long": int((lengths > width).sum())}
    about = {"source_vocab_size": None, "target_vocab_size": len(target_tokenizer.vocabulary),
             "train_examples": len(arrays["train_clip"]), "dropped_empty": dropped["train"]["empty"],
             "dropped_too_long": dropped["train"]["too_long"], "dev_sources": len(arrays["dev_clip"]),
             "init_from": recipe.get("init_from"), "selection": selection,
             "clips": {"dataset": declared.name, "sample_rate": frontend.sample_rate,
                       "max_seconds": frontend.max_seconds}}
    return _save(workdir, arrays, about, recipe, init)


def _dev_arrays(references: dict, frontend, target_tokenizer, target_width: int) -> dict:
    """The dev sources the text ``frontend`` accepts (not empty, not too long) and all their references
    -> {"dev_source" (d, S), ["dev_source_extended" (d, S),] "dev_reference" (r, target_width + 1),
    "dev_reference_row" (r,)} as ``write`` stores them (S: the frontend's ``max_length``); sources are
    decoded ``zoo.data.pipeline.CHUNK`` at a time, as for training."""
    import tensorflow as tf

    from zoo.data.pipeline import CHUNK

    sources, width = list(references), frontend.max_length
    parts, errors = {}, []
    for start in range(0, len(sources), CHUNK):
        part = frontend.decode(tf.constant(sources[start:start + CHUNK]))  # each (chunk, <= S)
        errors.append(part["error"].numpy())
        for key, padding in (("source", 0), ("source_extended", 0), ("source_tokens", "")):
            if key in part:
                columns = [[0, 0], [0, width - tf.shape(part[key])[1]]]
                parts.setdefault(key, []).append(tf.pad(part[key], columns, constant_values=padding))
    fits = np.flatnonzero(np.concatenate(errors) == b"")
    features = {key: tf.gather(tf.concat(values, axis=0), fits) for key, values in parts.items()}  # (d, S) each
    rows = np.asarray([row for row, i in enumerate(fits) for _ in references[sources[i]]], "int32")
    tokens = target_tokenizer.tokenize(tf.constant([t for i in fits for t in references[sources[i]]]))
    if "source_extended" in features:
        ids = frontend.extend_targets(tokens, tf.gather(features["source_tokens"], rows),
                                      tf.gather(features["source_extended"], rows))
    else:
        ids = target_tokenizer.lookup(tokens)
    ids = tf.concat([ids, tf.fill([ids.nrows(), 1], END_ID)], axis=1)
    arrays = {f"dev_{key}": features[key].numpy() for key in ("source", "source_extended") if key in features}
    # a reference longer than the model may emit can never match: cut, it still cannot match
    arrays["dev_reference"] = ids.to_tensor(0, shape=[None, target_width + 1]).numpy()
    arrays["dev_reference_row"] = rows
    return arrays


class _Buckets(keras.utils.PyDataset):
    """What both kinds of batches share: teacher forcing of right-padded targets (n, T) and an epoch's
    plan of full batches, each from one bucket of similar lengths (``self.buckets``: the rows of each);
    a bucket's last batch is topped up with other examples of the bucket drawn at random, and every
    epoch reshuffles the buckets and the batch order (seeded)."""

    def _teacher_forcing(self, target, batch_size: int, seed: int):
        target = np.asarray(target, "int32")  # (n, T)
        n = len(target)
        self.target_lengths = (target != 0).sum(axis=1)  # (n,)
        self.decoder_input = np.concatenate([np.full((n, 1), START_ID, "int32"), target], axis=1)  # (n, T + 1)
        self.decoder_target = np.concatenate([target, np.zeros((n, 1), "int32")], axis=1)  # (n, T + 1)
        self.decoder_target[np.arange(n), self.target_lengths] = END_ID
        self.batch_size = batch_size
        self.rng = np.random.default_rng(seed)

    def _group(self, lengths, widths) -> None:
        """Buckets the examples by ``lengths`` (n,): each into the first of ``widths`` (ascending, the last
        >= every length) that holds it; then plans the first epoch."""
        self.widths = list(widths)
        bucket = np.searchsorted(self.widths, lengths, side="left")  # the first width >= the length
        self.buckets = [np.flatnonzero(bucket == i) for i in range(len(self.widths))]
        self.batches = self._plan()

    def _plan(self) -> list[tuple[int, np.ndarray]]:
        """(bucket, rows (batch_size,)) of each batch of an epoch, in order."""
        batches = []
        for bucket, members in enumerate(self.buckets):
            if len(members) == 0:
                continue
            members = self.rng.permutation(members)
            short = -len(members) % self.batch_size
            members = np.concatenate([members, self.rng.choice(members, short)])
            batches += [(bucket, rows) for rows in members.reshape(-1, self.batch_size)]
        batches = [batches[i] for i in self.rng.permutation(len(batches))]
        # On TensorFlow, Keras takes a PyDataset's tensor shapes from its first two batches: when they
        # differ in width, the width is left unknown, so every bucket's batches are accepted.
        other = next((i for i, (bucket, _) in enumerate(batches) if bucket != batches[0][0]), None)
        if other is not None:
            batches[1], batches[other] = batches[other], batches[1]
        return batches

    def __len__(self) -> int:
        return len(self.batches)

    def on_epoch_end(self):
        self.batches = self._plan()


class BucketedBatches(_Buckets):
    """Teacher-forced batches ``({"source", "source_length", "decoder_input", [copy: "source_extended"]},
    decoder_target, weights)`` from padded id arrays, as ``zoo.data.pipeline`` makes them, grouped by
    length: each batch is padded to its bucket's width (``BUCKET_WIDTHS`` and the longest), so a
    compiled train step sees only that many shapes. A copy model's ``source_extended`` (n, S) is cut
    like ``source``."""

    def __init__(self, source, target, batch_size: int, seed: int = 0, widths=BUCKET_WIDTHS, source_extended=None,
                 **kwargs):
        super().__init__(**kwargs)
        self._teacher_forcing(target, batch_size, seed)
        self.source = np.asarray(source, "int32")  # (n, S)
        self.source_extended = None if source_extended is None else np.asarray(source_extended, "int32")  # (n, S)
        lengths = np.maximum((self.source != 0).sum(axis=1), self.target_lengths + 1)
        longest = max(self.source.shape[1], self.decoder_target.shape[1])
        self._group(lengths, sorted({w for w in widths if w < longest} | {longest}))

    def __getitem__(self, index):
        bucket, rows = self.batches[index]
        width = self.widths[bucket]
        decoder_target = self.decoder_target[rows, :width]  # (batch, width)
        source = self.source[rows, :width]
        inputs = {"source": source, "source_length": (source != 0).sum(axis=1).astype("int32"),
                  "decoder_input": self.decoder_input[rows, :width]}
        if self.source_extended is not None:
            inputs["source_extended"] = self.source_extended[rows, :width]
        return inputs, decoder_target, (decoder_target != 0).astype("float32")


class ClipBatches(_Buckets):
    """Teacher-forced batches ``({"source" (batch, samples) float32 in [-1, 1], "source_length" (batch,),
    "decoder_input" (batch, T_b)}, decoder_target (batch, T_b), weights (batch, T_b))`` of audio clips,
    as the audio frontend and ``zoo.data.pipeline`` make them from the clips' WAV files: clips grouped
    by duration, each batch padded to its bucket's duration (``CLIP_SECONDS`` and the longest clip) and
    to the longest target of the bucket (T_b), so a compiled train step sees one shape per bucket. A
    bucket of fewer clips than a batch joins the next longer one (the longest bucket, the next shorter).

    Args:
        waveforms: each example's (samples,) int16 clip (the WAV file's samples).
        target: (n, T) right-padded target ids, no <s> / </s>.
    """

    def __init__(self, waveforms, target, batch_size: int, sample_rate: int, seed: int = 0, seconds=CLIP_SECONDS,
                 **kwargs):
        super().__init__(**kwargs)
        self._teacher_forcing(target, batch_size, seed)
        self.waveforms = waveforms
        self.lengths = lengths = np.array([len(waveform) for waveform in waveforms], "int32")  # (n,) samples
        longest = int(lengths.max())
        widths = sorted({int(s * sample_rate) for s in seconds if s * sample_rate < longest} | {longest})
        counts = np.bincount(np.searchsorted(widths, lengths, side="left"), minlength=len(widths))
        while len(widths) > 1 and counts.min() < batch_size:  # the smallest bucket joins a neighbour
            small = int(np.argmin(counts))
            joined = small if small < len(widths) - 1 else small - 1  # the width that goes
            counts[joined + 1] += counts[joined]
            widths, counts = widths[:joined] + widths[joined + 1:], np.delete(counts, joined)
        self._group(lengths, widths)
        self.target_widths = [int(self.target_lengths[members].max(initial=0)) + 1 for members in self.buckets]

    def __getitem__(self, index):
        bucket, rows = self.batches[index]
        width = self.target_widths[bucket]
        source = np.zeros((len(rows), self.widths[bucket]), "float32")  # (batch, samples)
        for i, row in enumerate(rows):
            source[i, :self.lengths[row]] = self.waveforms[row] / 32768.0  # as decode_wav reads 16 bits
        decoder_target = self.decoder_target[rows, :width]  # (batch, T_b)
        inputs = {"source": source, "source_length": self.lengths[rows],
                  "decoder_input": self.decoder_input[rows, :width]}
        return inputs, decoder_target, (decoder_target != 0).astype("float32")


class DevWordErrorRate(keras.callbacks.Callback):
    """Greedy-decodes the dev sources after each epoch, counts the outputs that are not exactly one of
    their references (on token ids, as the ``wer_sequence`` scorer counts tokens) and logs the dataset's
    selection metric from that: ``dev_<metric>``, computed by ``scorer`` (``zoo.data.scorers``), which must be
    one that exact matches decide (``wer_sequence``: that percentage; ``exact_match``: 100 minus it).
    A copy model decodes with each source's ``source_extended`` (d, S) and its references hold
    extended ids."""

    def __init__(self, model, sources, references, reference_rows, chunk: int = 2048, metric: str = "wer",
                 scorer: str = "wer_sequence", source_extended=None):
        super().__init__()
        self.metric, self.figure = metric, _from_sequence_error(metric, scorer)
        self.inputs = source_inputs(np.asarray(sources, "int32"))  # {"source" (d, S), "source_length" (d,)}
        if source_extended is not None:
            self.inputs["source_extended"] = np.asarray(source_extended, "int32")  # (d, S)
        self.references = np.asarray(references, "int32")  # (r, T + 1), each ending in </s>
        self.reference_rows = np.asarray(reference_rows)  # (r,)
        self.chunk = chunk
        max_length = self.references.shape[1]
        self.decode = compile_decoder(lambda inputs: search(model, inputs, Greedy(), max_length=max_length).ids,
                                      model.trainer.variables)

    def word_error_rate(self) -> float:
        outputs = []
        count = len(self.inputs["source"])
        for start in range(0, count, self.chunk):
            rows = np.arange(start, start + self.chunk)
            rows = np.where(rows < count, rows, start)  # a last chunk topped up with its first row: one shape
            ids = np.asarray(self.decode({key: value[rows] for key, value in self.inputs.items()}))  # (chunk, 1, T + 1)
            outputs.append(ids[:count - start, 0])
        outputs = np.concatenate(outputs)
        ended = np.cumsum(outputs == END_ID, axis=1) - (outputs == END_ID) > 0  # after the first </s>
        outputs = np.where(ended, 0, outputs)
        matched = np.zeros(count, bool)
        same = (outputs[self.reference_rows] == self.references).all(axis=1)
        np.logical_or.at(matched, self.reference_rows, same)
        return 100.0 * (1.0 - matched.mean())

    def on_epoch_end(self, epoch, logs=None):
        value = self.figure(self.word_error_rate())
        if logs is not None:
            logs[dev_log(self.metric)] = value
        print(f" - {dev_log(self.metric)}: {value:.2f}", flush=True)


def _from_sequence_error(metric: str, scorer: str):
    """The scorer's figure from the % of outputs that are no reference; an error for a scorer that
    exact matches do not decide."""
    figure = scorers.get(scorer).from_sequence_error
    if figure is None:
        raise ValueError(f"exact matches of token ids cannot compute the selection metric {metric!r} "
                         f"(scorer {scorer!r})")
    return figure


def _selection(dataset: str) -> dict:
    """The dataset's selection metric and its scorer, as arrays.json records them (step 2 may run where
    a folder dataset is not), with ``"proxy": "token_cross_entropy"`` when ``DevWordErrorRate`` cannot
    compute it: then the dev token cross-entropy selects, and step 3 scores the chosen weights."""
    from zoo import data

    declared = data.get(dataset)
    selection = {"metric": declared.selection, "scorer": declared.metrics[declared.selection]}
    if scorers.get(selection["scorer"]).from_sequence_error is None:
        selection["proxy"] = PROXY
    return selection


class TimeLimit(keras.callbacks.Callback):
    """Stops training after the epoch at which another epoch as long as the longest so far would pass
    ``minutes`` since ``began`` (a ``time.monotonic()`` reading; default: when training begins). The
    first epoch, which compiles, only counts when it is the only one."""

    def __init__(self, minutes: float, began: float | None = None):
        super().__init__()
        self.seconds = 60.0 * minutes
        self.began = began

    def on_train_begin(self, logs=None):
        self.epoch_began = time.monotonic()
        if self.began is None:
            self.began = self.epoch_began
        self.durations = []  # seconds per epoch

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch_began = time.monotonic()

    def on_epoch_end(self, epoch, logs=None):
        now = time.monotonic()
        self.durations.append(now - self.epoch_began)
        longest = max(self.durations[1:] or self.durations)
        if now - self.began + longest > self.seconds:
            log.info("time limit: stopping after epoch %d (%.0f s so far)", epoch + 1, now - self.began)
            self.model.stop_training = True


def _clip_batches(source, clips: dict, arrays, recipe: dict) -> list[ClipBatches]:
    """The training and dev batches of a clips run (``_write_clips``; ``clips``: its arrays.json entry): each
    split's clips from its dataset's ``source`` (``zoo.data.dataset.Clips``), without those the audio
    frontend rejects (empty, longer than its ``max_seconds``)."""
    longest = clips["max_seconds"] * clips["sample_rate"]
    batches = []
    for split in ("train", "dev"):
        waveforms = source.waveforms(split)
        rows = arrays[f"{split}_clip"]  # (n,) the clips whose target fits
        fits = np.array([0 < len(waveforms[row]) <= longest for row in rows])
        if not fits.all():
            log.info("%s: left out %d clips empty or longer than %s s", split, (~fits).sum(), clips["max_seconds"])
        batches.append(ClipBatches([waveforms[row] for row in rows[fits]], arrays[f"{split}_target"][fits],
                                   recipe["batch_size"], clips["sample_rate"], seed=recipe["seed"]))
    return batches


def train(workdir: str | os.PathLike, epochs: int | None = None, minutes: float | None = None,
          verbose: int | str = 2, synthesize: bool = False) -> dict:
    """Step 2 (Keras only): fits the recipe in ``workdir`` on its arrays for ``epochs`` in all (default:
    the recipe's; a resumed run trains the missing ones), or until ``minutes`` run out. A clips run reads
    its dataset's clips (``synthesize``: makes them first where they are missing; ``minutes`` include
    that). Returns the checkpoint state: the epochs done and the best dev figure of the dataset's
    selection metric."""
    began = time.monotonic()
    workdir = pathlib.Path(workdir)
    if not (workdir / "arrays.npz").is_file():
        raise FileNotFoundError(f"{workdir / 'arrays.npz'} does not exist: run `python -m zoo.training.arrays write "
                                f"RECIPE {workdir}` first (where TensorFlow is installed)")
    recipe = json.loads((workdir / "recipe.json").read_text())
    about = json.loads((workdir / "arrays.json").read_text())
    arrays = np.load(workdir / "arrays.npz")
    clips = None
    if "clips" in about:
        from zoo import data

        clips = data.get(about["clips"]["dataset"]).clips
        if synthesize and clips.build is not None:  # first: its processes fork before the backend starts a thread
            clips.build(("dev", "train"))
    keras.utils.set_random_seed(recipe["seed"])
    model = models.build(recipe["family"], {**recipe["model"], "source_vocab_size": about["source_vocab_size"],
                                            "target_vocab_size": about["target_vocab_size"]},
                         recipe.get("precision", "float32"))
    if (workdir / "init.weights.h5").is_file():  # a resumed run's backup replaces these before fit
        model.load_weights(str(workdir / "init.weights.h5"))
    elif recipe.get("output_prior"):  # as zoo train does (zoo.training.prior); a backup replaces it
        set_output_prior(model, log_prior(arrays["train_target"], len(arrays["train_target"]),
                                          about["target_vocab_size"]))
    compile_trainer(model, recipe)
    selection = about.get("selection") or _selection(recipe["dataset"])  # arrays.json of older runs has none
    copy = "train_source_extended" in arrays  # a copy model's arrays (``write``)
    if clips is not None:
        batches, validation = _clip_batches(clips, about["clips"], arrays, recipe)
    else:
        batches = BucketedBatches(arrays["train_source"], arrays["train_target"], recipe["batch_size"],
                                  seed=recipe["seed"],
                                  source_extended=arrays["train_source_extended"] if copy else None)
        validation = None
        if selection.get("proxy"):  # dev batches as training's, scored by teacher forcing
            rows = arrays["dev_reference_row"]
            validation = BucketedBatches(arrays["dev_source"][rows], arrays["dev_target"], recipe["batch_size"],
                                         seed=recipe["seed"],
                                         source_extended=arrays["dev_source_extended"][rows] if copy else None)
    backup = AtomicBackup(str(workdir / "backup"))
    if selection.get("proxy"):
        monitor, dev_score = Monitor(f"val_{selection['proxy']}", "min"), []
    else:
        monitor = Monitor.of(selection["metric"], selection["scorer"])
        dev_score = [DevWordErrorRate(model, arrays["dev_source"], arrays["dev_reference"], arrays["dev_reference_row"],
                                      metric=selection["metric"], scorer=selection["scorer"],
                                      source_extended=arrays["dev_source_extended"] if copy else None)]
    callbacks = [
        *dev_score,
        AtomicCheckpoint(str(workdir / "checkpoints"), model, monitor=monitor.name, mode=monitor.mode),
        backup,
        lr_callback(recipe, monitor),
        keras.callbacks.CSVLogger(str(workdir / "history.csv"), append=True),
        *([TimeLimit(minutes, began)] if minutes else []),
    ]
    log.info("training %s on %s: %d parameters, %d batches of %d per epoch", recipe["name"], keras.backend.backend(),
             model.count_params(), len(batches), recipe["batch_size"])
    initial_epoch = backup.restore(model.trainer)  # epochs already done (weights, optimizer state); 0 if none
    model.trainer.fit(batches, epochs=recipe["epochs"] if epochs is None else epochs, initial_epoch=initial_epoch,
                      validation_data=validation, callbacks=callbacks, verbose=verbose)
    return json.loads((workdir / "checkpoints" / "state.json").read_text())


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m zoo.training.arrays", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    write_command = commands.add_parser("write", help="step 1 (TensorFlow): a recipe's data as id arrays")
    write_command.add_argument("recipe")
    write_command.add_argument("workdir")
    train_command = commands.add_parser("train", help="step 2 (Keras, any backend): fit on the arrays")
    train_command.add_argument("workdir")
    train_command.add_argument("--epochs", type=int, help="total epochs (default: the recipe's)")
    train_command.add_argument("--minutes", type=float, help="stop before this much time has passed")
    train_command.add_argument("--synthesize", action="store_true",
                               help="a clips run (speech): synthesize its clips first where they are missing")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    try:
        if args.command == "write":
            print(write(args.recipe, args.workdir))
        else:
            state = train(args.workdir, epochs=args.epochs, minutes=args.minutes, synthesize=args.synthesize)
            print(json.dumps(state))
    except (KeyError, ValueError, TypeError, FileNotFoundError) as error:  # one line, as the zoo CLI says it
        parser.exit(2, f"{parser.prog} {args.command}: error: {error}\n")


if __name__ == "__main__":
    main()
