"""End to end on a learnable toy task: pipeline -> fit -> checkpoints -> pretrained folder -> load."""
import csv
import json
import os
import socket
import subprocess
import sys

import numpy as np
import pytest

import zoo
from zoo import data
from zoo.evaluation import evaluate
from zoo.training.schedule import lr_schedule
from zoo.training.train import load_recipe, train

from conftest import TOY_RECIPE


def test_tiny_luong_learns_to_reverse_digit_strings(toy_run):
    predictor, metrics, _ = toy_run
    exact_match = 100.0 - metrics["test"]["wer"]
    print(f"\ntoy reverse: test exact match {exact_match:.1f}% after {TOY_RECIPE['epochs']} epochs")
    assert exact_match >= 95.0
    assert predictor.predict(["12345", "9081"]) == ["5 4 3 2 1", "1 8 0 9"]
    assert predictor.predict(["12345"], beam_size=4) == ["5 4 3 2 1"]
    n_best = predictor.predict(["12345"], beam_size=4, n_best=3)
    assert n_best[0][0] == "5 4 3 2 1" and len(set(n_best[0])) == 3


def test_saved_folder_loads_with_identical_predictions(toy_run):
    predictor, metrics, workdir = toy_run
    loaded = zoo.load(workdir / "pretrained")
    sources = list(data.references("toy-reverse", "test"))[:50]
    for options in ({}, {"beam_size": 3, "n_best": 2}):
        original, reloaded = predictor.decode(sources, **options), loaded.decode(sources, **options)
        assert [[h.text for h in n] for n in original] == [[h.text for h in n] for n in reloaded]
        np.testing.assert_allclose([[h.score for h in n] for n in original],
                                   [[h.score for h in n] for n in reloaded], atol=1e-5)
    assert evaluate(loaded, "toy-reverse", "test")["wer"] == pytest.approx(metrics["test"]["wer"])
    assert loaded.name == "toy-reverse"  # the recipe's name, not the output folder's ("pretrained")


def test_checkpoints_and_logs_are_written(toy_run):
    _, _, workdir = toy_run
    assert (workdir / "checkpoints" / "best.weights.h5").is_file()
    assert (workdir / "checkpoints" / "last.weights.h5").is_file()
    assert not list((workdir / "checkpoints").glob(".tmp-*"))  # no half-written file left behind
    assert list((workdir / "logs").rglob("events.out.tfevents.*"))  # TensorBoard scalars
    with open(workdir / "history.csv") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == TOY_RECIPE["epochs"] and "dev_wer" in rows[0] and "val_loss" in rows[0]


def test_mixed_precision_training_learns_and_ships_a_float32_model(tmp_path):
    predictor, metrics = train(dict(TOY_RECIPE), tmp_path, output=tmp_path / "pretrained", verbose=0,
                               attention_examples=0, precision="mixed_float16")  # float16 compute, loss scaling
    print(f"\ntoy reverse, mixed_float16: test exact match {100.0 - metrics['test']['wer']:.1f}%")
    assert metrics["training_precision"] == "mixed_float16"
    card = (tmp_path / "pretrained" / "README.md").read_text()
    assert "Trained in `mixed_float16` (float16 compute, float32 weights)" in card
    assert 100.0 - metrics["test"]["wer"] >= 95.0
    loaded = zoo.load(tmp_path / "pretrained")
    assert predictor.model.trainer.dtype_policy.name == loaded.model.trainer.dtype_policy.name == "float32"
    assert evaluate(loaded, "toy-reverse", "test")["wer"] == pytest.approx(metrics["test"]["wer"])
    with pytest.raises(ValueError, match="holds a run trained in 'mixed_float16'"):
        train(dict(TOY_RECIPE), tmp_path, verbose=0, precision="float32")
    with pytest.raises(ValueError, match="Recipe key 'precision' must be one of .* got 'float16'"):
        train({**TOY_RECIPE, "precision": "float16"}, tmp_path / "other", verbose=0)


