"""tf.data input pipeline for teacher-forced training (TensorFlow side).

(raw source, target text) pairs
  -> the source through the model's frontend (``zoo.frontends``: text, audio or image; its rules
     for empty, too long and malformed input), the target through the target tokenizer
  -> rejected and over-long examples dropped, counted by reason and logged
  -> shuffled, bucketed by length, padded on the right with <pad> = 0, batches shuffled again
  -> ({"source": (batch, ...), "source_length": (batch,), "decoder_input": (batch, tgt_len),
       [copy models: "source_extended": (batch, src_len)]}, decoder_target (batch, tgt_len), weights (batch, tgt_len))
where decoder_input = <s> + target and decoder_target = target + </s>, and weights are 1 on real
target tokens (including </s>) and 0 on padding, so losses and metrics ignore padding. A copy model's
target tokens that the source holds but the vocabulary lacks get the source's extended ids.
"""
from __future__ import annotations

import dataclasses
import logging
from typing import Sequence

import numpy as np
import tensorflow as tf

from zoo.frontends import Frontend, TextFrontend
from zoo.text.tokenizer import Tokenizer
from zoo.text.vocab import END_ID, START_ID

log = logging.getLogger(__name__)

DEFAULT_BOUNDARIES = (6, 8, 10, 12, 16, 24, 32, 48, 64)
CHUNK = 1024  # sources decoded per frontend call
# From this many sources on, a media frontend's ``decode`` runs traced (tf.function) instead of eagerly.
# It maps over the rows (``tf.map_fn``), which eagerly runs Python for every row: about 5 ms a picture and
# 3 ms a clip on a CPU, 30 s for toy-image's 6000 training strips, against a 1-2 s trace and 0.2 s per
# chunk traced (the same values). Text decodes whole batches with vectorized ops: eager starts at once.
TRACED_DECODE_FROM = 512


@dataclasses.dataclass
class DropReport:
    kept: int
    empty: int
    too_long: int
    malformed: int = 0  # sources the frontend could not read (not a WAV file, not an image, ...)


def as_frontend(source: Frontend | Tokenizer, max_source_length: int | None) -> Frontend:
    """A frontend as it is, or a text ``Tokenizer`` with its length limit as a ``TextFrontend``."""
    if isinstance(source, Tokenizer):
        return TextFrontend(source, max_source_length)
    return source


def encode_pairs(
    pairs: Sequence[tuple],
    source: Frontend | Tokenizer,
    target_tokenizer: Tokenizer,
    max_source_length: int | None,
    max_target_length: int,
) -> tuple[dict, tf.RaggedTensor, DropReport]:
    """Runs every source through the frontend and tokenizes every target; drops the examples the
    frontend rejects or whose target is empty or longer than ``max_target_length`` (tokens, without
    <s> / </s>). -> (source features of the kept examples: {"source": ragged along axis 1 when the
    frontend's sources vary in length, "source_length", [copy: "source_extended"]}, target (n, None)
    ragged int32 ids, report)."""
    if len(pairs) == 0:
        raise ValueError("pairs is empty: the pipeline needs at least one (source, target) example.")
    frontend = as_frontend(source, max_source_length)
    sources, targets = zip(*pairs)
    raw = frontend.prepare(list(sources))
    decode = frontend.decode
    if frontend.kind != "text" and len(raw) >= TRACED_DECODE_FROM:
        decode = tf.function(frontend.decode, input_signature=[tf.TensorSpec([None], tf.string)])
    features, errors, target = {}, [], []
    for start in range(0, len(raw), CHUNK):
        part = decode(tf.constant(raw[start:start + CHUNK], tf.string))
        lengths = part["source_length"]
        errors.append(part["error"].numpy())
        tokens = target_tokenizer.tokenize(tf.constant(list(targets[start:start + CHUNK])))
        if "source_extended" in part:
            width = tf.shape(part["source_extended"])[1]
            ids = frontend.extend_targets(tokens, part["source_tokens"][:, :width], part["source_extended"])
        else:
            ids = target_tokenizer.lookup(tokens)
        target.append(ids)
        for key in ("source", "source_length", "source_extended"):
            if key in part:
                value = part[key]
                if key != "source_length" and frontend.variable_length:
                    value = tf.RaggedTensor.from_tensor(value, lengths=lengths)
                features.setdefault(key, []).append(value)
    features = {key: tf.concat(values, axis=0) for key, values in features.items()}
    target = tf.concat(target, axis=0)
    errors = np.concatenate(errors)
    target_len = target.row_lengths().numpy()
    rejected = errors != b""
    empty = np.array([e.startswith(b"is empty") or e.startswith(b"empty") for e in errors]) | (target_len == 0)
    too_long = ~empty & ((rejected & np.array([b"more than" in e for e in errors])) | (target_len > max_target_length))
    malformed = rejected & ~empty & ~too_long
    keep = ~(empty | too_long | malformed)
    report = DropReport(kept=int(keep.sum()), empty=int(empty.sum()), too_long=int(too_long.sum()),
                        malformed=int(malformed.sum()))
    log.info("pipeline: kept %d examples, dropped %d empty, %d too long (source limit %s, target limit %d) "
             "and %d the frontend could not read", report.kept, report.empty, report.too_long, max_source_length,
             max_target_length, report.malformed)
    if report.kept == 0:
        raise ValueError(f"No example survived filtering ({report}); check the data and the length limits.")
    if keep.all():  # no copy of what may be gigabytes of audio
        return features, target, report
    kept = np.flatnonzero(keep)
    return {key: tf.gather(value, kept) for key, value in features.items()}, tf.gather(target, kept), report


