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


# The G2P quality push is finished (issues #3 and #5): the shipped g2p-luong stands at these test figures, greedy and
# beam 4 (alpha 0), the ones in its metrics.json. The guards below evaluate it again on the whole test split and
# fail if it got worse. One word of the 6,295 is 0.016 points, so the tolerance lets no extra word go wrong.
SHIPPED = {"greedy": {"wer": 30.44, "per": 7.99}, "beam": {"wer": 30.44, "per": 8.01}}
TOLERANCE = 0.01


def test_list_and_load_in_one_line(g2p):
    assert "g2p-luong" in zoo.list_models()
    outputs = g2p.predict(["hello", "world"])
    assert len(outputs) == 2 and outputs[1] == "W ER1 L D"


def test_hello_world_get_the_dictionary_pronunciations(g2p):
    hello, world = g2p.predict(["hello", "world"])
    references = cmudict.references("train")  # both words are training words with these variants
    assert references["hello"] == ["HH AH0 L OW1", "HH EH0 L OW1"] and references["world"] == ["W ER1 L D"]
    assert hello in references["hello"] and world == "W ER1 L D"


def test_hello_world_get_the_dictionary_phonemes_when_stress_is_ignored(g2p):
    references = cmudict.references("train")
    for word, output in zip(["hello", "world"], g2p.predict(["hello", "world"])):
        assert cmudict.strip_stress(output) in {cmudict.strip_stress(r) for r in references[word]}, (word, output)


def test_predictions_are_case_and_whitespace_insensitive(g2p):
    assert g2p.predict(["  Hello ", "WORLD"]) == g2p.predict(["hello", "world"])


def metrics():
    return json.loads((hub.resolve("g2p-luong") / "metrics.json").read_text())


def test_metrics_file_records_greedy_and_beam_figures_on_the_whole_test_split():
    recorded = metrics()
    assert recorded["decoding"] == "greedy" and recorded["test"]["count"] == 6295
    beam = recorded["beam"]
    assert beam["strategy"]["beam_size"] == 4 and beam["test"]["count"] == 6295
    # the beam's alpha is chosen on dev, where the beam must not lose to greedy; on test it is level
    # with greedy for this distilled model (30.44 % both)
    assert beam["dev"]["wer"] <= recorded["dev"]["wer"] and beam["test"]["wer"] <= recorded["test"]["wer"]


def test_metrics_file_meets_the_phoneme_error_bar():
    assert metrics()["test"]["per"] <= 8.0


def test_metrics_file_records_the_shipped_figures():
    recorded = metrics()
    for name, figures in (("greedy", recorded["test"]), ("beam", recorded["beam"]["test"])):
        assert round(figures["wer"], 2) <= SHIPPED[name]["wer"], name
        assert round(figures["per"], 2) <= SHIPPED[name]["per"], name


def test_greedy_figures_are_no_worse_than_shipped(g2p):
    from zoo.evaluation import evaluate

    evaluated = evaluate(g2p, "cmudict", "test")  # greedy, the whole split
    assert evaluated["count"] == 6295
    assert evaluated["wer"] <= SHIPPED["greedy"]["wer"] + TOLERANCE, evaluated
    assert evaluated["per"] <= SHIPPED["greedy"]["per"] + TOLERANCE, evaluated


def test_metrics_file_meets_the_quality_bar_on_the_stress_free_benchmark_scoring():
    recorded = metrics()  # the usual CMUdict G2P scoring, which the published 23-28% / 6-8% use
    assert recorded["test"]["no_stress"]["wer"] <= 30.0 and recorded["test"]["no_stress"]["per"] <= 8.0
    # removing stress can only forgive errors
    assert recorded["test"]["no_stress"]["wer"] <= recorded["test"]["wer"]
    assert recorded["test"]["no_stress"]["per"] <= recorded["test"]["per"]


def test_beam_figures_are_no_worse_than_shipped_nor_than_greedy():
    # issue #5 closed with beam 4 level with greedy on test (30.44 % both; 0.11 better on dev): a model distilled
    # from an ensemble's best outputs leaves the beam little to find. The guard: it stays there. (That
    # `zoo evaluate` reproduces the card's beam figures is tests/test_cli.py's check.)
    recorded = metrics()
    beam, greedy = recorded["beam"]["test"], recorded["test"]
    assert recorded["beam"]["strategy"] == {"beam_size": 4, "alpha": 0.0} and beam["count"] == 6295
    assert beam["wer"] <= SHIPPED["beam"]["wer"] + TOLERANCE and beam["per"] <= SHIPPED["beam"]["per"] + TOLERANCE
    assert beam["wer"] <= greedy["wer"] + TOLERANCE, (beam, greedy)


def test_reranking_by_the_other_g2p_families_beats_beam_search(g2p):
    # g2p-bahdanau and g2p-gru, trained apart, are weaker but err elsewhere: their log-probabilities
    # (weights 0.5 and 0.5, chosen on the whole dev split) rerank g2p-luong's 4 candidates
    references = cmudict.references("dev")
    words = list(references)[:1000]
    rescorers = [(zoo.load("g2p-bahdanau"), 0.5), (zoo.load("g2p-gru"), 0.5)]
    beam = g2p.predict(words, beam_size=4, alpha=0.0)
    reranked = g2p.predict(words, beam_size=4, alpha=0.0, rescorers=rescorers)
    errors = {name: sum(output not in references[word] for word, output in zip(words, outputs))
              for name, outputs in (("beam", beam), ("reranked", reranked))}
    assert errors["reranked"] <= errors["beam"] - 20, errors  # 2 WER points on these 1,000 words


def test_tuning_finds_rescorer_weights_that_beat_the_beam_and_evaluate_reproduces_them(g2p):
    from zoo.evaluation import evaluate, tune_rescorers

    rescorers = [zoo.load("g2p-bahdanau"), zoo.load("g2p-gru")]
    tuned = tune_rescorers(g2p, "cmudict", rescorers, grid=(0.0, 0.75), max_examples=300)
    assert tuned["weights"] != [0.0, 0.0] and tuned["wer"] <= tuned["beam_wer"] - 2.0, tuned
    reranked = evaluate(g2p, "cmudict", "dev", max_examples=300, beam_size=4, alpha=0.0,
                        rescorers=list(zip(rescorers, tuned["weights"])))
    assert reranked["wer"] == pytest.approx(tuned["wer"])


def test_every_shipped_model_is_named_after_its_folder():
    for name in zoo.list_models():  # exports and TF Serving paths use the config's name
        config = json.loads((hub.resolve(name) / "config.json").read_text())
        assert config["name"] == name and zoo.load(name).name == name


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
    ("hello", TypeError, "texts must be a list( of strings)?, got a single str"),  # the frontend's wording, or the old
    (42, TypeError, "texts must be a list( of strings)?, got int"),
])
def test_bad_input_is_a_clear_error(g2p, texts, error, message):
    with pytest.raises(error, match=message):
        g2p.predict(texts)


def test_empty_batch_gives_empty_output(g2p):
    assert g2p.predict([]) == []
