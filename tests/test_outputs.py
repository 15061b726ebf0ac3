"""zoo.evaluation.outputs: what outputs are made of (copies, rare reference words written, stutter)."""
import pytest

from zoo.evaluation.outputs import output_statistics
from zoo.text.tokenizer import Tokenizer
from zoo.text.vocab import Vocabulary

TOKENIZER = Tokenizer(Vocabulary(["library", "for", "the", "files", "(", ")", "."]), split="words", lowercase=True)


def test_copies_rare_reference_words_and_stutter_are_counted():
    hypotheses = ["library for libfoo", "the the the files", "Library for the xyzzy files."]
    references = [["library for libfoo (tools)"], ["files for the"], ["library for xyzzy", "other"]]
    stats = output_statistics(hypotheses, references, TOKENIZER)
    # output tokens: 3 + 4 + 6 = 13; outside the vocabulary: libfoo, xyzzy
    assert stats["copied"] == pytest.approx(100 * 2 / 13, abs=0.01)
    # reference tokens outside the vocabulary: libfoo, tools (first example), xyzzy (third): 2 of 3 written
    assert stats["reference_oov"] == 3
    assert stats["reference_oov_produced"] == pytest.approx(100 * 2 / 3, abs=0.01)
    assert stats["repeat_3"] == pytest.approx(100 / 3, abs=0.01)
    assert stats["unknown"] == 0.0


def test_outputs_only_from_the_vocabulary_copy_nothing_and_unknown_words_are_counted():
    stats = output_statistics(["the files", "library for the <unk> ."], [["files"], ["library"]], TOKENIZER)
    assert stats == {"copied": 0.0, "reference_oov_produced": 0.0, "reference_oov": 0, "unknown": 14.29,
                     "repeat_3": 0.0}


def test_mismatched_lengths_are_a_clear_error():
    with pytest.raises(ValueError, match="2 hypotheses but 1 reference lists"):
        output_statistics(["a", "b"], [["a"]], TOKENIZER)
