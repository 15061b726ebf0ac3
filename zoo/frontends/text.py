"""Text frontend: strings -> token ids, the one place that validates and limits text sources.

``decode`` (TensorFlow string ops, servable) tokenizes with the model's source ``Tokenizer`` and
applies the rules every caller shares:

- empty or whitespace-only text: error ``"is empty or only whitespace"``;
- more than ``max_length`` tokens: error ``"has N tokens, more than this model's limit of M"``;
- invalid UTF-8: each bad byte becomes U+FFFD, an unknown character (``<unk>``): not an error.

A row with an error still gets one ``<unk>`` token (length 1) so a batch decodes its other rows.

Copy models (``copy_vocabulary``: the target side's ``Tokenizer``) also get ``source_extended``:
each source token's id in the target vocabulary, or, for a token the target vocabulary lacks, an
extended id ``V + k`` where k numbers the distinct such tokens of that source in order of first
appearance (V = target vocabulary size; at most ``max_oov`` of them, later ones stay ``<unk>``).
``extend_targets`` gives training targets the same ids, and the target ``Tokenizer.detokenize``
reads extended ids back from the source tokens: one function for training, predict and serving.
"""
from __future__ import annotations

import tensorflow as tf

from zoo.frontends.base import Frontend, check_input_list
from zoo.text.tokenizer import Tokenizer
from zoo.text.vocab import PAD_ID, UNK_ID


