"""The shipped g2p-luong model: one-line load, dictionary pronunciations, checksums, bad input."""
import json
import shutil

import pytest

import zoo
from zoo import hub
from zoo.data import cmudict


@pytest.fixture(scope="module")
def g2p():
    return zoo.load("g2p-luong")


def test_list_and_load_in_one_line(g2p):
    assert "g2p-luong" in zoo.list_models()
    hello, world = g2p.predict(["hello", "world"])
    references = cmudict.references("train")  # both words are training words with these variants
    assert references["hello"] == ["HH AH0 L OW1", "HH EH0 L OW1"] and references["world"] == ["W ER1 L D"]
    assert hello in references["hello"] and world == "W ER1 L D"


def test_predictions_are_case_and_whitespace_insensitive(g2p):
    assert g2p.predict(["  Hello ", "WORLD"]) == g2p.predict(["hello", "world"])


def test_metrics_file_meets_the_quality_bar():
    metrics = json.loads((hub.resolve("g2p-luong") / "metrics.json").read_text())
    assert metrics["decoding"] == "greedy"
    assert metrics["test"]["wer"] <= 30.0 and metrics["test"]["per"] <= 8.0
    assert metrics["test"]["count"] == 6295


def test_folder_is_small_and_checksummed():
    folder = hub.resolve("g2p-luong")
    assert sum(p.stat().st_size for p in folder.iterdir()) < 25 * 2**20
    listed = {line.split("  ")[1] for line in (folder / "checksums.sha256").read_text().splitlines()}
    assert listed == set(hub.FILES)


@pytest.mark.parametrize("damage", ["flip", "truncate", "delete"])
def test_damaged_file_is_a_clear_error_naming_it(tmp_path, damage):
    folder = tmp_path / "g2p-luong"
    shutil.copytree(hub.resolve("g2p-luong"), folder)
    weights = folder / "model.weights.h5"
    if damage == "flip":
        blob = bytearray(weights.read_bytes())
        blob[len(blob) // 2] ^= 0x01
        weights.write_bytes(bytes(blob))
    elif damage == "truncate":
        weights.write_bytes(weights.read_bytes()[:1000])
    else:
        weights.unlink()
    with pytest.raises(hub.ChecksumError, match="model.weights.h5"):
        zoo.load(folder)


def test_unknown_model_name_lists_the_known_ones():
    with pytest.raises(KeyError, match="Unknown model 'g2p-tranformer'.*g2p-luong"):
        zoo.load("g2p-tranformer")


def test_characters_outside_the_vocabulary_give_a_well_defined_output(g2p):
    outputs = g2p.predict(["r2d2", "café", "🙂hi", "naïve"])
    assert all(isinstance(o, str) and o for o in outputs)
    assert g2p.source_tokenizer.encode(["🙂"]).to_list() == [[3]]  # <unk>


@pytest.mark.parametrize("texts, error, message", [
    ([""], ValueError, r"texts\[0\] is empty or only whitespace"),
    (["ok", " \t\n"], ValueError, r"texts\[1\] is empty or only whitespace"),
    (["a" * 10_000], ValueError, r"texts\[0\] has 10000 tokens, more than this model's limit of 32"),
    (["ok", 42], TypeError, r"texts\[1\] must be a str, got int"),
    ([None], TypeError, r"texts\[0\] must be a str, got NoneType"),
    ("hello", TypeError, "texts must be a list of strings, got a single str"),
    (42, TypeError, "texts must be a list of strings, got int"),
])
def test_bad_input_is_a_clear_error(g2p, texts, error, message):
    with pytest.raises(error, match=message):
        g2p.predict(texts)


def test_empty_batch_gives_empty_output(g2p):
    assert g2p.predict([]) == []
