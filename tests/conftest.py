import atexit
import os
import shutil
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import pytest  # noqa: E402

if os.environ.get("KERAS_BACKEND") == "jax":
    # JAX compiles the jitted functions of every new model instance afresh, and these tests build the same
    # tiny models (same layers, same shapes) again and again: a persistent compilation cache, a fresh folder
    # for each test process, serves a program identical to one compiled before from that first compile
    # (the same executable: no figure changes). test_families.py on JAX (89 tests, one process): 329 -> 167 s.
    import jax

    _JAX_CACHE = tempfile.mkdtemp(prefix="zoo-tests-jax-cache-")
    atexit.register(shutil.rmtree, _JAX_CACHE, ignore_errors=True)
    jax.config.update("jax_compilation_cache_dir", _JAX_CACHE)
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)  # tiny models compile in under 1 s

TOY_RECIPE = {
    "name": "toy-reverse", "dataset": "toy-reverse", "family": "luong",
    "model": {"embedding_dim": 16, "encoder_units": 32, "units": 64, "score": "general", "dropout": 0.0},
    "source_tokenizer": {"split": "chars"}, "target_tokenizer": {"split": "whitespace"},
    "max_source_length": 16, "max_target_length": 16, "batch_size": 64, "epochs": 6,
    "learning_rate": 0.005, "decay_from_epoch": 100, "decay_rate": 0.5, "clipnorm": 5.0, "seed": 1,
    "dev_examples": 300,
}


@pytest.fixture(scope="session")
def toy_run(tmp_path_factory):
    """A tiny Luong model trained on 'reverse a digit string' (~20 s on 2 CPU cores)."""
    from zoo.training.train import train

    workdir = tmp_path_factory.mktemp("toy-reverse")
    predictor, metrics = train(dict(TOY_RECIPE), workdir, output=workdir / "pretrained", verbose=0)
    return predictor, metrics, workdir


@pytest.fixture(scope="session")
def tiny_model():
    """An untrained tiny Luong model with fixed seed (source vocab 12, target vocab 9)."""
    import keras

    from zoo.models import Luong

    keras.utils.set_random_seed(7)
    return Luong(12, 9, embedding_dim=6, encoder_units=5, units=8, score="general")


def pytest_report_header(config):
    import keras

    return f"keras {keras.__version__}, backend: {keras.backend.backend()}"