# In a fresh process: the CPU splits into two logical devices before TensorFlow starts.
MIRRORED_RUN = """
import json, sys
import tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
from zoo.training.train import mirrored_strategy, train
recipe, workdir = json.loads(sys.argv[1]), sys.argv[2]
strategy = mirrored_strategy(["/cpu:0", "/cpu:1"])
with strategy.scope():
    predictor, metrics = train(recipe, workdir, output=workdir + "/pretrained", verbose=0, attention_examples=0)
variable = type(predictor.model.trainer.weights[0].value).__name__
print(json.dumps({"replicas": strategy.num_replicas_in_sync, "variable": variable, "wer": metrics["test"]["wer"]}))
"""


def test_mirrored_training_on_two_devices_learns_and_ships_a_plain_model(tmp_path):
    run = subprocess.run([sys.executable, "-c", MIRRORED_RUN, json.dumps({**TOY_RECIPE, "epochs": 4}), str(tmp_path)],
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    result = json.loads(run.stdout.strip().splitlines()[-1])
    assert result["replicas"] == 2 and result["variable"] == "MirroredVariable"  # each batch split in two
    assert 100.0 - result["wer"] >= 95.0
    loaded = zoo.load(tmp_path / "pretrained")  # outside any strategy, as users load it
    assert evaluate(loaded, "toy-reverse", "test")["wer"] == pytest.approx(result["wer"])


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("localhost", 0))
        return probe.getsockname()[1]


def test_two_processes_train_one_model_on_four_devices_and_ship_a_plain_model(tmp_path):
    """JAX multi-process (gloo on CPU): two `zoo train --coordinator` processes, each split into two XLA
    devices, train one data-parallel run, as on two hosts of a cluster."""
    recipe = tmp_path / "toy.json"  # batch 64: 16 rows per device; partial batches cut to multiples of 4
    recipe.write_text(json.dumps({**TOY_RECIPE, "epochs": 4, "dev_examples": 20}))
    # Two devices per process; XLA's quick compilation (a toy model's steps cost little either way): 3 minutes, not 4.5.
    flags = "--xla_force_host_platform_device_count=2 --xla_backend_optimization_level=0 --xla_llvm_disable_expensive_passes=true"
    env = {**os.environ, "KERAS_BACKEND": "jax", "XLA_FLAGS": flags}
    workdir, address = tmp_path / "run", f"localhost:{free_port()}"
    # Output to files: a process blocked on a full pipe would stall the other at the next gradient exchange.
    logs = [(tmp_path / f"out-{rank}", tmp_path / f"err-{rank}") for rank in (0, 1)]
    runs = [subprocess.Popen([sys.executable, "-m", "zoo.cli", "train", str(recipe), "--workdir", str(workdir),
                              "--output", str(tmp_path / "pretrained"), "--coordinator", address,
                              "--processes", "2", "--process-id", str(rank)],
                             env=env, stdout=out.open("w"), stderr=err.open("w")) for rank, (out, err) in enumerate(logs)]
    for run in runs:
        run.wait(timeout=900)
    outputs = [(out.read_text(), err.read_text()) for out, err in logs]
    for run, (_, err) in zip(runs, outputs):
        assert run.returncode == 0, err[-3000:]
        assert "float32, 4 replica(s)" in err  # every device of both processes
    copies = [workdir, workdir / "process-1"]  # process 1 keeps its own copy of the run
    for name in ("last.weights.h5", "best.weights.h5"):  # the same weights, bit for bit, after the last step
        weights = [h5_arrays(copy / "checkpoints" / name) for copy in copies]
        assert weights[0].keys() == weights[1].keys() and len(weights[0]) > 10
        assert all(np.array_equal(weights[0][key], weights[1][key]) for key in weights[0])
    assert (copies[0] / "history.csv").read_text() == (copies[1] / "history.csv").read_text()  # same dev figures
    metrics = json.loads(outputs[0][0][outputs[0][0].rfind("\n{\n") + 1:])  # after the progress bar
    assert 100.0 - metrics["test"]["wer"] >= 95.0
    theirs = json.loads(outputs[1][0][outputs[1][0].rfind("\n{\n") + 1:])["test"]
    assert {**theirs, "seconds": 0} == {**metrics["test"], "seconds": 0}  # the same figures (not the same time)
    assert not (copies[1] / "pretrained").exists()
    loaded = zoo.load(tmp_path / "pretrained")  # on TensorFlow, one device: the backends' rounding may flip one of 300
    assert evaluate(loaded, "toy-reverse", "test")["wer"] == pytest.approx(metrics["test"]["wer"], abs=0.7)


