"""Step-wise ensembles (zoo.models.ensemble): the mixture, its decoding, its folder and its errors.

The model-level tests run on every backend; the pretrained g2p-ensemble and the CLI use TensorFlow."""
import itertools
import json
import shutil

import keras
import numpy as np
import pytest

from zoo.decoding import BeamSearch, Greedy, Sampling, search
from zoo.models import Bahdanau, Cho, Luong
from zoo.models.ensemble import Ensemble
from zoo.text.vocab import END_ID, PAD_ID, START_ID
from zoo.decoding import source_inputs

SOURCE = np.array([[4, 5, 6, 7], [8, 9, 0, 0], [10, 11, 4, 0]], "int32")
STRATEGIES = [Greedy(), BeamSearch(3, alpha=0.6, n_best=3), Sampling(seed=3, num_samples=2)]


@pytest.fixture(scope="module")
def members():
    """Three untrained tiny families of different sizes sharing vocabularies (source 12, target 9)."""
    keras.utils.set_random_seed(11)
    return [Luong(12, 9, embedding_dim=6, encoder_units=5, units=8, score="general"),
            Bahdanau(12, 9, embedding_dim=4, encoder_units=6, units=7),
            Cho(12, 9, embedding_dim=5, encoder_units=4, units=6)]


def twin(model):
    """A second model with the same architecture and weights."""
    copy = type(model).from_config(model.get_config())
    copy.trainer.set_weights(model.trainer.get_weights())
    return copy


def assert_same_decoding(a, b, atol=1e-4):
    np.testing.assert_array_equal(np.asarray(a.ids), np.asarray(b.ids))
    np.testing.assert_array_equal(np.asarray(a.lengths), np.asarray(b.lengths))
    np.testing.assert_allclose(np.asarray(a.scores), np.asarray(b.scores), atol=atol)
    np.testing.assert_allclose(np.asarray(a.attention), np.asarray(b.attention), atol=1e-5)


def softmax(logits):
    e = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_ensemble_of_one_model_decodes_as_that_model(members, strategy):
    assert_same_decoding(search(Ensemble(members[:1]), SOURCE, strategy, max_length=6),
                         search(members[0], SOURCE, strategy, max_length=6))


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_a_mixture_of_identical_models_decodes_as_one_of_them(members, strategy):
    ensemble = Ensemble([members[1], twin(members[1])], weights=[1.0, 3.0])
    assert_same_decoding(search(ensemble, SOURCE, strategy, max_length=6), search(members[1], SOURCE, strategy, max_length=6))


def test_trainer_gives_the_weighted_mixture_of_the_members_distributions(members):
    weights = [0.5, 0.3, 0.2]
    decoder_input = np.array([[START_ID, 3, 4, 5], [START_ID, 6, 0, 0], [START_ID, 7, 8, 0]], "int32")
    inputs = {**source_inputs(SOURCE), "decoder_input": decoder_input}
    mixture = sum(w * softmax(np.asarray(m.trainer(inputs), "float64")) for w, m in zip(weights, members))
    ensemble = Ensemble(members, weights=[5, 3, 2])  # normalised to sum to 1
    assert ensemble.weights == pytest.approx(weights)
    np.testing.assert_allclose(np.exp(np.asarray(ensemble.trainer(inputs))), mixture, atol=1e-5)


@pytest.mark.parametrize("strategy", STRATEGIES[:2])
def test_decoded_scores_are_the_mixtures_teacher_forced_log_probabilities(members, strategy):
    ensemble = Ensemble(members, weights=[0.5, 0.3, 0.2])
    out = search(ensemble, SOURCE, strategy, max_length=6)
    ids, lengths, scores = (np.asarray(x) for x in (out.ids, out.lengths, out.scores))
    for row, rank in itertools.product(range(len(SOURCE)), range(strategy.n_best)):
        length = int(lengths[row, rank])
        emitted = ids[row, rank, :length + 1] if length < 6 and ids[row, rank, length] == END_ID else ids[row, rank, :length]
        decoder_input = np.concatenate([[START_ID], emitted[:-1]])[None].astype("int32")
        log_mixture = np.array(ensemble.trainer({**source_inputs(SOURCE[row:row + 1]), "decoder_input": decoder_input}))[0]
        log_mixture[:, [PAD_ID, START_ID]] = -1e9  # decoding never emits them: renormalise without them
        log_probs = np.asarray(keras.ops.log_softmax(log_mixture, axis=-1))
        np.testing.assert_allclose(scores[row, rank], log_probs[np.arange(len(emitted)), emitted].sum(), atol=1e-4)
        if isinstance(strategy, Greedy):
            np.testing.assert_array_equal(np.argmax(log_probs, axis=-1), emitted)


def first_step(model):
    """The attention (batch, src_len) of one decoder step from <s> on SOURCE."""
    context, state = model.encode(source_inputs(SOURCE))
    tokens = keras.ops.full((len(SOURCE),), START_ID, "int32")
    _, attention, _ = model.step(tokens, context, state)
    return np.asarray(attention)


