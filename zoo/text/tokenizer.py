"""In-graph tokenization (TensorFlow side): strings -> ragged ids -> strings.

A ``Tokenizer`` is a ``tf.Module`` so its lookup table (and a SentencePiece model) is tracked when it
is saved inside a SavedModel (untracked tables break exports). It runs in tf.data pipelines, in eager
code and in exported graphs alike, and uses only core TensorFlow and tensorflow-text ops.

Subwords (``split="sentencepiece"``): the text is normalized as for every split (``normalize``), then
cut into SentencePiece pieces ("▁hello", "s") by tensorflow-text's ``SentencepieceTokenizer`` over
the model proto (``zoo.text.subword.train_sentencepiece`` trains one). The vocabulary is the model's
pieces in id order, so the table's ids are SentencePiece's ids and the reserved ids coincide
(``<pad>`` 0, ``<s>`` 1, ``</s>`` 2, ``<unk>`` 3): ids, copy, ``id_strings``, ``detokenize_tokens``,
the pipelines and the export work as for words. Tokenization yields piece *strings*: a run of
characters the model does not know is one piece holding those characters, which the table maps to
``<unk>`` (a copy model can still copy it from the source). Detokenization joins the pieces and turns
each run of "▁" into one space, then strips: ``detokenize`` in the graph, ``join`` in Python, the same
rule.

Words with punctuation apart (``split="words"``): whitespace-separated words whose closing marks
(``. , ; : ! ? ) ] }``) at a word's end and opening brackets (``( [ {``) at its start are tokens of their
own, so "files)." is "files", ")", "." and the vocabulary holds "files" once; marks inside a word stay
("e.g", "c++", "python3.11", "don't"). Detokenization joins with spaces but none before a token that is
a closing mark and none after a token that is an opening bracket ("(development files)."); a token that
only starts or ends with one keeps its spaces ("for .desktop files"): ``detokenize`` in the graph (RE2),
``join`` in Python (``re``), the same patterns over whole tokens.
"""
from __future__ import annotations

import re

import tensorflow as tf
import tensorflow_text as tf_text

from zoo.text.vocab import END_ID, RESERVED, UNK_ID, Vocabulary

SPLITS = ("chars", "whitespace", "words", "sentencepiece")
SPACE_PIECE = "\u2581"  # "▁": SentencePiece's spelling of a space, at the start of a piece
ASCII_WHITESPACE = " \t\n\v\f\r"  # what tf.strings.strip removes (absl's ASCII whitespace)
# Exactly the characters Python's ``str.isspace`` accepts (RE2 syntax: Unicode separators Zs/Zl/Zp, the
# ASCII controls \t \n \v \f \r, the separators U+001C..U+001F and NEL U+0085): in the graph, a
# no-break space or an ideographic space is whitespace as it is in Python (tests/test_text.py).
WHITESPACE = r"[\p{Z}\x{09}-\x{0d}\x{1c}-\x{1f}\x{85}]"
# The "words" split (RE2 and Python ``re`` read these alike; the text is normalized first, so a space is " "):
# a closing mark at a word's end, or an opening bracket at its start, is set apart by one space per pass
# (a run of marks, "files).", takes one pass per mark: MARK_PASSES at most, the rest stays attached).
CLOSING_MARK = r"([^ ])([.,;:!?)\]}])( |$)"
OPENING_MARK = r"(^| )([(\[{])([^ ])"
MARK_PASSES = 3
# detokenization: no space before a token that is a closing mark, none after one that is an opening bracket
# (whole tokens: a text-level " ." rule would also glue ".desktop" or ",b" to the word before)
CLOSING_TOKEN = r"[.,;:!?)\]}]"
OPENING_TOKEN = r"[(\[{]"