def h5_arrays(path) -> dict:
    """Every dataset of a Keras weights file, by its path in the file."""
    import h5py

    arrays = {}
    with h5py.File(path, "r") as f:
        f.visititems(lambda name, item: arrays.update({name: item[()]}) if isinstance(item, h5py.Dataset) else None)
    return arrays


def test_training_resumes_where_it_stopped_and_follows_a_warm_restart(tmp_path):
    recipe = {**TOY_RECIPE, "epochs": 3, "restarts": [{"epoch": 3, "learning_rate": 0.001, "decay_from_epoch": 4}]}
    train(recipe, tmp_path, epochs=1, verbose=0)
    train(recipe, tmp_path, epochs=3, verbose=0)  # a second call continues from the backup
    with open(tmp_path / "history.csv") as f:
        rows = list(csv.DictReader(f))
    assert [int(row["epoch"]) for row in rows] == [0, 1, 2]
    assert [float(row["learning_rate"]) for row in rows] == pytest.approx([0.005, 0.005, 0.001])


def test_fine_tuning_on_your_own_tsv_files_starts_from_the_pretrained_model(toy_run, tmp_path):
    _, metrics, workdir = toy_run
    own = tmp_path / "own-data"  # the toy task's splits, written as a user's TSV folder
    own.mkdir()
    for split in ("train", "dev", "test"):
        (own / f"{split}.tsv").write_text("".join(f"{s}\t{t}\n" for s, t in data.load("toy-reverse", split)))
    recipe = {**TOY_RECIPE, "dataset": str(own), "epochs": 1, "learning_rate": 1e-6,
              "model": {**TOY_RECIPE["model"], "dropout": 0.3}}
    tuned, tuned_metrics = train(recipe, tmp_path / "tuned", verbose=0, init_from=str(workdir / "pretrained"))
    for name in ("source_vocab.txt", "target_vocab.txt"):
        assert (tmp_path / "tuned" / name).read_text() == (workdir / name).read_text()
    # one epoch at lr 1e-6 keeps the trained model's accuracy; the same epoch from scratch learns nothing yet
    assert tuned_metrics["test"]["wer"] == pytest.approx(metrics["test"]["wer"], abs=1.0)
    assert tuned_metrics["init_from"] == str(workdir / "pretrained")
    assert tuned.model.get_config()["dropout"] == 0.3
    _, scratch_metrics = train(recipe, tmp_path / "scratch", verbose=0)
    assert scratch_metrics["test"]["wer"] > 90.0


def test_fine_tuning_from_a_mismatched_model_is_a_clear_error(toy_run, tmp_path):
    pretrained = str(toy_run[2] / "pretrained")
    wider = {**TOY_RECIPE, "model": {**TOY_RECIPE["model"], "units": 128}}
    with pytest.raises(ValueError, match=r"differs from the recipe in \['units'\]"):
        train(wider, tmp_path / "a", verbose=0, init_from=pretrained)
    default_units = {**TOY_RECIPE, "model": {k: v for k, v in TOY_RECIPE["model"].items() if k != "units"}}
    with pytest.raises(ValueError, match=r"differs from the recipe in \['units'\]"):  # the default, 512
        train(default_units, tmp_path / "d", verbose=0, init_from=pretrained)
    gru = {**TOY_RECIPE, "family": "cho"}
    with pytest.raises(ValueError, match="differs from the recipe in \\['family'"):
        train(gru, tmp_path / "b", verbose=0, init_from=pretrained)
    with pytest.raises(ValueError, match="'init_from': 'no-such-model' is neither"):
        train(TOY_RECIPE, tmp_path / "c", verbose=0, init_from="no-such-model")