def test_attention_is_the_weighted_mean_over_the_members_that_attend(members):
    luong, bahdanau, cho = members  # cho has no attention: it reports zeros and is left out
    assert not Ensemble([cho]).has_attention
    np.testing.assert_allclose(first_step(Ensemble([luong, cho], weights=[0.2, 0.8])), first_step(luong), atol=1e-6)
    expected = 0.25 * first_step(luong) + 0.75 * first_step(bahdanau)
    np.testing.assert_allclose(first_step(Ensemble([luong, bahdanau, cho], weights=[1, 3, 4])), expected, atol=1e-6)

    out = search(Ensemble(members), SOURCE, BeamSearch(3, n_best=2), max_length=6)
    weights = np.asarray(out.attention)  # (batch, n_best, max_length, src_len)
    emitted = np.arange(6)[None, None, :] <= np.asarray(out.lengths)[:, :, None]  # tokens and </s>
    emitted &= np.arange(6)[None, None, :] < 6
    np.testing.assert_allclose(weights.sum(axis=-1)[emitted], 1.0, atol=1e-5)
    assert np.all(weights[np.broadcast_to((SOURCE == PAD_ID)[:, None, None, :], weights.shape)] == 0.0)


def test_state_and_parameters_cover_every_member(members):
    ensemble = Ensemble(members)
    _, state = ensemble.encode(source_inputs(SOURCE))
    assert [list(s) for s in state["members"]] == [list(m.state_names) for m in members]
    assert ensemble.count_params() == sum(m.count_params() for m in members)
    assert len(ensemble.trainer.weights) == sum(len(m.trainer.weights) for m in members)


@pytest.mark.parametrize("weights, message", [
    ([1.0], "one number per member"),
    ([1.0, 0.0, 1.0], r"weights\[1\] must be a finite number > 0"),
    ([1.0, -2.0, 1.0], r"weights\[1\]"),
    ([1.0, True, 1.0], r"weights\[1\]"),
    ([1.0, float("inf"), 1.0], r"weights\[1\]"),
])
def test_bad_weights_are_clear_errors(members, weights, message):
    with pytest.raises(ValueError, match=message):
        Ensemble(members, weights)


def test_members_must_share_the_target_vocabulary(members):
    with pytest.raises(ValueError, match=r"share their target vocabulary, got sizes \[9, 10\]"):
        Ensemble([members[0], Luong(12, 10, embedding_dim=4, encoder_units=4, units=4)])
    with pytest.raises(ValueError, match="at least one member"):
        Ensemble([])


# --- pretrained ensembles (TensorFlow backend) ---------------------------------------------------

needs_tensorflow = pytest.mark.skipif(keras.backend.backend() != "tensorflow",
                                      reason="pretrained folders and the CLI are tested on the TensorFlow backend")


@pytest.fixture(scope="module")
def g2p_ensemble():
    import zoo

    return zoo.load("g2p-ensemble")


@needs_tensorflow
def test_g2p_ensemble_loads_by_name_and_says_hello(g2p_ensemble):
    import zoo
    from zoo.data import cmudict

    config = json.loads((zoo.hub.resolve("g2p-ensemble") / "config.json").read_text())
    assert config["family"] == "ensemble" and g2p_ensemble.name == "g2p-ensemble"
    assert len(g2p_ensemble.model.members) == len(config["members"]) >= 2
    references = cmudict.references("train")  # both are training words; g2p-luong's stage 3 alone said HH EH1 L OW0
    hello, world = g2p_ensemble.predict(["hello", "world"])
    assert hello in references["hello"] and world == "W ER1 L D"


@needs_tensorflow
def test_g2p_ensemble_beats_every_member_and_zoo_evaluate_reproduces_its_card(capsys):
    import re

    from zoo import cli, hub

    metrics = json.loads((hub.resolve("g2p-ensemble") / "metrics.json").read_text())
    for member in metrics["members"]:
        member_test = json.loads((hub.resolve(member) / "metrics.json").read_text())["test"]
        # 1.27 points better than g2p-luong, distilled from earlier ensembles of these families; 3.9+ than the rest
        assert metrics["test"]["wer"] <= member_test["wer"] - 1.0, member
    # greedy only: that `zoo evaluate` reproduces a card's beam figures too is tests/test_cli.py's check (g2p-luong);
    # the ensemble's 6,295 test words with beam 4 would add a minute here
    assert cli.main(["evaluate", "g2p-ensemble", "--split", "test", "--beam", "1"]) == 0
    out = capsys.readouterr().out
    printed = re.findall(r"\((greedy|beam \d+)\): WER (\d+\.\d+)%  PER (\d+\.\d+)%", out)
    assert printed == [("greedy", f"{metrics['test']['wer']:.2f}", f"{metrics['test']['per']:.2f}")], out


