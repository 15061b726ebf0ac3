"""Subword vocabularies: SentencePiece models our recipes train, for ``Tokenizer(split="sentencepiece")``.

``train_sentencepiece(texts, vocab_size)`` returns the model proto (bytes, what a pretrained folder
stores as ``source_spm.model`` / ``target_spm.model``); ``vocabulary_of(model)`` is its vocabulary,
the pieces in id order; ``sentencepiece_tokenizer(model)`` the in-graph tokenizer over both.

How the models are trained, and why:

- **On what the tokenizer sees.** Texts go through ``zoo.text.tokenizer.normalize`` first (invalid
  UTF-8 -> U+FFFD, Unicode whitespace -> spaces, trimmed, case-folded when ``lowercase``), the rule
  ``Tokenizer.tokenize`` applies before the SentencePiece op, so the pieces are the ones it meets.
- **No normalization of its own** beyond that: no NFKC (the zoo's ``normalize`` is the one text rule;
  ``lowercase=True`` brings NFKC_Casefold), so detokenized text keeps the characters it was given.
  The model's character map has one rule, U+2581 "▁" -> space: SentencePiece spells spaces "▁", so a
  literal "▁" in the text is a space anyway, and the rule makes it one before spaces are collapsed.
  (It also keeps the map non-empty: with an empty one, SentencePiece's C++ logs a line each time a
  model loads, tensorflow-text's op included.)
- **Reserved ids coincide** with ``zoo.text.vocab``'s: pad 0 ``<pad>``, bos 1 ``<s>``, eos 2
  ``</s>``, unk 3 ``<unk>``, so the vocabulary table's ids are SentencePiece's.
- **No byte fallback.** With ``character_coverage=1.0`` every character of the training texts is a
  piece, so only characters the training texts never hold are unknown. Byte fallback would spell them
  as byte pieces (``<0xF0>``...), which a decoder can emit in an order that is not UTF-8 (needing a
  repair step in the graph), and which neither a copy model nor the text vocabulary files handle as
  text. Without it the tokenizer never fails either: a run of unknown characters becomes one piece
  holding those characters (the source tokens a copy model copies), looked up as ``<unk>``, and
  detokenized as ``<unk>``. Simpler, and as robust.
- **Deterministic**: one thread, sentences from memory in their order (no sampling, no shuffling),
  a fixed seed, and the temporary rule file's path cleared from the proto: the same texts and options
  give the same bytes.
- ``vocab_size`` is an upper bound (``hard_vocab_limit=False``): a corpus too small for it gives
  fewer pieces instead of an error.
"""
from __future__ import annotations

import io
import os
import tempfile
from typing import Iterable

import tensorflow as tf

from zoo.text.tokenizer import SPACE_PIECE, Tokenizer, model_pieces, normalize
from zoo.text.vocab import END, PAD, RESERVED, START, UNK, Vocabulary

MODEL_TYPES = ("unigram", "bpe")
# U+2581 -> U+0020, in SentencePiece's rule format (hex code points, tab, hex code points)
NORMALIZATION_RULES = f"{ord(SPACE_PIECE):x}\t20\n"
FIXED_OPTIONS = dict(
    pad_id=0, bos_id=1, eos_id=2, unk_id=3, pad_piece=PAD, bos_piece=START, eos_piece=END, unk_piece=UNK,
    byte_fallback=False, num_threads=1, input_sentence_size=0, shuffle_input_sentence=False,
    hard_vocab_limit=False, minloglevel=2,
)
NORMALIZE_CHUNK = 4096  # texts normalized per TensorFlow call


