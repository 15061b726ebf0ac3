import numpy as np
import pytest
import tensorflow as tf

from zoo.text.tokenizer import Tokenizer
from zoo.text.vocab import END_ID, PAD_ID, START_ID, UNK_ID, Vocabulary


def test_reserved_ids_and_plain_text_round_trip(tmp_path):
    vocab = Vocabulary.build([list("hello"), list("world")])
    assert vocab.tokens[:4] == ["<pad>", "<s>", "</s>", "<unk>"]
    assert (PAD_ID, START_ID, END_ID, UNK_ID) == (0, 1, 2, 3)
    vocab.save(tmp_path / "vocab.txt")
    assert Vocabulary.load(tmp_path / "vocab.txt") == vocab
    assert (tmp_path / "vocab.txt").read_text().splitlines()[4] == "l"  # most frequent first


def test_char_tokenizer_encodes_in_graph_and_maps_unknowns_to_unk():
    vocab = Vocabulary(list("abcdefghijklmnopqrstuvwxyz'"))
    tokenizer = Tokenizer(vocab, split="chars", lowercase=True)
    ids = tokenizer.encode(tf.constant(["  Hello ", "naïve1😀"])).to_list()
    assert ids[0] == [vocab.id(c) for c in "hello"]
    assert ids[1] == [vocab.id("n"), vocab.id("a"), UNK_ID, vocab.id("v"), vocab.id("e"), UNK_ID, UNK_ID]
    assert tokenizer.detokenize(tf.constant([[vocab.id("h"), vocab.id("i"), END_ID, vocab.id("x")]])).numpy()[0] == b"hi"


def test_tokenizer_never_raises_on_invalid_utf8():
    tokenizer = Tokenizer(Vocabulary(list("ab")), split="chars")
    ids = tokenizer.encode(tf.constant([b"a\xff\xfeb", b""])).to_list()
    assert ids[0][0] == 4 and ids[0][-1] == 5 and UNK_ID in ids[0]
    assert ids[1] == []


def test_whitespace_tokenizer_round_trips():
    vocab = Vocabulary(["HH", "AH0", "L", "OW1"])
    tokenizer = Tokenizer(vocab, split="whitespace")
    ids = tokenizer.encode(tf.constant(["HH AH0  L OW1"]))
    padded = ids.to_tensor().numpy()
    assert vocab.tokens_of(padded[0]) == ["HH", "AH0", "L", "OW1"]
    assert tokenizer.detokenize(np.concatenate([padded, [[END_ID, PAD_ID]]], axis=1)).numpy()[0] == b"HH AH0 L OW1"


def test_text_spelling_a_control_token_is_unknown_not_that_control():
    vocab = Vocabulary(["HH", "AH0"])
    tokenizer = Tokenizer(vocab, split="whitespace")
    ids = tokenizer.encode(tf.constant(["<pad> HH <s> </s> <unk> AH0"])).to_list()[0]
    assert ids == [UNK_ID, vocab.id("HH"), UNK_ID, UNK_ID, UNK_ID, vocab.id("AH0")]  # found by hypothesis


def test_bad_vocabulary_and_split():
    with pytest.raises(ValueError, match="unique"):
        Vocabulary(["a", "a"])
    with pytest.raises(ValueError, match="split must be one of"):
        Tokenizer(Vocabulary(["a"]), split="bytes")


def test_graph_whitespace_is_pythons_isspace_over_every_code_point():
    """The in-graph rule and Python's agree on every Unicode scalar value (U+00A0, U+3000 and U+2028
    once reached the model as characters: an export pronounced them, see issue #27)."""
    from zoo.text.tokenizer import WHITESPACE

    code_points = [c for c in range(0x110000) if not 0xD800 <= c < 0xE000]  # no surrogates in UTF-8
    matched = tf.strings.regex_full_match(tf.constant([chr(c).encode("utf-8") for c in code_points]), WHITESPACE)
    assert {c for c, m in zip(code_points, matched.numpy()) if m} == {c for c in code_points if chr(c).isspace()}


@pytest.mark.parametrize("split", ["chars", "whitespace"])
def test_unicode_whitespace_is_trimmed_and_separates_words(split):
    tokenizer = Tokenizer(Vocabulary(list("ab")), split=split)
    spaces = "\u00a0\u3000\u2028\u2029\u0085\u200a\u1680\x1c\t"
    tokens = tokenizer.tokenize(tf.constant([spaces, f"{spaces}a\u00a0b\u3000", b"\xff\xc2\xa0a"])).to_list()
    assert tokens[0] == []  # only whitespace: nothing, so the frontend reports "is empty or only whitespace"
    assert tokens[1] == ([b"a", b" ", b"b"] if split == "chars" else [b"a", b"b"])
    assert tokens[2] == ([b"\xef\xbf\xbd", b" ", b"a"] if split == "chars" else [b"\xef\xbf\xbd", b"a"])
