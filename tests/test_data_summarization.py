"""The Debian descriptions corpus (``zoo.data.summarization``): the committed snapshot and its checksum, the
cleaning, a split that does not leak, the stemmed ROUGE scorers and the extractive baselines."""
import collections
import pathlib
import re
import shutil

import pytest

from zoo import data
from zoo.data import scorers, summarization
from zoo.data.corpora import ChecksumError

CORPORA = pathlib.Path(__file__).resolve().parents[1] / "corpora"
# Pinned: published figures depend on these splits never changing.
SIZES = {"train": 53715, "dev": 2996, "test": 3078}


def test_registered_with_stemmed_rouge_selecting():
    declared = data.get("debian-descriptions")
    assert dict(declared.metrics) == {"rouge1": "rouge1_stem", "rouge2": "rouge2_stem", "rougeL": "rougeL_stem"}
    assert declared.selection == "rougeL" and declared.monitor == ("dev_rougeL", "max")
    assert declared.splits == ("train", "dev", "test")
    description, synopsis = data.load("debian-descriptions", "test")[0]
    assert data.references("debian-descriptions", "test")[description] == [synopsis]


def test_snapshot_sizes_per_split_and_ids():
    rows = summarization.rows()
    assert collections.Counter(split for split, *_ in rows) == SIZES
    ids = [package for _, package, _, _ in rows]
    assert ids == sorted(set(ids))  # unique binary package names, in order
    assert {split: len(data.load("debian-descriptions", split)) for split in SIZES} == SIZES


def test_checksum_is_listed_and_a_corrupted_copy_is_a_clear_error(tmp_path):
    assert summarization.verify() == CORPORA / summarization.SNAPSHOT
    for name in ("SHA256SUMS", summarization.SNAPSHOT):
        shutil.copy(CORPORA / name, tmp_path / name)
    snapshot = tmp_path / summarization.SNAPSHOT
    assert len(summarization.rows(tmp_path)) == sum(SIZES.values())
    summarization._rows.cache_clear()
    raw = bytearray(snapshot.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    snapshot.write_bytes(bytes(raw))
    with pytest.raises(ChecksumError, match=r"debian-descriptions\.tsv\.xz is corrupted or truncated"):
        summarization.rows(tmp_path)
    snapshot.unlink()
    with pytest.raises(ChecksumError, match=r"debian-descriptions\.tsv\.xz is missing.*build_summarization\.py"):
        summarization.rows(tmp_path)


def test_cleaning_rules_hold():
    descriptions = [description for _, _, description, _ in summarization.rows()]
    assert min(len(d.split()) for d in descriptions) >= summarization.MIN_WORDS
    assert len(set(descriptions)) == len(descriptions)  # a -dev/-doc sibling's repeat is kept once
    for _, package, description, synopsis in summarization.rows():
        for text in (description, synopsis):
            assert text and text == text.strip() and not re.search(r"\s\s|[\t\n\r]", text), package
    rows = {package: (description, synopsis) for _, package, description, synopsis in summarization.rows()}
    description, synopsis = rows["0ad-data"]  # two paragraphs, joined with a space
    assert synopsis == "Real-time strategy game of ancient warfare (data files)"
    assert description.endswith("game engine. This package contains the main data files required by 0 A.D.")


def test_no_test_description_opens_like_a_training_one():
    openings = collections.defaultdict(set)
    for split, _, description, _ in summarization.rows():
        openings[split].add(summarization.opening(description))
    assert not openings["test"] & openings["train"] and not openings["dev"] & openings["train"]
    assert not openings["test"] & openings["dev"]
    log = (CORPORA / "build_summarization.log").read_text(encoding="utf-8")
    leak = re.search(r"leak: ([\d.]+) % .* ([\d.]+) % by binary package", log)
    assert float(leak.group(1)) == 0 and float(leak.group(2)) > 40  # a split by package name would leak


def test_stemmed_rouge_by_hand():
    text = "Real-time strategy game of ancient warfare"
    for kind in ("rouge1", "rouge2", "rougeL"):
        assert scorers.get(f"{kind}_stem")([text], [[text]]) == pytest.approx(100.0)
    # stems: the cat are run / a cat run: 2 of 4 and 2 of 3 unigrams -> F1 4/7; no bigram in common;
    # without stemming no unigram is shared
    hypothesis, reference = "the cats are running", "a cat runs"
    assert scorers.get("rouge1_stem")([hypothesis], [[reference]]) == pytest.approx(400 / 7)
    assert scorers.get("rougeL_stem")([hypothesis], [[reference]]) == pytest.approx(400 / 7)
    assert scorers.get("rouge2_stem")([hypothesis], [[reference]]) == 0.0
    assert scorers.get("rouge1")([hypothesis], [[reference]]) == 0.0
    assert scorers.get("rougeL_stem").label == "ROUGE-L" and scorers.get("rougeL_stem").direction == "max"


def test_sentences_and_baselines_on_a_few_examples():
    assert summarization.sentences("It reads images, e.g. PNG. It is written in C. It runs 0 A.D. Empires "
                                   "(see \"Bar.\") Features: * a * b") == [
        "It reads images, e.g. PNG.", "It is written in C.", "It runs 0 A.D. Empires (see \"Bar.\")",
        "Features: * a * b"]
    assert summarization.sentences("no sentence ends here") == ["no sentence ends here"]
    pairs = [("Foo is a fast text editor for the console. It has many plugins and themes.", "fast text editor"),
             ("This library parses XML. It provides a streaming parser for large documents.", "streaming XML parser")]
    assert summarization.oracle(*pairs[1]) == "It provides a streaming parser for large documents."
    figures = summarization.baselines(pairs=pairs)
    assert list(figures) == ["first_sentence", "first_7_words", "oracle"]
    assert all(list(scores) == ["rouge1", "rouge2", "rougeL"] for scores in figures.values())
    # stems "fast text editor" and "stream xml parser" (not "pars"); first sentences: 3 of 9 and all 3 unigrams
    # -> F1 1/2, 1 of 4 and 1 of 3 -> 2/7; first 7 words: 3 of 7 and 3 of 3 -> 3/5, 1 of 7 and 1 of 3 -> 1/5;
    # oracle: the first sentence, then the second (2 of 8 and 2 of 3 unigrams -> 4/11, LCS the same)
    assert figures["first_sentence"]["rouge1"] == pytest.approx(100 * (1 / 2 + 2 / 7) / 2)
    assert figures["first_7_words"]["rouge1"] == pytest.approx(100 * (3 / 5 + 1 / 5) / 2)
    assert figures["oracle"]["rougeL"] == pytest.approx(100 * (1 / 2 + 4 / 11) / 2)
