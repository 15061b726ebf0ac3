"""Weights stored in float16 (``zoo compress``, recipe key ``weights_dtype``): half the file, the same model;
or in int8 with a scale per output channel: about a quarter, nearly the same model."""
import json

import h5py
import numpy as np
import pytest

import zoo
from zoo import data, hub
from zoo.cli import main
from zoo.evaluation import evaluate
from zoo.training.train import train

from conftest import TOY_RECIPE


def stored_dtypes(folder) -> set[str]:
    with h5py.File(folder / "model.weights.h5") as f:
        dtypes = set()
        f.visititems(lambda name, item: dtypes.add(str(item.dtype)) if isinstance(item, h5py.Dataset) else None)
    return dtypes


def stored_bytes(folder) -> int:
    """Bytes of every array in a folder's weights file (the scales of int8 matrices included)."""
    with h5py.File(folder / "model.weights.h5") as f:
        sizes = []
        f.visititems(lambda name, item: sizes.append(item.nbytes) if isinstance(item, h5py.Dataset) else None)
    return sum(sizes)


@pytest.fixture(scope="module")
def compressed(toy_run, tmp_path_factory):
    source = toy_run[2] / "pretrained"
    output = tmp_path_factory.mktemp("compressed") / "toy-half"
    assert main(["compress", str(source), "--output", str(output)]) == 0
    return source, output


def test_compress_stores_float16_weights_in_about_half_the_bytes_and_records_it(compressed, capsys):
    source, output = compressed
    assert stored_dtypes(source) == {"float32"} and stored_dtypes(output) == {"float16"}
    ratio = (output / "model.weights.h5").stat().st_size / (source / "model.weights.h5").stat().st_size
    assert 0.45 < ratio < 0.6, ratio
    hub.verify(output)
    config = json.loads((output / "config.json").read_text())
    assert config["weights_dtype"] == "float16" and config["name"] == "toy-half"
    assert "## Weights stored in float16" in (output / "README.md").read_text()


def test_a_compressed_model_loads_in_float32_with_the_rounded_weights(compressed):
    source, output = compressed
    original, half = zoo.load(source), zoo.load(output)
    for full, rounded in zip(original.model.trainer.get_weights(), half.model.trainer.get_weights()):
        assert rounded.dtype == np.float32
        np.testing.assert_array_equal(rounded, full.astype(np.float16).astype(np.float32))
    assert any(not np.array_equal(a, b) for a, b in zip(original.model.trainer.get_weights(),
                                                        half.model.trainer.get_weights()))  # it did round


def test_the_compressed_models_metrics_are_its_own_and_keep_the_float32_ones(compressed):
    source, output = compressed
    before = json.loads((source / "metrics.json").read_text())
    after = json.loads((output / "metrics.json").read_text())
    assert after["weights_dtype"] == "float16"
    assert after["uncompressed"]["test"] == {k: before["test"][k] for k in ("wer", "per")}
    assert after["epochs"] == before["epochs"]  # the original's records stay
    remeasured = evaluate(zoo.load(output), "toy-reverse", "test")
    assert remeasured["wer"] == after["test"]["wer"] and remeasured["per"] == after["test"]["per"]
    # the toy model is as good rounded (outputs may differ on a few of the 1,000 test strings)
    assert abs(after["test"]["wer"] - before["test"]["wer"]) <= 0.5, (before["test"], after["test"])
    sources = list(data.references("toy-reverse", "test"))[:200]
    same = sum(a == b for a, b in zip(zoo.load(source).predict(sources), zoo.load(output).predict(sources)))
    assert same >= 198, same


def test_a_recipe_with_weights_dtype_float16_writes_and_evaluates_the_rounded_model(toy_run, tmp_path):
    recipe = {**TOY_RECIPE, "name": "toy-f16", "init_from": str(toy_run[2] / "pretrained"), "epochs": 1,
              "weights_dtype": "float16"}
    predictor, metrics = train(recipe, tmp_path / "run", output=tmp_path / "toy-f16", verbose=0, attention_examples=0)
    assert stored_dtypes(tmp_path / "toy-f16") == {"float16"} and metrics["weights_dtype"] == "float16"
    loaded = zoo.load(tmp_path / "toy-f16")
    for a, b in zip(loaded.model.trainer.get_weights(), predictor.model.trainer.get_weights()):
        np.testing.assert_array_equal(a, b)  # the model evaluated is exactly the one stored
    assert evaluate(loaded, "toy-reverse", "dev")["wer"] == metrics["dev"]["wer"]


def test_int8_stores_matrices_with_a_scale_per_channel_in_a_third_of_the_bytes(compressed, tmp_path):
    source = compressed[0]
    output = tmp_path / "toy-int8"
    assert main(["compress", str(source), "--output", str(output), "--dtype", "int8"]) == 0
    with h5py.File(output / "model.weights.h5") as f:
        kinds = set()
        f["layers"].visititems(lambda name, item: kinds.add((str(item.dtype), item.ndim >= 2))
                               if isinstance(item, h5py.Dataset) else None)
        assert kinds == {("int8", True), ("float16", False)}  # matrices in int8, biases in float16
        assert hub.INT8_SCALES in f
    ratio = stored_bytes(output) / stored_bytes(source)  # the numbers (a toy file is mostly its structure)
    assert 0.25 < ratio < 0.32, ratio  # a quarter, plus the biases in float16 and the scales
    original, quantized = zoo.load(source).model.trainer.get_weights(), zoo.load(output).model.trainer.get_weights()
    for full, stored in zip(original, quantized):
        assert stored.dtype == np.float32 and stored.shape == full.shape
        if full.ndim >= 2:  # each weight within half a step of its channel's scale
            scale = np.abs(full).max(axis=tuple(range(full.ndim - 1))) / 127
            assert np.all(np.abs(stored - full) <= scale / 2 + 1e-7)
            np.testing.assert_array_equal(stored, hub.stored_value(full, "int8"))
        else:
            np.testing.assert_array_equal(stored, full.astype(np.float16).astype(np.float32))
    before, after = (json.loads((folder / "metrics.json").read_text()) for folder in (source, output))
    assert after["weights_dtype"] == "int8" and "## Weights stored in int8" in (output / "README.md").read_text()
    assert evaluate(zoo.load(output), "toy-reverse", "test")["wer"] == after["test"]["wer"]  # its own figures
    assert abs(after["test"]["wer"] - before["test"]["wer"]) <= 1.0, (before["test"], after["test"])


def test_bad_weights_dtypes_and_ensembles_are_clear_errors(toy_run, tmp_path, capsys):
    source = str(toy_run[2] / "pretrained")
    assert main(["compress", source, "--output", str(tmp_path / "x"), "--dtype", "int4"]) != 0
    assert "--dtype must be one of ['float32', 'float16', 'int8'], got 'int4'" in capsys.readouterr().err
    with pytest.raises(ValueError, match="Recipe key 'weights_dtype' must be one of"):
        train({**TOY_RECIPE, "weights_dtype": "bfloat16"}, tmp_path / "run", verbose=0)
    assert main(["ensemble", source, source, "--output", str(tmp_path / "pair")]) == 0
    assert main(["compress", str(tmp_path / "pair"), "--output", str(tmp_path / "y")]) != 0
    assert "is an ensemble, which has no weights of its own" in capsys.readouterr().err
    assert not (tmp_path / "x").exists() and not (tmp_path / "y").exists()
