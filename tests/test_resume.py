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

RECIPE = {**TOY_RECIPE, "epochs": 4}
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
    kill_when(process, lambda: len(history(tmp_path)) >= 2)  # killed early in the third epoch
    assert len(history(tmp_path)) == 2

    refused = subprocess.run(zoo_train(recipe_path, tmp_path), env=ENV, capture_output=True, text=True, timeout=600)
    assert refused.returncode == 2 and "pass --resume to continue it" in refused.stderr

    subprocess.run(zoo_train(recipe_path, tmp_path, "--resume"), check=True, env=ENV, capture_output=True, timeout=600)
    resumed, straight = history(tmp_path), history(uninterrupted)
    assert [int(r["epoch"]) for r in resumed] == [0, 1, 2, 3] == [int(r["epoch"]) for r in straight]
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
    assert [int(r["epoch"]) for r in history(workdir)][-1] == 3
