"""Weight averaging (``zoo.average`` / ``zoo average``): the mean of fine-tunes of one model."""
import json
import shutil

import numpy as np
import pytest

import zoo
from zoo import data, hub
from zoo.cli import main
from zoo.evaluation import evaluate
from zoo.models import Luong
from zoo.packaging.averaging import package_average
from zoo.predictor import Predictor
from zoo.training.train import train

from conftest import TOY_RECIPE


@pytest.fixture(scope="module")
def fine_tunes(toy_run, tmp_path_factory):
    """Two 1-epoch fine-tunes of the toy model, with other seeds and dropouts -> their folders."""
    start = str(toy_run[2] / "pretrained")
    root = tmp_path_factory.mktemp("fine-tunes")
    folders = []
    for seed, dropout in ((2, 0.0), (3, 0.1)):
        recipe = {**TOY_RECIPE, "name": f"toy-tune-{seed}", "init_from": start, "epochs": 1, "seed": seed,
                  "learning_rate": 0.002, "model": {**TOY_RECIPE["model"], "dropout": dropout}}
        train(recipe, root / f"run-{seed}", output=root / f"tune-{seed}", verbose=0, attention_examples=0)
        folders.append(str(root / f"tune-{seed}"))
    return folders


def test_the_average_is_the_elementwise_mean_of_the_weights(fine_tunes):
    members = [zoo.load(folder).model.trainer.get_weights() for folder in fine_tunes]
    assert any(not np.array_equal(a, b) for a, b in zip(*members))  # the fine-tunes did move apart
    averaged = zoo.average(fine_tunes).model.trainer.get_weights()
    assert len(averaged) == len(members[0])
    for mean, a, b in zip(averaged, *members):
        assert mean.dtype == a.dtype
        np.testing.assert_allclose(mean, (a.astype(np.float64) + b) / 2, atol=1e-6)


def test_averaging_a_model_with_itself_changes_no_output(toy_run):
    folder = str(toy_run[2] / "pretrained")
    sources = list(data.references("toy-reverse", "dev"))[:100]
    assert zoo.average([folder, folder]).predict(sources, beam_size=3) == zoo.load(folder).predict(sources, beam_size=3)


def test_the_average_of_fine_tunes_still_solves_the_task(fine_tunes):
    """Fine-tunes of one model share its basin, so their mean is a working model (the toy bar: >= 95 %)."""
    result = evaluate(zoo.average(fine_tunes), "toy-reverse", "dev")
    assert result["exact_match"] >= 95.0, result


def test_zoo_average_writes_a_verified_folder_with_results_and_card(fine_tunes, tmp_path, capsys):
    output = tmp_path / "toy-soup"
    assert main(["average", *fine_tunes, "--output", str(output)]) == 0
    printed = capsys.readouterr().out
    assert "toy-soup test (greedy): WER" in printed and "toy-soup test (beam 4): WER" in printed

    model = zoo.load(output)  # checksums verified
    config = json.loads((output / "config.json").read_text())
    assert config["averaged"] == fine_tunes and config["name"] == "toy-soup" and config["dataset"] == "toy-reverse"
    assert config["model"]["dropout"] == 0.0  # the first model's config
    metrics = json.loads((output / "metrics.json").read_text())
    for entry, folder in zip(metrics["averaged"], fine_tunes):
        own = json.loads((hub.resolve(folder) / "metrics.json").read_text())
        assert entry["model"] == folder and entry["recipe"] == json.loads((hub.resolve(folder) / "config.json").read_text())["recipe"]
        assert entry["test"] == {"wer": own["test"]["wer"], "per": own["test"]["per"]}
    assert evaluate(model, "toy-reverse", "test")["wer"] == metrics["test"]["wer"]  # evaluation reproduces the card
    card = (output / "README.md").read_text()
    assert f"zoo average {fine_tunes[0]} {fine_tunes[1]} --output pretrained/toy-soup" in card
    assert f"| test, greedy | {metrics['test']['count']} | {metrics['test']['wer']:.2f} |" in card


def _save_with(predictor: Predictor, folder, model=None, target_tokens=None):
    """``predictor``'s folder, with another model or target vocabulary swapped in."""
    from zoo.text.tokenizer import Tokenizer
    from zoo.text.vocab import Vocabulary

    target = predictor.target_tokenizer
    if target_tokens is not None:
        target = Tokenizer(Vocabulary(target_tokens), **target.get_config())
    other = Predictor(model or predictor.model, predictor.source_tokenizer, target,
                      max_source_length=predictor.max_source_length, max_target_length=predictor.max_target_length)
    hub.save(other, folder, metrics={}, card="")
    hub.write_checksums(folder)
    return str(folder)


def test_models_that_cannot_be_averaged_are_clear_errors(toy_run, tmp_path):
    folder = str(toy_run[2] / "pretrained")
    toy = zoo.load(folder)
    with pytest.raises(ValueError, match="at least two"):
        zoo.average([folder])
    with pytest.raises(ValueError, match="at least two"):
        zoo.average(folder)

    wider = Luong(toy.model.config["source_vocab_size"], toy.model.config["target_vocab_size"],
                  **{**TOY_RECIPE["model"], "units": 48})
    with pytest.raises(ValueError, match=r"cannot average .*wider.* model configs differ in units \(48 vs 64\)"):
        zoo.average([folder, _save_with(toy, tmp_path / "wider", model=wider)])

    tokens = list(toy.target_tokenizer.vocabulary.tokens)
    tokens[-1], tokens[-2] = tokens[-2], tokens[-1]
    with pytest.raises(ValueError, match="target_tokenizer settings or vocabularies differ"):
        zoo.average([folder, _save_with(toy, tmp_path / "swapped", target_tokens=tokens)])

    ensemble = tmp_path / "toy-ensemble"
    shutil.copytree(folder, ensemble)
    (ensemble / "config.json").write_text(json.dumps({"family": "ensemble", "members": [folder, folder]}))
    hub.write_checksums(ensemble)
    with pytest.raises(ValueError, match="is an ensemble"):
        zoo.average([folder, str(ensemble)])

    with pytest.raises(ValueError, match="at least two"):
        package_average([folder], tmp_path / "never")
    assert not (tmp_path / "never").exists()
    assert main(["average", folder, str(tmp_path / "wider"), "--output", str(tmp_path / "never")]) != 0
    assert not (tmp_path / "never").exists()
