"""In-graph tokenization (TensorFlow side): strings -> ragged ids -> strings.

A ``Tokenizer`` is a ``tf.Module`` so its lookup table is tracked when it is saved inside a
SavedModel (untracked tables break exports). It runs in tf.data pipelines, in eager code and in
exported graphs alike, and uses only core TensorFlow and tensorflow-text ops.
"""
from __future__ import annotations

import tensorflow as tf
import tensorflow_text as tf_text

from zoo.text.vocab import END_ID, UNK_ID, Vocabulary

SPLITS = ("chars", "whitespace")
# Exactly the characters Python's ``str.isspace`` accepts (RE2 syntax: Unicode separators Zs/Zl/Zp, the
# ASCII controls \t \n \v \f \r, the separators U+001C..U+001F and NEL U+0085): in the graph, a
# no-break space or an ideographic space is whitespace as it is in Python (tests/test_text.py).
WHITESPACE = r"[\p{Z}\x{09}-\x{0d}\x{1c}-\x{1f}\x{85}]"


class Tokenizer(tf.Module):
    """Splits text into tokens (characters or whitespace-separated words) and maps them to ids.

    Args:
        vocabulary: the token list; unknown tokens map to ``<unk>`` (id 3), and so do tokens of the
            text that spell ``<pad>``, ``<s>`` or ``</s>``: only the models put those ids in.
        split: ``"chars"`` (every Unicode character is a token) or ``"whitespace"``.
        lowercase: case-fold before splitting with Unicode NFKC_Casefold (tensorflow-text
            ``case_fold_utf8``), which also folds compatibility forms: º -> o, ﬁ -> fi, full-width
            Ａ -> a, ß -> ss, and drops soft hyphens; é stays é.
    """

    def __init__(self, vocabulary: Vocabulary, split: str = "chars", lowercase: bool = False, name=None):
        super().__init__(name=name)
        if split not in SPLITS:
            raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
        self.vocabulary = vocabulary
        self.split = split
        self.lowercase = lowercase
        self.joiner = "" if split == "chars" else " "
        tokens = tf.constant(vocabulary.tokens)
        # text that spells a control token ("<pad>", "<s>", "</s>") is an unknown word, not that control
        ids = [UNK_ID if i < UNK_ID else i for i in range(len(vocabulary.tokens))]
        self.table = tf.lookup.StaticHashTable(
            tf.lookup.KeyValueTensorInitializer(tokens, tf.constant(ids, tf.int64)), default_value=UNK_ID)
        self.id_to_token = tf.Variable(tokens, trainable=False, name="id_to_token")

    def get_config(self) -> dict:
        return {"split": self.split, "lowercase": self.lowercase}

    def normalize(self, strings: tf.Tensor) -> tf.Tensor:
        """(batch,) strings -> (batch,) strings: invalid UTF-8 bytes replaced by U+FFFD, each Unicode
        whitespace character (``WHITESPACE``) by a space, trimmed, and optionally case-folded."""
        strings = tf.strings.unicode_transcode(strings, "UTF-8", "UTF-8", errors="replace")
        strings = tf.strings.strip(tf.strings.regex_replace(strings, WHITESPACE, " "))
        if self.lowercase:
            strings = tf_text.case_fold_utf8(strings)
        return strings

    def tokenize(self, strings: tf.Tensor) -> tf.RaggedTensor:
        """(batch,) strings -> (batch, None) ragged string tokens. Invalid UTF-8 becomes U+FFFD."""
        strings = self.normalize(tf.convert_to_tensor(strings, tf.string))
        if self.split == "chars":
            return tf.strings.unicode_split(strings, "UTF-8", errors="replace")
        return tf.strings.split(strings)

    def encode(self, strings: tf.Tensor) -> tf.RaggedTensor:
        """(batch,) strings -> (batch, None) ragged int32 ids."""
        return self.lookup(self.tokenize(strings))

    def lookup(self, tokens: tf.RaggedTensor) -> tf.RaggedTensor:
        """(batch, None) ragged string tokens -> (batch, None) ragged int32 ids."""
        return tf.cast(tokens.with_flat_values(self.table.lookup(tokens.flat_values)), tf.int32)

    def id_strings(self, ids: tf.Tensor, source_tokens: tf.Tensor | None = None,
                   source_extended: tf.Tensor | None = None) -> tf.Tensor:
        """(batch, len) int ids -> (batch, len) strings, one per id, reserved ids as their tokens.

        A copy model's extended id (>= the vocabulary size) is read back from the source: the token of
        ``source_tokens`` (batch, src_len) at the first position whose ``source_extended`` id equals it
        (``<unk>`` when none does)."""
        ids = tf.cast(ids, tf.int32)
        size = tf.shape(self.id_to_token, out_type=tf.int32)[0]
        tokens = tf.gather(self.id_to_token, tf.where(ids < size, ids, UNK_ID))  # (batch, len)
        if source_extended is not None:
            match = tf.equal(ids[:, :, None], tf.cast(source_extended, tf.int32)[:, None, :])  # (batch, len, src_len)
            position = tf.argmax(tf.cast(match, tf.int32), axis=2, output_type=tf.int32)
            copied = tf.gather(source_tokens, position, batch_dims=1)  # (batch, len)
            tokens = tf.where(tf.logical_and(ids >= size, tf.reduce_any(match, axis=2)), copied, tokens)
        return tokens

    def detokenize_tokens(self, ids: tf.Tensor, source_tokens: tf.Tensor | None = None,
                          source_extended: tf.Tensor | None = None) -> tf.RaggedTensor:
        """(batch, len) int ids -> (batch, None) ragged string tokens (``id_strings``): stops at ``</s>``,
        drops ``<pad>``/``<s>``, keeps ``<unk>``. The one detokenizer of the zoo (``Predictor`` and the export)."""
        ids = tf.cast(ids, tf.int32)
        before_end = tf.equal(tf.cumsum(tf.cast(tf.equal(ids, END_ID), tf.int32), axis=-1), 0)
        keep = tf.logical_and(before_end, ids >= UNK_ID)  # drops <pad>, <s>; keeps <unk> and real tokens
        return tf.ragged.boolean_mask(self.id_strings(ids, source_tokens, source_extended), keep)

    def detokenize(self, ids: tf.Tensor, source_tokens: tf.Tensor | None = None,
                   source_extended: tf.Tensor | None = None) -> tf.Tensor:
        """(batch, len) int ids -> (batch,) strings: ``detokenize_tokens`` joined by the split's joiner."""
        tokens = self.detokenize_tokens(ids, source_tokens, source_extended)
        return tf.strings.reduce_join(tokens, axis=-1, separator=self.joiner)
