"""Scorers (zoo.data.scorers) on hand-checked examples, and dataset declarations (zoo.data.dataset) driving
what evaluation reports, what training logs and which way checkpoints are selected."""
import json

import pytest

from zoo import data
from zoo.data import scorers
from zoo.data.dataset import Dataset, Monitor, ScoringView


def score(name, hypotheses, references):
    return scorers.get(name)(hypotheses, references)


# --- each scorer by hand ---------------------------------------------------------------------------

def test_sequence_error_and_exact_match_count_whole_outputs_any_reference_counting():
    hypotheses = ["HH AH0 L OW1", "HH EH0 L OW1", "W ER1 L D", ""]
    references = [["HH AH0 L OW1"], ["HH AH0 L OW1", "HH EH0 L OW1"], ["W ER1 L D Z"], ["K AE1 T"]]
    # right, right (its second reference), one phoneme short, empty: 2 of 4 wrong
    assert score("wer_sequence", hypotheses, references) == pytest.approx(50.0)
    assert score("exact_match", hypotheses, references) == pytest.approx(50.0)
    assert score("exact_match", ["a  b "], [["a b"]]) == 100.0  # tokens are compared, not spacing
    assert scorers.get("wer_sequence").direction == "min" and scorers.get("exact_match").direction == "max"


def test_token_error_rate_uses_the_closest_reference_and_its_length():
    # "a b" to "x y z": 3 edits; to "a b c": 1 deletion over 3 tokens -> the closest, 1/3
    assert score("per", ["a b"], [["x y z", "a b c"]]) == pytest.approx(100 / 3)
    # summed over examples: (1 + 0 + 2) edits / (3 + 1 + 2) reference tokens; the empty output deletes all
    assert score("per", ["a x c", "q", ""], [["a b c"], ["q"], ["m n"]]) == pytest.approx(300 / 6)


def test_word_error_rate_is_jiwers_on_single_references():
    import jiwer

    references, hypotheses = ["the cat sat", "on the mat"], ["the cat sit", "on mat"]
    expected = 100 * jiwer.wer(references, hypotheses)  # (1 substitution + 1 deletion) / 6 words
    assert score("wer", hypotheses, [[r] for r in references]) == pytest.approx(expected) == pytest.approx(100 / 3)
    # and with several references, the closest one
    assert score("wer", ["on the mat"], [["under a table", "on the mat"]]) == 0.0


def test_character_error_rate():
    import jiwer

    assert score("cer", ["abd", "helo"], [["abc"], ["hello"]]) == pytest.approx(100 * jiwer.cer(["abc", "hello"],
                                                                                               ["abd", "helo"]))
    assert score("cer", ["kitten"], [["sitting", "kitten"]]) == 0.0  # the closest reference
    assert score("cer", [""], [["ab"]]) == 100.0  # empty: every character deleted


def test_bleu_and_chrf():
    assert score("bleu", ["the cat is on the mat"], [["a dog barks", "the cat is on the mat"]]) == pytest.approx(100.0)
    assert score("chrf", ["the cat is on the mat"], [["the cat is on the mat"]]) == pytest.approx(100.0)
    assert score("bleu", [""], [["the cat is on the mat"]]) == 0.0
    assert score("chrf", [""], [["the cat"]]) == 0.0
    # examples with different numbers of references (sacrebleu's None-padded streams)
    both = score("chrf", ["abc", "xyz"], [["abc"], ["xyq", "xyz"]])
    assert both == pytest.approx(100.0)
    assert not scorers.get("bleu").percent and scorers.get("bleu").format(27.3) == "27.30"


def test_rouge_f1_by_hand():
    hypothesis, reference = "the cat sat", "the cat sat on the mat"
    # unigrams: precision 3/3, recall 3/6 -> F1 2/3; bigrams: 2/2 and 2/5 -> F1 4/7; LCS 3 -> as unigrams
    assert score("rouge1", [hypothesis], [[reference]]) == pytest.approx(200 / 3)
    assert score("rouge2", [hypothesis], [[reference]]) == pytest.approx(400 / 7)
    assert score("rougeL", [hypothesis], [[reference]]) == pytest.approx(200 / 3)
    # the best reference, then the mean over examples; an empty output scores 0
    assert score("rouge1", [hypothesis, ""], [["a dog", reference], ["a b"]]) == pytest.approx(100 / 3)


def test_the_g2p_bundle_keeps_its_keys_and_figures():
    from zoo.evaluation import sequence_scores

    hypotheses, references = ["a x c", ""], [["a b c"], ["m n"]]
    assert sequence_scores(hypotheses, references) == {"wer": 100.0, "per": pytest.approx(300 / 5), "count": 2}
    assert set(scorers.score(("cer", "bleu", "chrf"), hypotheses, references)) == {"cer", "bleu", "chrf"}