def train_sentencepiece(texts: Iterable[str], vocab_size: int, model_type: str = "unigram",
                        character_coverage: float = 1.0, lowercase: bool = False, seed: int = 0,
                        max_sentence_length: int = 1 << 16, **options) -> bytes:
    """Trains a SentencePiece model on ``texts`` -> its model proto (see the module docstring).

    Args:
        texts: training sentences (one side of a dataset's training pairs); empty ones are skipped.
        vocab_size: the most pieces, the four reserved ones included.
        model_type: ``"unigram"`` or ``"bpe"``.
        character_coverage: the share of the characters (by count) that get a piece of their own;
            1.0 keeps every character the texts hold.
        lowercase: normalize as ``Tokenizer(lowercase=True)`` does (the tokenizer must use the same).
        seed: SentencePiece's random generator seed.
        max_sentence_length: longer texts (in UTF-8 bytes) are left out of training.
        options: further ``sentencepiece.SentencePieceTrainer`` options (``split_digits=True``, ...),
            except those fixed here (reserved ids, byte fallback, threads, sampling, normalization).
    """
    import sentencepiece
    from sentencepiece import sentencepiece_model_pb2

    if isinstance(vocab_size, bool) or not isinstance(vocab_size, int) or vocab_size <= len(RESERVED):
        raise ValueError(f"vocab_size must be an integer above 4 (the reserved pieces), got {vocab_size!r}")
    if model_type not in MODEL_TYPES:
        raise ValueError(f"model_type must be one of {list(MODEL_TYPES)}, got {model_type!r}")
    if isinstance(character_coverage, bool) or not isinstance(character_coverage, (int, float)) \
            or not 0 < character_coverage <= 1:
        raise ValueError(f"character_coverage must be in (0, 1], got {character_coverage!r}")
    fixed = sorted(set(options) & (set(FIXED_OPTIONS) | {"normalization_rule_name", "normalization_rule_tsv",
                                                          "random_seed", "sentence_iterator", "model_writer",
                                                          "input", "model_prefix"}))
    if fixed:
        raise ValueError(f"train_sentencepiece fixes {fixed}: leave them out")
    sentences = normalized(texts, lowercase)
    if not sentences:
        raise ValueError("train_sentencepiece needs at least one text that is not empty or only whitespace")
    sentencepiece.set_random_generator_seed(seed)
    writer = io.BytesIO()
    with tempfile.TemporaryDirectory(prefix="zoo-spm-") as folder:
        rules = os.path.join(folder, "rules.tsv")
        with open(rules, "w", encoding="utf-8") as f:
            f.write(NORMALIZATION_RULES)
        try:
            sentencepiece.SentencePieceTrainer.train(
                sentence_iterator=iter(sentences), model_writer=writer, vocab_size=vocab_size, model_type=model_type,
                character_coverage=float(character_coverage), normalization_rule_tsv=rules,
                max_sentence_length=max_sentence_length, **FIXED_OPTIONS, **options)
        except RuntimeError as error:  # SentencePiece's checks (too few characters for vocab_size, ...)
            raise ValueError(f"SentencePiece training failed: {error}") from None
    proto = sentencepiece_model_pb2.ModelProto.FromString(writer.getvalue())
    proto.normalizer_spec.ClearField("normalization_rule_tsv")  # the temporary file's path
    model = proto.SerializeToString(deterministic=True)
    model_pieces(model)  # the checks every sentencepiece Tokenizer makes
    return model


def normalized(texts: Iterable[str], lowercase: bool = False) -> list[str]:
    """Texts -> their ``zoo.text.tokenizer.normalize``d forms, empty ones left out."""
    texts = list(texts)
    out = []
    for start in range(0, len(texts), NORMALIZE_CHUNK):
        chunk = tf.constant([t.encode("utf-8", "surrogatepass") if isinstance(t, str) else t
                             for t in texts[start:start + NORMALIZE_CHUNK]], tf.string)
        out += [s.decode("utf-8") for s in normalize(chunk, lowercase).numpy().tolist()]
    return [s for s in out if s]


def vocabulary_of(model: bytes) -> Vocabulary:
    """A SentencePiece model proto -> its ``Vocabulary``: the pieces in id order (ids 0..3 the reserved
    tokens, checked by ``zoo.text.tokenizer.model_pieces``)."""
    return Vocabulary(model_pieces(model))


def sentencepiece_tokenizer(model: bytes, lowercase: bool = False) -> Tokenizer:
    """The in-graph ``Tokenizer`` of a SentencePiece model (``lowercase`` as it was trained with)."""
    return Tokenizer(vocabulary_of(model), split="sentencepiece", lowercase=lowercase, model=model)