class Tokenizer(tf.Module):
    """Splits text into tokens (characters, whitespace-separated words or SentencePiece subwords) and
    maps them to ids.

    Args:
        vocabulary: the token list; unknown tokens map to ``<unk>`` (id 3), and so do tokens of the
            text that spell ``<pad>``, ``<s>`` or ``</s>``: only the models put those ids in. For
            ``"sentencepiece"``, the model's pieces in id order (``zoo.text.subword.vocabulary_of``).
        split: ``"chars"`` (every Unicode character is a token), ``"whitespace"``, ``"words"``
            (whitespace-separated, punctuation at a word's edges apart) or ``"sentencepiece"``
            (subwords of ``model``); see the module docstring.
        lowercase: case-fold before splitting with Unicode NFKC_Casefold (tensorflow-text
            ``case_fold_utf8``), which also folds compatibility forms: º -> o, ﬁ -> fi, full-width
            Ａ -> a, ß -> ss, and drops soft hyphens; é stays é.
        model: the SentencePiece model proto (bytes), for ``"sentencepiece"`` only, where it is
            required: ids 0..3 its ``<pad>``, ``<s>``, ``</s>``, ``<unk>``, no byte pieces
            (``model_pieces`` checks it). ``get_config`` leaves it out: a pretrained folder keeps it in
            a file (``zoo.hub``).
    """

    def __init__(self, vocabulary: Vocabulary, split: str = "chars", lowercase: bool = False,
                 model: bytes | None = None, name=None):
        super().__init__(name=name)
        if split not in SPLITS:
            raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
        if (split == "sentencepiece") != (model is not None):
            raise ValueError("split 'sentencepiece' needs its SentencePiece model (model=bytes)" if model is None
                             else f"model (a SentencePiece model) is for split 'sentencepiece' only, not {split!r}")
        if model is not None:
            if not isinstance(model, bytes):
                raise TypeError(f"model must be the SentencePiece model proto as bytes, got {type(model).__name__}")
            pieces = model_pieces(model)
            if vocabulary.tokens != pieces:
                raise ValueError(f"the vocabulary ({len(vocabulary)} tokens) is not the SentencePiece model's "
                                 f"{len(pieces)} pieces in id order: build it with zoo.text.subword.vocabulary_of")
            # tracked (a tf.Module): its model resource is saved with, and restored from, a SavedModel
            self.sentencepiece = tf_text.SentencepieceTokenizer(model=model, out_type=tf.string)
        self.model = model
        self.vocabulary = vocabulary
        self.split = split
        self.lowercase = lowercase
        # separator of detokenize_tokens' tokens in detokenize; ``join`` is the whole rule in Python
        self.joiner = " " if split in ("whitespace", "words") else ""
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
        return normalize(strings, self.lowercase)

    def tokenize(self, strings: tf.Tensor) -> tf.RaggedTensor:
        """(batch,) strings -> (batch, None) ragged string tokens. Invalid UTF-8 becomes U+FFFD."""
        strings = self.normalize(tf.convert_to_tensor(strings, tf.string))
        if self.split == "chars":
            return tf.strings.unicode_split(strings, "UTF-8", errors="replace")
        if self.split == "sentencepiece":
            return self.sentencepiece.tokenize(strings)
        if self.split == "words":
            for _ in range(MARK_PASSES):
                strings = tf.strings.regex_replace(strings, CLOSING_MARK, r"\1 \2\3")
            for _ in range(MARK_PASSES):
                strings = tf.strings.regex_replace(strings, OPENING_MARK, r"\1\2 \3")
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
        """(batch, len) int ids -> (batch,) strings: ``detokenize_tokens`` joined by the split's joiner
        (subwords: each run of "▁" then becomes one space, and the ends are trimmed; words: no space before
        a closing mark or after an opening bracket, ``_join_words``), as ``join`` does."""
        tokens = self.detokenize_tokens(ids, source_tokens, source_extended)
        if self.split == "words":
            return _join_words(tokens)
        text = tf.strings.reduce_join(tokens, axis=-1, separator=self.joiner)
        if self.split == "sentencepiece":
            text = tf.strings.strip(tf.strings.regex_replace(text, SPACE_PIECE + "+", " "))
        return text

    def join(self, tokens) -> str:
        """Tokens (``detokenize_tokens``' strings, decoded) -> the text ``detokenize`` makes of them, in
        Python: ``Predictor`` builds its texts with it, so they equal the export's."""
        text = self.joiner.join(tokens)
        if self.split == "sentencepiece":
            text = re.sub(SPACE_PIECE + "+", " ", text).strip(ASCII_WHITESPACE)
        if self.split == "words":
            tokens = list(tokens)
            glued = [i == 0 or re.fullmatch(CLOSING_TOKEN, token) or re.fullmatch(OPENING_TOKEN, tokens[i - 1])
                     for i, token in enumerate(tokens)]
            text = "".join(token if glue else " " + token for token, glue in zip(tokens, glued))
        return text