class TextFrontend(Frontend):
    """Strings -> ids with ``tokenizer``, at most ``max_length`` tokens (see the module docstring).

    Args:
        tokenizer: the source ``Tokenizer`` (split rule and vocabulary).
        max_length: the longest accepted source, in tokens.
        truncate: a longer source keeps its first ``max_length`` tokens (a summarizer reads a long
            description's opening) instead of being refused ("has N tokens, more than ...").
        copy_vocabulary: the target ``Tokenizer`` of a copy model (adds ``source_extended``).
        max_oov: extended ids per source, for copy models.
    """

    kind = "text"
    input_signature = tf.TensorSpec([None], tf.string, name="text")

    def __init__(self, tokenizer: Tokenizer, max_length: int, copy_vocabulary: Tokenizer | None = None,
                 max_oov: int = 0, truncate: bool = False, name=None):
        super().__init__(name=name)
        if isinstance(max_length, bool) or not isinstance(max_length, int) or max_length < 1:
            raise ValueError(f"max_length must be a positive integer, got {max_length!r}")
        self.tokenizer = tokenizer
        self.max_length = max_length
        self.copy_vocabulary = copy_vocabulary
        self.max_oov = max_oov
        self.truncate = bool(truncate)

    def get_config(self) -> dict:
        return {"kind": self.kind, "max_length": self.max_length, "max_oov": self.max_oov, "truncate": self.truncate}

    def error_message(self, index: int, raw, error: str) -> str:
        return f"texts[{index}] {error}: {raw[:40]!r}{'...' if len(raw) > 40 else ''}"

    def prepare(self, inputs) -> list[str]:
        """A list of strings, checked for type only (``decode`` judges the content)."""
        texts = check_input_list(inputs, "texts")
        for i, text in enumerate(texts):
            if not isinstance(text, str):
                raise TypeError(f"texts[{i}] must be a str, got {type(text).__name__}: {text!r}")
        return texts

    def decode(self, raw: tf.Tensor) -> dict:
        """raw (batch,) strings -> source (batch, src_len >= 1) int32 ids, source_length (batch,),
        error (batch,) strings, source_tokens (batch, src_len) strings ("" on padding), and for copy
        models source_extended (batch, src_len) int32."""
        tokens = self.tokenizer.tokenize(raw)  # (batch, None) ragged strings
        lengths = tf.cast(tokens.row_lengths(), tf.int32)  # (batch,)
        if self.truncate:
            lengths = tf.minimum(lengths, self.max_length)
        empty = tf.equal(lengths, 0)
        too_long = lengths > self.max_length
        error = tf.where(empty, "is empty or only whitespace", "")
        error = tf.where(too_long, tf.strings.join(["has ", tf.strings.as_string(lengths), " tokens, more than this "
                                                    f"model's limit of {self.max_length}"]), error)
        bad = tf.logical_or(empty, too_long)
        tokens = tokens[:, : self.max_length]
        # A bad row reads one <unk>: valid input for the model, blanked by the caller.
        batch = tf.shape(raw, out_type=tf.int64)[0]
        placeholder = tf.RaggedTensor.from_row_lengths(tf.fill([batch], "<unk>"), tf.ones([batch], tf.int64))
        tokens = _replace_rows(tokens, bad, placeholder)
        source_tokens = tokens.to_tensor(default_value="")  # (batch, src_len)
        ids = self.tokenizer.lookup(tokens).to_tensor(default_value=PAD_ID)  # (batch, src_len)
        out = {"source": _at_least_one_column(ids, PAD_ID), "source_length": tf.where(bad, 1, lengths),
               "error": error, "source_tokens": _at_least_one_column(source_tokens, "")}
        if self.copy_vocabulary is not None:
            out["source_extended"] = self.extended_ids(out["source_tokens"])
        return out

    def extended_ids(self, source_tokens: tf.Tensor) -> tf.Tensor:
        """source_tokens (batch, src_len) strings ("" on padding) -> (batch, src_len) int32 ids in the
        target vocabulary extended by up to ``max_oov`` source words (see the module docstring)."""
        vocabulary_size = len(self.copy_vocabulary.vocabulary)
        ids = tf.cast(self.copy_vocabulary.table.lookup(source_tokens), tf.int32)  # (batch, src_len)
        real = tf.not_equal(source_tokens, "")
        oov = tf.logical_and(real, tf.equal(ids, UNK_ID))
        same = tf.equal(source_tokens[:, :, None], source_tokens[:, None, :])  # (batch, src_len, src_len)
        first = tf.argmax(tf.cast(same, tf.int32), axis=2, output_type=tf.int32)  # first position of each token
        positions = tf.range(tf.shape(source_tokens)[1])[None, :]
        is_first_oov = tf.logical_and(oov, tf.equal(first, positions))
        rank = tf.cumsum(tf.cast(is_first_oov, tf.int32), axis=1) - 1  # k of each first occurrence
        k = tf.gather(rank, first, batch_dims=1)  # (batch, src_len): k of each OOV token's first occurrence
        extended = tf.where(tf.logical_and(oov, k < self.max_oov), vocabulary_size + k, ids)
        return tf.where(real, extended, PAD_ID)

    def extend_targets(self, target_tokens: tf.RaggedTensor, source_tokens: tf.Tensor,
                       source_extended: tf.Tensor) -> tf.RaggedTensor:
        """Training targets of a copy model: target_tokens (batch, None) ragged strings, with the
        source's tokens and extended ids (batch, src_len) -> (batch, None) ragged int32 ids, where a
        target token outside the target vocabulary that the source holds gets the source's extended id."""
        ids = self.copy_vocabulary.lookup(target_tokens)  # (batch, None) ragged
        dense = target_tokens.to_tensor(default_value="")  # (batch, tgt_len)
        match = tf.equal(dense[:, :, None], source_tokens[:, None, :])  # (batch, tgt_len, src_len)
        found = tf.reduce_any(match, axis=2)
        where = tf.argmax(tf.cast(match, tf.int32), axis=2, output_type=tf.int32)
        copied = tf.gather(source_extended, where, batch_dims=1)  # (batch, tgt_len)
        dense_ids = ids.to_tensor(default_value=PAD_ID)
        use = tf.logical_and(tf.logical_and(found, tf.equal(dense_ids, UNK_ID)), copied >= len(self.copy_vocabulary.vocabulary))
        return tf.RaggedTensor.from_tensor(tf.where(use, copied, dense_ids), lengths=ids.row_lengths())


def _replace_rows(tokens: tf.RaggedTensor, bad: tf.Tensor, placeholder: tf.RaggedTensor) -> tf.RaggedTensor:
    """Rows of ``tokens`` where ``bad`` (batch,) is true replaced by the same rows of ``placeholder``."""
    both = tf.concat([tokens, placeholder], axis=0)  # (2 * batch, None)
    batch = tf.shape(bad)[0]
    index = tf.where(bad, tf.range(batch) + batch, tf.range(batch))
    return tf.gather(both, index)


def _at_least_one_column(x: tf.Tensor, value) -> tf.Tensor:
    """(batch, n) -> (batch, max(n, 1)), right-padded with ``value`` (a batch of empty rows stays decodable)."""
    return tf.pad(x, [[0, 0], [0, tf.maximum(1 - tf.shape(x)[1], 0)]], constant_values=value)
