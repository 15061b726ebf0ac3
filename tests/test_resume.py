"""Nothing lost: a training run killed with SIGKILL (mid-epoch, or in the middle of writing a file)
resumes with `zoo train --resume` and ends where an uninterrupted run ends."""
import csv
import json
import os
import signal
import subprocess
import sys
import time

import h5py
import pytest

from conftest import TOY_RECIPE

RECIPE = {**TOY_RECIPE, "epochs": 3}
ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONUNBUFFERED": "1"}


def zoo_train(recipe_path, workdir, *extra):
    return [sys.executable, "-m", "zoo.cli", "train", str(recipe_path), "--workdir", str(workdir), *extra]


def history(workdir):
    path = workdir / "history.csv"
    if not path.exists():
        return []
    with open(path) as f:
        return list(csv.DictReader(f))


def optimizer_steps(workdir) -> int:
    """The optimizer's iteration counter stored in the newest backup."""
    metadata = json.loads((workdir / "backup" / "training_metadata.json").read_text())
    with h5py.File(workdir / "backup" / metadata["weights"], "r") as f:
        return int(f["optimizer"]["vars"]["0"][()])


def kill_when(process, condition, timeout=300):
    deadline = time.time() + timeout
    while not condition():
        assert process.poll() is None, "training ended before it could be killed"
        assert time.time() < deadline, "timed out waiting to kill the training"
        time.sleep(0.2)
    process.send_signal(signal.SIGKILL)
    process.wait()


@pytest.fixture(scope="module")
def recipe_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("recipe") / "toy.json"
    path.write_text(json.dumps(RECIPE))
    return path


@pytest.fixture(scope="module")
def uninterrupted(recipe_path, tmp_path_factory):
    workdir = tmp_path_factory.mktemp("uninterrupted")
    subprocess.run(zoo_train(recipe_path, workdir), check=True, env=ENV, capture_output=True, timeout=600)
    return workdir


