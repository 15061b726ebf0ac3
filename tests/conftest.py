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

# The slow tier: long trainings and whole-split reproductions that `make test` (CI) leaves out and
# `make test-slow` runs (docs/testing.md#two-tiers); each entry says what CI still runs of the same path.
SLOW = {
    "test_toy_image.py::test_the_recipe_learns_to_read_within_five_epochs": "the image export and frontend tests",
    "test_toy_training.py::test_two_processes_*": "mirrored training, and each process's share (test_pipeline.py)",
    "test_families.py::test_every_family_learns_the_toy_tasks[[]*-sort]": "every family on the reverse task",
    "test_resume.py::test_sigkill_while_writing_a_checkpoint_*": "SIGKILL mid-epoch, then resume",
    "test_summarization.py::test_zoo_evaluate_reproduces_the_cards_greedy_figures": "zoo evaluate on g2p (test_cli.py)",
    "test_export.py::test_bad_input_gives_valid_output[[]summarize-debian]": "the same on every other model",
    "test_pretrained.py::test_reranking_by_the_other_g2p_families_beats_beam_search": "reranking mechanics (test_rescoring.py)",
    "test_pretrained.py::test_tuning_finds_rescorer_weights_*": "reranking mechanics (test_rescoring.py)",
}


def pytest_collection_modifyitems(items):
    import fnmatch

    for item in items:
        if any(fnmatch.fnmatchcase(f"{item.path.name}::{item.name}", pattern) for pattern in SLOW):
            item.add_marker(pytest.mark.slow)


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
