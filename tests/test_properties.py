"""Property-based tests (hypothesis): tokenizers and predict never crash, and round-trip."""
import re

import numpy as np
import tensorflow as tf
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from zoo.text.tokenizer import CLOSING_MARK, MARK_PASSES, OPENING_MARK, Tokenizer
from zoo.text.vocab import END_ID, RESERVED, UNK, UNK_ID, Vocabulary

from test_subword import SPACES, texts as detokenized

ALPHABET = "abcdefghijklmnopqrstuvwxyz'-."
CHARS = Tokenizer(Vocabulary(list(ALPHABET)), split="chars", lowercase=True)
PHONEMES = ["AA1", "B", "CH", "D", "EH0", "ZH"]
WORDS = Tokenizer(Vocabulary(PHONEMES), split="whitespace")
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(st.text(alphabet=ALPHABET, min_size=0, max_size=40))
def test_chars_round_trip_on_the_vocabulary_alphabet(text):
    ids = CHARS.encode([text]).to_tensor()
    padded = np.concatenate([ids.numpy(), [[END_ID]]], axis=1)
    assert CHARS.detokenize(padded).numpy()[0].decode() == text.strip()


@SETTINGS
@given(st.lists(st.sampled_from(PHONEMES), max_size=12), st.sampled_from([" ", "  ", "\t", " \n "]))
def test_whitespace_round_trip(tokens, separator):
    ids = WORDS.encode([separator.join(tokens)]).to_tensor(shape=[1, max(1, len(tokens))])
    assert WORDS.detokenize(ids).numpy()[0].decode() == " ".join(tokens)


@SETTINGS
@given(st.lists(st.one_of(st.text(max_size=60), st.binary(max_size=60)), min_size=1, max_size=8))
def test_tokenizers_never_raise_and_map_the_unknown_to_unk(strings):
    for tokenizer in (CHARS, WORDS):
        ids = tokenizer.encode(tf.constant(strings)).to_list()
        assert len(ids) == len(strings)
        assert all(0 < i < len(tokenizer.vocabulary) for row in ids for i in row)  # never <pad>
    # every token after normalization (NFKC case folding: see the fixed cases below) is its vocabulary
    # id, or <unk> exactly when the vocabulary lacks it
    tokens = CHARS.tokenize(tf.constant(strings)).to_list()
    for row_tokens, row in zip(tokens, CHARS.encode(tf.constant(strings)).to_list()):
        expected = [CHARS.vocabulary.id(t.decode()) if t.decode() in ALPHABET else UNK_ID for t in row_tokens]
        assert row == expected


def test_case_folding_is_nfkc_casefold_and_the_rest_is_unknown():
    strings = ["º", "ﬁne", "ＡＢ", "Straße", "x\u00adz", "café", "A😀3"]
    folded = [[t.decode() for t in row] for row in CHARS.tokenize(tf.constant(strings)).to_list()]
    assert folded == [["o"], list("fine"), list("ab"), list("strasse"), list("xz"), list("café"), ["a", "😀", "3"]]
    ids = CHARS.encode(tf.constant(strings)).to_list()
    assert [row.count(UNK_ID) for row in ids] == [0, 0, 0, 0, 0, 1, 2]  # é, the emoji and the digit


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                               HealthCheck.function_scoped_fixture])
@given(st.lists(st.one_of(st.text(max_size=30), st.integers(), st.none(), st.binary(max_size=5)), max_size=6))
def test_predict_gives_strings_or_a_clean_error(toy_run, texts):
    predictor = toy_run[0]
    try:
        outputs = predictor.predict(texts, beam_size=1)  # input rules, not search: greedy keeps it fast
    except (ValueError, TypeError) as error:
        assert "texts[" in str(error)  # names the offending input
        return
    assert len(outputs) == len(texts) and all(isinstance(o, str) for o in outputs)


MARKS = ".,;:!?)]}([{"
# a run of more than MARK_PASSES closing marks at a word's end, or opening brackets at its start
LONG_RUN = re.compile(r"[.,;:!?)\]}]{%d,}( |$)|(^| )[(\[{]{%d,}" % (MARK_PASSES + 1, MARK_PASSES + 1))


def reference_words(normalized: str) -> list[str]:
    """The "words" split in Python ``re``, the patterns the graph reads with RE2."""
    for _ in range(MARK_PASSES):
        normalized = re.sub(CLOSING_MARK, r"\1 \2\3", normalized)
    for _ in range(MARK_PASSES):
        normalized = re.sub(OPENING_MARK, r"\1\2 \3", normalized)
    return normalized.split()


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(st.lists(st.one_of(st.sampled_from(MARKS), st.sampled_from(SPACES),
                                             st.sampled_from(["a", "Bé", "😀", "'", "+", "<s>", "<unk>"]),
                                             st.characters(codec="utf-8")), max_size=30).map("".join),
                          st.binary(max_size=30)), min_size=1, max_size=6))
def test_words_round_trip_to_the_same_characters_and_tokens(strings):
    """Property of the "words" split, for any text (marks, Unicode whitespace, emoji, bytes that are not UTF-8)
    and a vocabulary of all its tokens: the graph tokenizes as Python's ``re`` does with the same patterns;
    ``detokenize`` (graph) equals ``join`` (Python); the text it gives holds the tokens' characters in order,
    one space at most between them; it is a fixed point (tokenized and detokenized again it comes back) and,
    unless it has a run of more than MARK_PASSES marks at a word's edge, tokenizes back to the same tokens."""
    splitter = Tokenizer(Vocabulary([]), split="words")
    normalized = [s.decode("utf-8") for s in splitter.normalize(tf.constant(strings)).numpy()]
    tokens = [[t.decode("utf-8") for t in row] for row in splitter.tokenize(tf.constant(strings)).to_list()]
    assert tokens == [reference_words(text) for text in normalized]
    tokenizer = Tokenizer(Vocabulary.build(tokens), split="words")
    read = [[UNK if t in RESERVED else t for t in row] for row in tokens]  # "<s>" in a text is <unk>
    texts = detokenized(tokenizer, tokenizer.encode(tf.constant(strings)))
    assert texts == [tokenizer.join(row) for row in read]
    again = [[t.decode("utf-8") for t in row] for row in splitter.tokenize(tf.constant(texts)).to_list()]
    for text, row, spelled, original, back in zip(texts, read, tokens, normalized, again):
        assert "".join(spelled) == original.replace(" ", "")  # the tokens hold the text's characters, in order
        assert text.replace(" ", "") == "".join(row) and "  " not in text and text == text.strip(" ")
        assert tokenizer.join(back) == text
        if not LONG_RUN.search(text):
            assert back == row