# --- the registry ------------------------------------------------------------------------------------

def test_unknown_names_are_clear_errors():
    with pytest.raises(ValueError, match=r"Unknown scorer 'wer_seq': the registered scorers are .*wer_sequence"):
        scorers.get("wer_seq")
    with pytest.raises(ValueError, match="Unknown scorer 'blue'"):
        Dataset(name="bad", references=dict, metrics={"bleu": "blue"}, selection="bleu")
    with pytest.raises(ValueError, match="selection 'wer' is not one of its metrics"):
        Dataset(name="bad", references=dict, metrics=["chrf"], selection="wer")
    with pytest.raises(ValueError, match="already registered"):
        scorers.register(scorers.get("chrf"))
    with pytest.raises(ValueError, match="already registered"):
        data.register(data.get("cmudict"))
    with pytest.raises(ValueError, match="no examples to score"):
        score("per", [], [])
    with pytest.raises(ValueError, match="2 hypotheses but 1 reference lists"):
        score("per", ["a", "b"], [["a"]])


def test_the_built_in_declarations_keep_the_published_keys():
    g2p, dates = data.get("cmudict"), data.get("dates")
    assert dict(g2p.metrics) == {"wer": "wer_sequence", "per": "per", "exact_match": "exact_match"}
    assert g2p.monitor == Monitor("dev_wer", "min") and g2p.shown == ("wer", "per")
    assert list(g2p.views["no_stress"].metrics) == ["wer", "per"]
    assert dates.selection == "wer" and dates.shown == ("exact_match", "wer")
    assert dates.extra_splits == ("test-formats",) and data.EXTRA_SPLITS["dates"] == ("test-formats",)
    from zoo.evaluation import by_alpha_key

    assert by_alpha_key("cmudict") == by_alpha_key("dates") == "dev_wer_by_alpha"  # as metrics.json has it
    # evaluate's keys are those the shipped folders record
    assert set(_recorded("dates-bahdanau")["test"]) == {*dates.metrics, "count", "seconds"}
    assert set(_recorded("g2p-luong")["test"]) == {*g2p.metrics, "count", "no_stress", "seconds"}
    assert set(_recorded("g2p-luong")["test"]["no_stress"]) == {"wer", "per", "count"}


def _recorded(name: str) -> dict:
    from zoo import hub

    return json.loads((hub.resolve(name) / "metrics.json").read_text())


# --- a dataset of its own: exact match and chrF, chrF selects -------------------------------------------

SPLIT_TEXTS = {"train": {"ab": ["ba"]}, "dev": {"abc": ["cba"], "xyz": ["zyx", "zxy"]}, "test": {"hello": ["olleh"]}}
REVERSED = Dataset(name="test-reversed-words", references=lambda split: SPLIT_TEXTS[split],
                   metrics=["exact_match", "chrf"], selection="chrf",
                   views={"upper": ScoringView(str.upper, ("exact_match",), "Upper-cased.")}, splits=(
                       "train", "dev", "test"), examples=("abc",), about="Made up for tests.")
if REVERSED.name not in data.names():
    data.register(REVERSED)


class Reverser:
    """Answers every source reversed; with ``alpha`` >= 1 it answers "zzz" instead (worse on chrF)."""

    class model:
        family = "fake"

        @staticmethod
        def count_params():
            return 0

    def predict(self, sources, beam_size=1, alpha=0.6, **_):
        return ["zzz" if alpha >= 1 else s[::-1] for s in sources]


def test_a_registered_dataset_is_known_to_the_data_functions():
    assert data.splits(REVERSED.name) == ("train", "dev", "test")
    assert data.load(REVERSED.name, "dev") == [("abc", "cba"), ("xyz", "zyx"), ("xyz", "zxy")]
    assert data.SCORING_VIEWS[REVERSED.name]["upper"] is str.upper
    assert REVERSED.name in data.names() and REVERSED.name not in data.DATASETS  # DATASETS: the built-in ones


def test_the_declaration_decides_what_evaluate_reports():
    from zoo.evaluation import evaluate

    scores = evaluate(Reverser(), REVERSED.name, "dev")
    assert list(scores) == ["exact_match", "chrf", "count", "upper", "seconds"]
    assert scores["exact_match"] == 100.0 and scores["chrf"] == pytest.approx(100.0) and scores["count"] == 2
    assert scores["upper"] == {"exact_match": 100.0, "count": 2}
    assert "wer" not in scores and "per" not in scores


def test_the_selection_metric_and_its_direction_choose_the_beam_alpha():
    from zoo.evaluation import evaluate_recipe

    metrics = evaluate_recipe(Reverser(), {"name": "reverser", "dataset": REVERSED.name}, alphas=(1.0, 0.0, 0.6))
    beam = metrics["beam"]
    assert beam["strategy"]["alpha"] == 0.0  # chrF is higher for 0.0 and 0.6 than for 1.0; ties go to the first
    assert beam["dev_chrf_by_alpha"]["1.0"] < beam["dev_chrf_by_alpha"]["0.0"] == beam["dev_chrf_by_alpha"]["0.6"]


