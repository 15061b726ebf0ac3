"""tf.data input pipeline for teacher-forced training (TensorFlow side).

(source text, target text) pairs
  -> tokenized in one vectorised in-graph call (the pipeline's tokenizers)
  -> empty and over-long examples dropped, counted and logged
  -> shuffled, bucketed by length, padded on the right with <pad> = 0, batches shuffled again
  -> ({"source": (batch, src_len), "decoder_input": (batch, tgt_len)},
      decoder_target (batch, tgt_len), weights (batch, tgt_len))
where decoder_input = <s> + target and decoder_target = target + </s>, and weights are 1 on real
target tokens (including </s>) and 0 on padding, so losses and metrics ignore padding.
"""
from __future__ import annotations

import dataclasses
import logging
from typing import Sequence

import numpy as np
import tensorflow as tf

from zoo.text.tokenizer import Tokenizer
from zoo.text.vocab import END_ID, START_ID

log = logging.getLogger(__name__)

DEFAULT_BOUNDARIES = (6, 8, 10, 12, 16, 24, 32, 48, 64)


@dataclasses.dataclass
class DropReport:
    kept: int
    empty: int
    too_long: int


def tokenize_pairs(
    pairs: Sequence[tuple[str, str]],
    source_tokenizer: Tokenizer,
    target_tokenizer: Tokenizer,
    max_source_length: int,
    max_target_length: int,
) -> tuple[tf.RaggedTensor, tf.RaggedTensor, DropReport]:
    """Tokenizes all pairs at once and drops empty / over-long ones. Returns (source, target, report).

    ``max_target_length`` counts the target tokens without the added <s> / </s>.
    """
    if len(pairs) == 0:
        raise ValueError("pairs is empty: the pipeline needs at least one (source, target) example.")
    sources, targets = zip(*pairs)
    source = source_tokenizer.encode(tf.constant(sources))  # (n, None)
    target = target_tokenizer.encode(tf.constant(targets))  # (n, None)
    source_len = source.row_lengths().numpy()
    target_len = target.row_lengths().numpy()
    empty = (source_len == 0) | (target_len == 0)
    too_long = ~empty & ((source_len > max_source_length) | (target_len > max_target_length))
    keep = ~(empty | too_long)
    report = DropReport(kept=int(keep.sum()), empty=int(empty.sum()), too_long=int(too_long.sum()))
    log.info(
        "pipeline: kept %d examples, dropped %d empty and %d longer than %d source / %d target tokens",
        report.kept, report.empty, report.too_long, max_source_length, max_target_length,
    )
    if report.kept == 0:
        raise ValueError(f"No example survived filtering ({report}); check the data and the length limits.")
    return tf.ragged.boolean_mask(source, keep), tf.ragged.boolean_mask(target, keep), report


def _teacher_forcing(source: tf.Tensor, target: tf.Tensor):
    """(src_len,), (tgt_len,) -> source, decoder_input <s>+target, decoder_target target+</s>."""
    decoder_input = tf.concat([[START_ID], target], axis=0)
    decoder_target = tf.concat([target, [END_ID]], axis=0)
    return source, decoder_input, decoder_target


def _to_keras(source, decoder_input, decoder_target):
    weights = tf.cast(tf.not_equal(decoder_target, 0), tf.float32)  # (batch, tgt_len)
    return {"source": source, "decoder_input": decoder_input}, decoder_target, weights


# Batches shuffled after bucketing. Without it an epoch ends with one small, single-length batch
# per bucket in a row; Adam takes full-size steps on them, and the end-of-epoch weights (the ones
# checkpointed and scored on dev) are visibly worse than those a few steps earlier.
BATCH_SHUFFLE_BUFFER = 64


def make_dataset(
    pairs: Sequence[tuple[str, str]],
    source_tokenizer: Tokenizer,
    target_tokenizer: Tokenizer,
    batch_size: int,
    max_source_length: int = 64,
    max_target_length: int = 64,
    shuffle: bool = True,
    seed: int = 0,
    bucket_boundaries: Sequence[int] = DEFAULT_BOUNDARIES,
    batch_multiple: int = 1,
) -> tf.data.Dataset:
    """Builds the batched training dataset described in the module docstring.

    Every example is kept (the last, partial batch of each bucket is not dropped), so one pass over
    the dataset is one epoch over all surviving examples; except that with ``batch_multiple`` > 1
    (data-parallel training on that many devices, which must split every batch evenly) each bucket's
    last, partial batch is cut to a multiple of it: fewer than ``batch_multiple`` examples per bucket
    sit out an epoch, different ones each epoch when shuffled.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    if batch_multiple < 1 or batch_size % batch_multiple:
        raise ValueError(f"batch_size {batch_size} must be a multiple of batch_multiple {batch_multiple} "
                         "(the number of devices a data-parallel run splits each batch across)")
    source, target, _ = tokenize_pairs(pairs, source_tokenizer, target_tokenizer, max_source_length, max_target_length)
    dataset = tf.data.Dataset.from_tensor_slices((source, target))
    if shuffle:
        dataset = dataset.shuffle(int(source.nrows()), seed=seed, reshuffle_each_iteration=True)
    dataset = dataset.map(_teacher_forcing, num_parallel_calls=tf.data.AUTOTUNE)
    boundaries = [b for b in bucket_boundaries if b < max(max_source_length, max_target_length + 1)]
    lengths = np.maximum(source.row_lengths().numpy(), target.row_lengths().numpy() + 1)  # as bucketed below
    per_bucket = np.bincount(np.searchsorted(boundaries, lengths, side="right"), minlength=len(boundaries) + 1)
    batches = int(sum(count // batch_size + (count % batch_size >= batch_multiple) for count in per_bucket))
    dataset = dataset.bucket_by_sequence_length(
        element_length_func=lambda s, di, dt: tf.maximum(tf.shape(s)[0], tf.shape(di)[0]),
        bucket_boundaries=boundaries,
        bucket_batch_sizes=[batch_size] * (len(boundaries) + 1),
        padded_shapes=([None], [None], [None]),
        padding_values=(0, 0, 0),
        drop_remainder=False,
    )
    if batch_multiple > 1:
        def trim(*batch):  # (rows, len) each -> the first rows // batch_multiple * batch_multiple rows
            rows = tf.shape(batch[0])[0] // batch_multiple * batch_multiple
            return tuple(x[:rows] for x in batch)

        dataset = dataset.map(trim).filter(lambda source, *_: tf.shape(source)[0] > 0)
    if shuffle:  # the partial batches of every bucket come out last: spread them over the epoch's end
        dataset = dataset.shuffle(BATCH_SHUFFLE_BUFFER, seed=seed, reshuffle_each_iteration=True)
    dataset = dataset.apply(tf.data.experimental.assert_cardinality(batches))  # Keras shows a full progress bar
    return dataset.map(_to_keras, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)