def tokenize_pairs(pairs, source_tokenizer: Tokenizer, target_tokenizer: Tokenizer, max_source_length: int,
                   max_target_length: int) -> tuple[tf.RaggedTensor, tf.RaggedTensor, DropReport]:
    """Text pairs -> (source (n, None) ragged ids, target (n, None) ragged ids, report): ``encode_pairs``
    for a text source."""
    features, target, report = encode_pairs(pairs, source_tokenizer, target_tokenizer, max_source_length,
                                            max_target_length)
    return features["source"], target, report


def _teacher_forcing(features: dict, target: tf.Tensor):
    """features of one example, target (tgt_len,) -> features, decoder_input <s>+target, decoder_target target+</s>."""
    decoder_input = tf.concat([[START_ID], target], axis=0)
    decoder_target = tf.concat([target, [END_ID]], axis=0)
    return features, decoder_input, decoder_target


def _to_keras(features, decoder_input, decoder_target):
    weights = tf.cast(tf.not_equal(decoder_target, 0), tf.float32)  # (batch, tgt_len)
    return {**features, "decoder_input": decoder_input}, decoder_target, weights


# Batches shuffled after bucketing. Without it an epoch ends with one small, single-length batch
# per bucket in a row; Adam takes full-size steps on them, and the end-of-epoch weights (the ones
# checkpointed and scored on dev) are visibly worse than those a few steps earlier.
BATCH_SHUFFLE_BUFFER = 64