def _join_words(tokens: tf.RaggedTensor) -> tf.Tensor:
    """(batch, None) ragged string tokens -> (batch,) strings, the ``"words"`` split's join (``Tokenizer.join``):
    a space before each token but a row's first, a closing mark (``CLOSING_TOKEN``) and the token after an
    opening bracket (``OPENING_TOKEN``)."""
    flat = tokens.flat_values  # (n,)
    closing = tf.strings.regex_full_match(flat, CLOSING_TOKEN)
    opening = tf.strings.regex_full_match(flat, OPENING_TOKEN)
    after_opening = tf.concat([[False], opening], axis=0)[:-1]  # the previous token (maybe another row's) opens
    first = tf.equal(tf.range(tf.size(flat, out_type=tokens.row_splits.dtype)),
                     tf.gather(tokens.row_splits, tokens.value_rowids()))  # a row's first token
    glued = tf.logical_or(first, tf.logical_or(closing, after_opening))
    spaced = tf.strings.join([tf.where(glued, "", " "), flat])
    return tf.strings.reduce_join(tokens.with_flat_values(spaced), axis=-1)


def normalize(strings: tf.Tensor, lowercase: bool = False) -> tf.Tensor:
    """``Tokenizer.normalize``: the text rules every split starts from (subword models train on its output)."""
    strings = tf.strings.unicode_transcode(strings, "UTF-8", "UTF-8", errors="replace")
    strings = tf.strings.strip(tf.strings.regex_replace(strings, WHITESPACE, " "))
    if lowercase:
        strings = tf_text.case_fold_utf8(strings)
    return strings


def model_pieces(model: bytes) -> list[str]:
    """A SentencePiece model proto -> its pieces in id order, after checking that the zoo can use it:
    ids 0..3 are ``<pad>``, ``<s>``, ``</s>``, ``<unk>`` (``zoo.text.vocab``'s reserved ids) and it has
    no byte-fallback pieces (see ``zoo.text.subword``). A ``ValueError`` says what is wrong."""
    import sentencepiece

    processor = sentencepiece.SentencePieceProcessor()
    try:
        processor.LoadFromSerializedProto(model)
    except Exception as error:  # RuntimeError / OSError from the C++ parser
        raise ValueError(f"model is not a SentencePiece model proto: {error}") from None
    pieces = [processor.id_to_piece(i) for i in range(processor.get_piece_size())]
    reserved = (processor.pad_id(), processor.bos_id(), processor.eos_id(), processor.unk_id())
    if reserved != (0, 1, 2, 3) or tuple(pieces[:4]) != RESERVED:
        raise ValueError(f"the SentencePiece model must reserve ids 0..3 for {list(RESERVED)} (pad, bos, eos, unk); "
                         f"it has pad/bos/eos/unk ids {list(reserved)} and first pieces {pieces[:4]}")
    if any(processor.is_byte(i) for i in range(len(pieces))):
        raise ValueError("the SentencePiece model has byte-fallback pieces (<0x00>...): train it with "
                         "byte_fallback=False (zoo.text.subword.train_sentencepiece does)")
    return pieces