def test_the_training_step_is_traced_once():
    """compile_trainer builds the optimizer before fit: a tf.function that creates variables (Adam's
    moments, made lazily by the first step) is traced a second time, seconds for a real model."""
    from zoo.models import Luong
    from zoo.training.losses import compile_trainer

    model = Luong(12, 9, embedding_dim=6, encoder_units=5, units=8, score="general")
    compile_trainer(model, {"learning_rate": 0.01, "clipnorm": 5.0})
    trainer = model.trainer
    assert trainer.optimizer.built
    traced, step = [], trainer.train_step
    trainer.train_step = lambda batch: traced.append(1) or step(batch)  # its Python runs only when traced
    inputs = {"source": np.ones((8, 4), "int32"), "source_length": np.full(8, 4, "int32"),
              "decoder_input": np.ones((8, 3), "int32")}
    trainer.fit(inputs, np.ones((8, 3), "int32"), batch_size=4, epochs=2, verbose=0)
    assert len(traced) == 1 and int(trainer.optimizer.iterations.numpy()) == 4


def test_learning_rate_schedule_decays_and_restarts():
    recipe = {**TOY_RECIPE, "learning_rate": 1e-3, "decay_from_epoch": 3, "decay_rate": 0.5,
              "restarts": [{"epoch": 5, "learning_rate": 4e-4, "decay_from_epoch": 6}]}
    schedule = lr_schedule(load_recipe(recipe))
    # Keras passes 0-based epochs; the recipe counts from 1
    assert [schedule(e) for e in range(7)] == pytest.approx([1e-3, 1e-3, 5e-4, 2.5e-4, 4e-4, 2e-4, 1e-4])
    assert lr_schedule(load_recipe(TOY_RECIPE))(0) == TOY_RECIPE["learning_rate"]  # no restarts: one phase


def test_bad_recipe_is_a_clear_error(tmp_path):
    with pytest.raises(ValueError, match=r"missing \['batch_size'\]"):
        load_recipe({k: v for k, v in TOY_RECIPE.items() if k != "batch_size"})
    with pytest.raises(ValueError, match="'epochs' must be int"):
        load_recipe({**TOY_RECIPE, "epochs": "ten"})
    with pytest.raises(FileNotFoundError, match="Recipe 'nope' not found"):
        load_recipe("nope")
    with pytest.raises(ValueError, match="'restarts' must be list"):
        load_recipe({**TOY_RECIPE, "restarts": {"epoch": 3}})
    for bad in ({"epoch": 1, "learning_rate": 1e-3, "decay_from_epoch": 2},  # epoch 1 is the recipe's own
                {"epoch": 4, "learning_rate": 1e-3, "decay_from_epoch": 3},  # decays before it starts
                {"epoch": 4, "learning_rate": 0, "decay_from_epoch": 5},
                {"epoch": 4, "lr": 1e-3, "decay_from_epoch": 5}):
        with pytest.raises(ValueError, match=r"'restarts'\[0\] must be"):
            load_recipe({**TOY_RECIPE, "restarts": [bad]})


def test_every_shipped_recipe_is_valid_named_after_its_file_and_its_transfer_set_committed():
    from zoo.training.train import RECIPES_DIR

    paths = sorted(RECIPES_DIR.glob("*.json"))
    assert len(paths) >= 4
    for path in paths:
        recipe = load_recipe(path)
        assert recipe["name"] == path.stem, path
        extra = recipe.get("distill", {}).get("extra_sources")  # a transfer set is committed, not downloaded
        assert extra is None or (RECIPES_DIR.parent / extra).is_file(), (path, extra)