def make_dataset(
    pairs: Sequence[tuple],
    source: Frontend | Tokenizer,
    target_tokenizer: Tokenizer,
    batch_size: int,
    max_source_length: int | None = 64,
    max_target_length: int = 64,
    shuffle: bool = True,
    seed: int = 0,
    bucket_boundaries: Sequence[int] = DEFAULT_BOUNDARIES,
    batch_multiple: int = 1,
    batch_tokens: int | None = None,
    process: tuple[int, int] = (0, 1),
    fixed_widths: bool = False,
) -> tf.data.Dataset:
    """Builds the batched training dataset described in the module docstring.

    Batches hold ``batch_size`` examples; with ``batch_tokens``, each length bucket's batches hold
    instead as many as fit ``batch_tokens`` tokens at the bucket's longest length (the bucketing length:
    max(source tokens, target tokens + 1) for text, target tokens + 1 for other sources), at least one
    (and a multiple of ``batch_multiple``): short examples travel in big batches, long ones in small.

    Every example is kept (the last, partial batch of each bucket is not dropped), so one pass over
    the dataset is one epoch over all surviving examples; except that with ``batch_multiple`` > 1
    (data-parallel training on that many devices, which must split every batch evenly) each bucket's
    last, partial batch is cut to a multiple of it: fewer than ``batch_multiple`` examples per bucket
    sit out an epoch, different ones each epoch when shuffled.

    ``process`` = (index, count): training in ``count`` processes (``zoo.training.train.processes``),
    every process builds the same batches (same seed, same order) and keeps its own contiguous
    ``1 / count`` of each batch's rows, padded as the whole batch is; ``batch_multiple`` (every
    process's devices together) must then be a multiple of ``count``.

    ``fixed_widths`` (text sources): every batch is padded to its bucket's widest length instead of its
    own longest example, so a backend that compiles once per shape (JAX: ``zoo train`` sets it there)
    sees at most two shapes per bucket (its full batches and its last, partial one) instead of one per
    batch width. Other sources keep their own widths (an audio clip's samples are not bucketed).
    """
    rank, processes = process
    if not 0 <= rank < processes or batch_multiple % processes:
        raise ValueError(f"process {process!r} must be (index, count) with 0 <= index < count and count dividing "
                         f"batch_multiple {batch_multiple}")
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    if batch_tokens is not None and (isinstance(batch_tokens, bool) or not isinstance(batch_tokens, int)
                                     or batch_tokens < 1):
        raise ValueError(f"batch_tokens must be None or a positive integer, got {batch_tokens!r}")
    if batch_multiple < 1 or batch_size % batch_multiple:
        raise ValueError(f"batch_size {batch_size} must be a multiple of batch_multiple {batch_multiple} "
                         "(the number of devices a data-parallel run splits each batch across)")
    frontend = as_frontend(source, max_source_length)
    features, target, _ = encode_pairs(pairs, frontend, target_tokenizer, max_source_length, max_target_length)
    count = int(target.nrows())
    if shuffle:  # shuffle indices, not examples: a buffer of every example would copy the data set once more
        order = tf.data.Dataset.range(count).shuffle(count, seed=seed, reshuffle_each_iteration=True)
        dataset = order.map(lambda i: (tf.nest.map_structure(lambda value: value[i], features), target[i]))
    else:
        dataset = tf.data.Dataset.from_tensor_slices((features, target))
    dataset = dataset.map(_teacher_forcing, num_parallel_calls=tf.data.AUTOTUNE)
    # Text buckets by max(source tokens, target tokens + 1); other sources (samples, pixels) by the target.
    by_source = frontend.kind == "text"
    longest = max(max_source_length, max_target_length + 1) if by_source else max_target_length + 1
    boundaries = [b for b in bucket_boundaries if b < longest]
    lengths = target.row_lengths().numpy() + 1
    if by_source:
        lengths = np.maximum(features["source_length"].numpy(), lengths)  # as bucketed below
    per_bucket = np.bincount(np.searchsorted(boundaries, lengths, side="right"), minlength=len(boundaries) + 1)
    sizes = [batch_size] * (len(boundaries) + 1)
    if batch_tokens is not None:  # rows that fit the budget at each bucket's longest length
        longest_in = [b - 1 for b in boundaries] + [max(longest, int(lengths.max()))]
        sizes = [max(batch_multiple, batch_tokens // n // batch_multiple * batch_multiple) for n in longest_in]
    batches = int(sum(count // size + (count % size >= batch_multiple) for count, size in zip(per_bucket, sizes)))
    fixed = fixed_widths and by_source  # pads to boundary - 1: one more boundary above the longest
    dataset = dataset.bucket_by_sequence_length(
        element_length_func=((lambda f, di, dt: tf.maximum(f["source_length"], tf.shape(di)[0])) if by_source
                             else (lambda f, di, dt: tf.shape(di)[0])),
        bucket_boundaries=boundaries + [longest + 1] if fixed else boundaries,
        bucket_batch_sizes=sizes + sizes[-1:] if fixed else sizes,
        pad_to_bucket_boundary=fixed,
        padded_shapes=({key: [None] * len(spec.shape) for key, spec in dataset.element_spec[0].items()}, [None], [None]),
        padding_values=({key: tf.cast(0, spec.dtype) for key, spec in dataset.element_spec[0].items()},
                        tf.cast(0, tf.int32), tf.cast(0, tf.int32)),
        drop_remainder=False,
    )
    if batch_multiple > 1:
        def trim(*batch):  # (rows, ...) each -> the first rows // batch_multiple * batch_multiple rows,
            rows = tf.shape(batch[1])[0] // batch_multiple * batch_multiple  # this process's share of them
            return tf.nest.map_structure(lambda x: x[rank * rows // processes:(rank + 1) * rows // processes], batch)

        dataset = dataset.map(trim).filter(lambda features, *_: tf.shape(features["source_length"])[0] > 0)
    if shuffle:  # the partial batches of every bucket come out last: spread them over the epoch's end
        dataset = dataset.shuffle(BATCH_SHUFFLE_BUFFER, seed=seed, reshuffle_each_iteration=True)
    dataset = dataset.apply(tf.data.experimental.assert_cardinality(batches))  # Keras shows a full progress bar
    return dataset.map(_to_keras, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)