def test_sigkill_mid_epoch_then_resume_matches_an_uninterrupted_run(recipe_path, uninterrupted, tmp_path):
    process = subprocess.Popen(zoo_train(recipe_path, tmp_path), env=ENV, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    kill_when(process, lambda: len(history(tmp_path)) >= 1)  # killed early in the second epoch
    assert len(history(tmp_path)) == 1

    refused = subprocess.run(zoo_train(recipe_path, tmp_path), env=ENV, capture_output=True, text=True, timeout=600)
    assert refused.returncode == 2 and "pass --resume to continue it" in refused.stderr

    subprocess.run(zoo_train(recipe_path, tmp_path, "--resume"), check=True, env=ENV, capture_output=True, timeout=600)
    resumed, straight = history(tmp_path), history(uninterrupted)
    assert [int(r["epoch"]) for r in resumed] == [0, 1, 2] == [int(r["epoch"]) for r in straight]
    assert optimizer_steps(tmp_path) == optimizer_steps(uninterrupted)  # same step count
    final = {name: float(rows[-1]["val_token_accuracy"]) for name, rows in (("resumed", resumed), ("straight", straight))}
    print(f"\nfinal val token accuracy: {final}")
    assert abs(final["resumed"] - final["straight"]) < 0.02 and min(final.values()) > 0.95


SLOW_REPLACE = """
import os, sys, time
import zoo.io
real_replace = os.replace
count = {"weights": 0}
def replace(src, dst):
    if str(dst).endswith(".weights.h5"):
        count["weights"] += 1
        if count["weights"] == int(os.environ["KILL_AT_WEIGHTS_SAVE"]):
            open(os.environ["MARKER"], "w").close()
            time.sleep(600)  # killed here: the new file is written but not yet renamed into place
    real_replace(src, dst)
zoo.io.os = type(os)("os_proxy")
zoo.io.os.__dict__.update({k: getattr(os, k) for k in dir(os) if not k.startswith("__")})
zoo.io.os.replace = replace
from zoo.cli import main
sys.exit(main(sys.argv[1:]))
"""


def test_sigkill_while_writing_a_checkpoint_leaves_every_file_whole(recipe_path, tmp_path):
    marker = tmp_path / "saving"
    env = {**ENV, "KILL_AT_WEIGHTS_SAVE": "5", "MARKER": str(marker)}  # epoch 2's backup (3 saves per epoch)
    workdir = tmp_path / "run"
    process = subprocess.Popen([sys.executable, "-c", SLOW_REPLACE, "train", str(recipe_path), "--workdir", str(workdir)],
                               env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    kill_when(process, marker.exists)
    leftovers = [p.name for p in workdir.rglob(".tmp-*")]
    assert leftovers, "the kill should have happened while a temporary file existed"
    for path in workdir.rglob("*.weights.h5"):
        if not path.name.startswith(".tmp-"):
            with h5py.File(path, "r"):  # every file a reader can see opens
                pass
    subprocess.run(zoo_train(recipe_path, workdir, "--resume"), check=True, env=ENV, capture_output=True, timeout=600)
    assert [int(r["epoch"]) for r in history(workdir)][-1] == 2  # RECIPE's third and last epoch


# The mechanism, in process and on a tiny model (seconds): AtomicBackup and restore_backup use public Keras
# API only. They rely on one Keras behaviour the API reference does not spell out: `Model.save_weights` of a
# compiled model whose optimizer is built stores the optimizer's variables too (step count, learning rate,
# moments), and `Model.load_weights` puts them back. The first test pins it, so a Keras upgrade that changes
# it fails here (restore_backup also refuses a backup whose step count does not come back).
TINY = {"embedding_dim": 6, "encoder_units": 5, "units": 8, "score": "general", "source_vocab_size": 12,
        "target_vocab_size": 9}


def tiny_trainer(seed=7):
    import keras

    from zoo import models
    from zoo.training.losses import masked_loss

    keras.utils.set_random_seed(seed)
    trainer = models.build("luong", TINY).trainer
    trainer.compile(optimizer=keras.optimizers.Adam(0.01, clipnorm=5.0), loss=masked_loss())
    return trainer


def tiny_batches():
    import numpy as np

    rng = np.random.default_rng(0)
    source = rng.integers(1, 12, (64, 7)).astype("int32")
    inputs = {"source": source, "source_length": np.full(64, 7, "int32"),
              "decoder_input": rng.integers(1, 9, (64, 6)).astype("int32")}
    target = rng.integers(1, 9, (64, 6)).astype("int32")
    return inputs, target


def values(variables):
    import keras

    return [keras.ops.convert_to_numpy(v) for v in variables]


def test_keras_save_weights_of_a_compiled_model_stores_and_load_weights_restores_the_optimizer(tmp_path):
    import numpy as np

    trained = tiny_trainer()
    trained.fit(*tiny_batches(), batch_size=32, epochs=2, verbose=0)  # 4 steps
    trained.save_weights(tmp_path / "state.weights.h5")
    with h5py.File(tmp_path / "state.weights.h5", "r") as f:
        assert len(f["optimizer"]["vars"]) == len(trained.optimizer.variables)
        assert int(f["optimizer"]["vars"]["0"][()]) == 4  # the first optimizer variable is its step count
    fresh = tiny_trainer(seed=8)
    fresh.optimizer.build(fresh.trainable_variables)
    fresh.load_weights(tmp_path / "state.weights.h5")
    assert int(fresh.optimizer.iterations.numpy()) == 4
    for saved, loaded in zip(values(trained.optimizer.variables), values(fresh.optimizer.variables), strict=True):
        np.testing.assert_array_equal(saved, loaded)
    for saved, loaded in zip(values(trained.weights), values(fresh.weights), strict=True):
        np.testing.assert_array_equal(saved, loaded)


def test_a_restored_backup_continues_exactly_as_the_uninterrupted_fit(tmp_path):
    import keras
    import numpy as np

    from zoo.training.callbacks import AtomicBackup, restore_backup

    seen = {}

    def schedule(epoch, lr=None):  # the learning-rate schedule sees the true epoch numbers
        seen.setdefault("epochs", []).append(epoch)
        return 0.01 * 0.5**epoch

    def fit(trainer, backup, epochs, initial_epoch=0):
        seen.clear()
        trainer.fit(*tiny_batches(), batch_size=32, epochs=epochs, initial_epoch=initial_epoch, shuffle=False,
                    verbose=0, callbacks=[backup, keras.callbacks.LearningRateScheduler(schedule)])
        return seen.get("epochs", [])

    straight = tiny_trainer()
    assert fit(straight, AtomicBackup(tmp_path / "straight"), epochs=3) == [0, 1, 2]

    assert restore_backup(tiny_trainer(), tmp_path / "killed") == 0  # no backup: a fresh start, nothing loaded
    first = tiny_trainer()
    assert fit(first, AtomicBackup(tmp_path / "killed"), epochs=2) == [0, 1]  # the run "killed" after 2 epochs
    assert sorted(p.name for p in (tmp_path / "killed").iterdir()) == ["epoch-2.weights.h5", "training_metadata.json"]
    assert json.loads((tmp_path / "killed" / "training_metadata.json").read_text()) == {
        "epoch": 2, "weights": "epoch-2.weights.h5", "steps": 4}

    resumed = tiny_trainer(seed=8)  # other initial weights: the backup must replace them all
    backup = AtomicBackup(tmp_path / "killed")
    initial_epoch = backup.restore(resumed)
    assert initial_epoch == 2 and int(resumed.optimizer.iterations.numpy()) == 4
    assert fit(resumed, backup, epochs=3, initial_epoch=initial_epoch) == [2]
    assert int(resumed.optimizer.iterations.numpy()) == int(straight.optimizer.iterations.numpy()) == 6
    for a, b in zip(values(straight.weights), values(resumed.weights), strict=True):
        np.testing.assert_allclose(a, b, atol=1e-6)
    assert restore_backup(tiny_trainer(), tmp_path / "killed") == 3  # a finished run asked for more: from epoch 3

    from zoo import models

    with pytest.raises(ValueError, match="compile the model before restoring"):
        restore_backup(models.build("luong", TINY).trainer, tmp_path / "killed")