def test_the_card_shows_the_declared_metrics():
    from zoo.evaluation import evaluate_recipe
    from zoo.packaging.card import model_card

    metrics = {**evaluate_recipe(Reverser(), {"name": "reverser", "dataset": REVERSED.name}), "epochs": 1}
    recipe = {"name": "reverser", "family": "luong", "dataset": REVERSED.name, "model": {}}
    card = model_card(recipe, metrics)
    assert "| split, decoding | examples | exact match % | chrF | exact match % upper |" in card
    assert "chosen on dev by chrF" in card and "with the best dev chrF" in card and "Made up for tests." in card
    assert 'model.predict(["abc"])' in card


def test_training_logs_every_declared_metric():
    from zoo.training.callbacks import SequenceMetrics

    logs = {}
    callback = SequenceMetrics(Reverser(), SPLIT_TEXTS["dev"], metrics=REVERSED.metrics)
    callback.on_epoch_end(0, logs)
    assert set(logs) == {"dev_exact_match", "dev_chrf"} and logs["dev_exact_match"] == 100.0
    logs = {}
    SequenceMetrics(Reverser(), SPLIT_TEXTS["dev"]).on_epoch_end(0, logs)  # no declaration: the text metrics
    assert set(logs) == {"dev_wer", "dev_per", "dev_exact_match", "dev_cer", "dev_bleu", "dev_chrf"}


class FakeFamily:
    """Writes the value it is told to the checkpoint file, so the test can see which epoch was kept."""
    value = None

    def save_weights(self, path):
        with open(path, "w") as f:
            f.write(str(self.value))


@pytest.mark.parametrize("mode, values, kept", [("max", [10.0, 30.0, 20.0], "30.0"), ("min", [10.0, 30.0, 5.0], "5.0")])
def test_the_checkpoint_keeps_the_best_value_in_the_metrics_direction(tmp_path, mode, values, kept):
    from zoo.training.callbacks import AtomicCheckpoint

    family = FakeFamily()
    checkpoint = AtomicCheckpoint(str(tmp_path), family, monitor="dev_chrf", mode=mode)
    for epoch, value in enumerate(values):
        family.value = value
        checkpoint.on_epoch_end(epoch, {"dev_chrf": value})
    assert (tmp_path / "best.weights.h5").read_text() == kept
    state = json.loads((tmp_path / "state.json").read_text())
    assert state == {"epoch": 3, "monitor": "dev_chrf", "mode": mode, "best": float(kept)}
    # a resumed run keeps that best value only when it watches the same thing the same way
    assert AtomicCheckpoint(str(tmp_path), family, monitor="dev_chrf", mode=mode).best == float(kept)
    assert AtomicCheckpoint(str(tmp_path), family, monitor="dev_wer", mode=mode).best is None


def test_the_monitor_and_the_plateau_follow_the_declaration():
    import keras

    from zoo.training.schedule import lr_callback

    assert REVERSED.monitor == Monitor("dev_chrf", "max")
    recipe = {"dataset": REVERSED.name, "plateau": {"factor": 0.5, "patience": 2}}
    callback = lr_callback(recipe)
    assert isinstance(callback, keras.callbacks.ReduceLROnPlateau)
    assert (callback.monitor, callback.mode) == ("dev_chrf", "max")


def test_zoo_arrays_selects_by_exact_matches_or_else_by_dev_cross_entropy():
    from zoo.training import arrays

    assert scorers.get("exact_match").from_sequence_error(12.5) == 87.5
    assert arrays._selection("cmudict") == {"metric": "wer", "scorer": "wer_sequence"}
    assert arrays._selection(REVERSED.name) == {"metric": "chrf", "scorer": "chrf", "proxy": "token_cross_entropy"}
    with pytest.raises(ValueError, match="cannot compute the selection metric 'chrf'"):
        arrays._from_sequence_error("chrf", "chrf")


def test_sources_may_be_bytes():
    audio = Dataset(name="test-bytes-sources", references=lambda split: {b"\x00\x01": ["hi"], b"\x02": ["yo"]},
                    metrics={"wer": "wer", "cer": "cer"}, selection="wer")
    if audio.name not in data.names():
        data.register(audio)
    assert data.sources(audio.name) == {b"\x00\x01", b"\x02"}
    assert data.load(audio.name, "test") == [(b"\x00\x01", "hi"), (b"\x02", "yo")]
    assert audio.score(["hi", "ya"], [["hi"], ["yo"]]) == {"wer": 50.0, "cer": 25.0}