@needs_tensorflow
def test_g2p_ensemble_meets_the_quality_bar_greedy_and_with_beam_search():
    """Issue #3's bar (test WER <= 30 %, PER <= 8 %, stress scored) for the zoo's best G2P model: met
    greedy and with beam 4, the decoding its export serves (the card has both)."""
    from zoo import hub

    metrics = json.loads((hub.resolve("g2p-ensemble") / "metrics.json").read_text())
    greedy, beam = metrics["test"], metrics["beam"]["test"]
    assert greedy["count"] == beam["count"] == 6295
    assert greedy["wer"] <= 30.0 and greedy["per"] <= 8.0, greedy
    assert beam["wer"] <= 30.0 and beam["per"] <= 8.0, beam


@needs_tensorflow
def test_ensemble_folder_is_checksummed_and_a_damaged_member_is_named(tmp_path):
    from zoo import hub

    folder = hub.resolve("g2p-ensemble")
    listed = {line.split("  ")[1] for line in (folder / "checksums.sha256").read_text().splitlines()}
    assert listed == set(hub.ENSEMBLE_FILES) == {p.name for p in folder.iterdir()} - {"checksums.sha256"}

    copy = tmp_path / "g2p-ensemble"
    shutil.copytree(folder, copy)
    (copy / "README.md").write_text("edited")
    with pytest.raises(hub.ChecksumError, match="README.md"):
        hub.load(copy)

    member = tmp_path / "member"
    shutil.copytree(hub.resolve("g2p-gru"), member)
    (member / "model.weights.h5").write_bytes((member / "model.weights.h5").read_bytes()[:1000])
    with pytest.raises(hub.ChecksumError, match="member.*model.weights.h5"):
        hub.ensemble(["g2p-luong", str(member)])


@needs_tensorflow
def test_members_must_share_tokenizers_and_exist(toy_run):
    from zoo import hub

    with pytest.raises(ValueError, match=r"member '.*pretrained': its source_tokenizer .* differs from 'g2p-luong'"):
        hub.ensemble(["g2p-luong", str(toy_run[2] / "pretrained")])
    with pytest.raises(KeyError, match="Unknown model 'g2p-nonesuch'"):
        hub.ensemble(["g2p-luong", "g2p-nonesuch"])
    with pytest.raises(ValueError, match="member 'g2p-ensemble' is itself an ensemble"):
        hub.ensemble(["g2p-luong", "g2p-ensemble"])
    with pytest.raises(ValueError, match="members must be a list"):
        hub.ensemble("g2p-luong")
    with pytest.raises(ValueError, match="one number per member"):
        hub.ensemble(["g2p-luong", "g2p-gru"], weights=[1.0])


@needs_tensorflow
def test_cli_packages_an_ensemble_that_loads_predicts_and_lists(toy_run, tmp_path, capsys):
    import zoo
    from zoo import cli

    toy = str(toy_run[2] / "pretrained")
    out = tmp_path / "toy-ensemble"
    assert cli.main(["ensemble", toy, toy, "--weights", "1", "3", "--output", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "toy-ensemble test (greedy): WER" in printed and "(beam 4)" in printed
    ensemble = zoo.load(out)
    config = json.loads((out / "config.json").read_text())
    assert config["members"] == [toy, toy] and config["weights"] == [0.25, 0.75]
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["test"]["wer"] == pytest.approx(toy_run[1]["test"]["wer"])  # identical members: same model
    assert "| test, greedy |" in (out / "README.md").read_text()
    assert ensemble.predict(["4493", "115"]) == toy_run[0].predict(["4493", "115"]) == ["3 9 4 4", "5 1 1"]
    assert cli.main(["predict", str(out), "4493", "--beam", "3", "--n-best", "2"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2 and lines[0].startswith("4493\t3 9 4 4\t")


@needs_tensorflow
def test_cli_ensemble_errors_are_one_line(toy_run, tmp_path, capsys):
    from zoo import cli

    toy = str(toy_run[2] / "pretrained")
    assert cli.main(["ensemble", toy, toy, "--weights", "1", "--output", str(tmp_path / "x")]) == 2
    assert "error: weights must hold one number per member (2)" in capsys.readouterr().err
    assert cli.main(["ensemble", "g2p-luong", toy, "--output", str(tmp_path / "x")]) == 2
    assert "differs from 'g2p-luong'" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


@needs_tensorflow
def test_an_ensemble_truncates_long_inputs_where_every_member_does(tmp_path):
    from zoo import hub
    from zoo.predictor import Predictor

    from test_families import tiny_predictor

    tiny = tiny_predictor("luong")
    folders = {truncate: str(hub.save(Predictor(tiny.model, tiny.source_tokenizer, tiny.target_tokenizer,
                                                max_source_length=4, max_target_length=5, truncate_source=truncate),
                                      tmp_path / f"truncate-{truncate}", {}, "# card\n"))
               for truncate in (True, False)}
    cutting = hub.ensemble([folders[True], folders[True]])
    cut, opening = cutting.predict(["31415926", "3141"])
    assert cutting.frontend.truncate and cut == opening
    with pytest.raises(ValueError, match=r"texts\[0\] has 8 tokens, more than this model's limit of 4"):
        hub.ensemble([folders[True], folders[False]]).predict(["31415926"])
