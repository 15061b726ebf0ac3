import numpy as np
import pytest
import tensorflow as tf

from zoo.text.tokenizer import Tokenizer
from zoo.text.vocab import END_ID, PAD_ID, START_ID, UNK_ID, Vocabulary

from test_subword import texts as detokenized


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


# --- the "words" split: punctuation at a word's edges apart -----------------------------------------

def words(texts, lowercase=False) -> list[list[str]]:
    """The "words" split's tokens of each text."""
    rows = Tokenizer(Vocabulary([]), split="words", lowercase=lowercase).tokenize(tf.constant(texts)).to_list()
    return [[t.decode("utf-8") for t in row] for row in rows]


def words_tokenizer(texts, lowercase=False) -> Tokenizer:
    """A "words" tokenizer whose vocabulary holds every token of ``texts``."""
    return Tokenizer(Vocabulary.build(words(texts, lowercase)), split="words", lowercase=lowercase)


WORDS = {  # text -> its tokens; each text is its tokens' detokenization
    "Library for XML files (development files).": ["Library", "for", "XML", "files", "(", "development", "files",
                                                   ")", "."],
    "e.g. c++, python3.11; don't!": ["e.g", ".", "c++", ",", "python3.11", ";", "don't", "!"],
    "[a] {b}: c? (d), e.": ["[", "a", "]", "{", "b", "}", ":", "c", "?", "(", "d", ")", ",", "e", "."],
    "Why?! (...)": ["Why", "?", "!", "(", ".", ".", ".", ")"],
    # a token that only starts or ends with a mark keeps its spaces
    "Parser for .desktop files": ["Parser", "for", ".desktop", "files"],
    "a ,b x :-) f( y": ["a", ",b", "x", ":-", ")", "f(", "y"],
}


def test_words_split_sets_edge_punctuation_apart_and_detokenizes_back():
    texts = list(WORDS)
    assert words(texts) == list(WORDS.values())
    tokenizer = words_tokenizer(texts)
    assert detokenized(tokenizer, tokenizer.encode(tf.constant(texts))) == texts
    assert [tokenizer.join(tokens) for tokens in WORDS.values()] == texts


def test_words_split_keeps_marks_inside_words_and_splits_at_most_mark_passes_of_a_run():
    from zoo.text.tokenizer import MARK_PASSES

    assert MARK_PASSES == 3
    assert words(["e.g", "c++", "python3.11", "don't", "a.b,c", "x-(y)z"]) == [
        ["e.g"], ["c++"], ["python3.11"], ["don't"], ["a.b,c"], ["x-(y)z"]]
    assert words(["files).", "x....", "((((x", "....", "(", "()"]) == [
        ["files", ")", "."], ["x.", ".", ".", "."], ["(", "(", "(", "(x"], [".", ".", ".", "."], ["("], ["(", ")"]]


def test_words_detokenization_closes_the_gaps_at_marks_the_way_join_does():
    spaced = ["Hello ) world", "A ( B", "x . . . .", "( x ) , y [ ] ."]
    tokenizer = words_tokenizer(spaced)
    tokens = words(spaced)
    closed = ["Hello) world", "A (B", "x....", "(x), y []."]
    assert detokenized(tokenizer, tokenizer.encode(tf.constant(spaced))) == closed
    assert [tokenizer.join(row) for row in tokens] == closed
    # mostly the same tokens again; a run of more than MARK_PASSES marks stays partly attached
    assert words(closed) == tokens[:2] + [["x.", ".", ".", "."]] + tokens[3:]
    ids = tf.constant([[tokenizer.vocabulary.id("("), UNK_ID, tokenizer.vocabulary.id(")"), END_ID, PAD_ID],
                       [START_ID, UNK_ID, tokenizer.vocabulary.id("."), PAD_ID, PAD_ID]])
    assert [t.decode() for t in tokenizer.detokenize(ids).numpy()] == ["(<unk>)", "<unk>."]


def test_words_split_with_lowercase_folds_before_splitting():
    texts = ["Library FOR XML Files (Development).", "ＡＢＣ\u3000（Ｄｅｖ）"]  # full-width brackets fold to ( )
    assert words(texts, lowercase=True) == [["library", "for", "xml", "files", "(", "development", ")", "."],
                                            ["abc", "(", "dev", ")"]]
    tokenizer = words_tokenizer(texts, lowercase=True)
    assert tokenizer.get_config() == {"split": "words", "lowercase": True}
    assert detokenized(tokenizer, tokenizer.encode(tf.constant(texts))) == ["library for xml files (development).",
                                                                         "abc (dev)"]


# --- the text frontend's length limit: refuse, or truncate ---------------------------------------

def test_a_truncating_text_frontend_reads_a_long_sources_first_max_length_tokens():
    from zoo.frontends import TextFrontend

    long = "zebu the (kofi) mapo, the zebu."  # 10 tokens
    tokenizer = words_tokenizer([long])
    cutting, refusing = TextFrontend(tokenizer, 4, truncate=True), TextFrontend(tokenizer, 4)
    assert cutting.get_config() == {"kind": "text", "max_length": 4, "max_oov": 0, "truncate": True}
    assert refusing.get_config()["truncate"] is False
    batch = tf.constant([long, "the kofi", " "])
    out = cutting.decode(batch)
    assert [e.decode() for e in out["error"].numpy()] == ["", "", "is empty or only whitespace"]
    assert out["source_length"].numpy().tolist() == [4, 2, 1]
    assert [t.decode() for t in out["source_tokens"].numpy()[0]] == ["zebu", "the", "(", "kofi"]
    np.testing.assert_array_equal(out["source"].numpy()[0], tokenizer.encode(tf.constant([long])).to_list()[0][:4])
    refused = refusing.decode(batch)
    assert [e.decode() for e in refused["error"].numpy()] == [
        "has 10 tokens, more than this model's limit of 4", "", "is empty or only whitespace"]
    assert refused["source_length"].numpy().tolist() == [1, 2, 1]
    for key in ("source", "source_tokens"):  # a row that fits reads the same either way
        np.testing.assert_array_equal(refused[key].numpy()[1, :2], out[key].numpy()[1, :2])
    # a copy model's extended ids number the kept tokens ("(" and "kofi" too: the target vocabulary lacks them)
    target = Tokenizer(Vocabulary(["the"]), split="words")
    copying = TextFrontend(tokenizer, 4, copy_vocabulary=target, max_oov=5, truncate=True)
    size = len(target.vocabulary)
    np.testing.assert_array_equal(copying.decode(tf.constant([long]))["source_extended"].numpy(),
                                  [[size, target.vocabulary.id("the"), size + 1, size + 2]])
