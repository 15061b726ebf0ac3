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

# The slow tier: long trainings, the same path again on more models, and whole-split reproductions,
# which `make test` (CI) leaves out to stay under 30 minutes on 2 cores and `make test-slow` runs
# (docs/testing.md#two-tiers). Each entry says what CI still runs of the same path.
SLOW = {
    "test_toy_image.py::test_the_recipe_learns_to_read_within_five_epochs": "the image export and frontend tests",
    "test_toy_training.py::test_two_processes_*": "each process's share (test_pipeline.py)",
    "test_toy_training.py::test_mirrored_training_*": "each process's share (test_pipeline.py)",
    "test_toy_training.py::test_mixed_precision_training_*": "mixed precision in every family's graphs (test_families.py)",
    "test_toy_training.py::test_training_resumes_where_it_stopped_*": "SIGKILL mid-epoch, then resume (test_resume.py)",
    "test_families.py::test_every_family_learns_the_toy_tasks[[]*-sort]": "luong on the reverse task",
    "test_families.py::test_every_family_learns_the_toy_tasks[[]bahdanau-*]": "luong on the reverse task",
    "test_families.py::test_every_family_learns_the_toy_tasks[[]cho-*]": "luong on the reverse task",
    "test_families.py::test_every_family_learns_the_toy_tasks[[]rnn_seq2seq-*]": "luong on the reverse task",
    "test_families.py::test_every_family_learns_the_toy_tasks[[]pointer_generator-*]": "luong; copying (test_toy_copy.py)",
    "test_families.py::test_attention_beats_*": "luong on the reverse task",
    "test_resume.py::test_sigkill_while_writing_a_checkpoint_*": "SIGKILL mid-epoch, then resume",
    "test_summarization.py::test_zoo_evaluate_reproduces_the_cards_greedy_figures": "zoo evaluate on emoji-scenes (test_captioning.py)",
    "test_cli.py::test_evaluate_reproduces_the_recorded_test_figures": "g2p-luong's whole test split (test_pretrained.py), zoo evaluate on emoji-scenes",
    "test_ensemble.py::test_g2p_ensemble_beats_every_member_*": "ensemble decoding, packaging and the CLI (the rest of test_ensemble.py)",
    "test_show_attend_tell.py::test_the_penalty_trains_on_jax": "the penalty in TensorFlow's compiled loss; training from arrays on JAX",
    "test_pretrain.py::test_a_recipe_pretrains_the_front_once_*": "the tagger training a model's own front (test_pretrain.py)",
    "test_export.py::test_bad_input_gives_valid_output[[]summarize-debian]": "the same on every other model",
    "test_export.py::*[[]g2p-gru]": "g2p-luong, toy-reverse, g2p-ensemble and summarize-debian; every family's tiny export (test_families.py)",
    "test_export.py::*[[]g2p-bahdanau]": "g2p-luong, toy-reverse, g2p-ensemble and summarize-debian; every family's tiny export (test_families.py)",
    "test_export.py::test_saved_model_cli_*[[]g2p-ensemble]": "the same on g2p-luong and toy-reverse",
    "test_export.py::test_saved_model_cli_*[[]summarize-debian]": "the same on g2p-luong and toy-reverse",
    "test_pretrained.py::test_reranking_by_the_other_g2p_families_beats_beam_search": "reranking mechanics (test_rescoring.py)",
    "test_pretrained.py::test_tuning_finds_rescorer_weights_*": "reranking mechanics (test_rescoring.py)",
    "test_tutorials.py::test_from_scratch_*": "tutorials 01 and 03",
    "test_tutorials.py::test_summarization_*": "tutorials 01 and 03; the model's own tests (test_summarization.py)",
    "test_tutorials.py::test_captioning_*": "tutorials 01 and 03; the model's own tests (test_captioning.py)",
    "test_tutorials.py::test_serving_*": "the README's serving commands (test_serving.py)",
    "test_distill.py::test_the_*student*": "teachers, source limits and bad keys (the rest of test_distill.py)",
    "test_distill.py::test_a_student_from_scratch_*": "teachers, source limits and bad keys",
    "test_distill.py::test_the_teachers_outputs_are_decoded_once_*": "teachers, source limits and bad keys",
    "test_distill.py::test_damaged_cached_teacher_outputs_*": "teachers, source limits and bad keys",
    "test_toy_audio.py::*": "audio frontends (test_sources.py, test_fronts.py) and the tiny LAS (test_speech.py)",
    "test_subword.py::test_a_small_model_learns_fifty_pairs_*": "subword recipes, pieces and the export in tutorial 03",
    "test_subword.py::test_a_recipe_trains_subword_*": "subword recipes, pieces and the export in tutorial 03",
    "test_subword.py::test_the_final_evaluation_reports_each_part_*": "subword recipes, pieces and the export in tutorial 03",
    "test_subword.py::test_a_trained_baseline_model_*": "subword recipes, pieces and the export in tutorial 03",
    "test_subword.py::test_attention_maps_are_labelled_with_pieces_*": "subword recipes, pieces and the export in tutorial 03",
    "test_show_attend_tell.py::test_a_tiny_model_learns_to_name_squares_*": "the captioning models (test_captioning.py)",
    "test_averaging.py::test_the_average_*": "averaging a model with itself, and the clear errors",
    "test_averaging.py::test_zoo_average_writes_*": "averaging a model with itself, and the clear errors",
    "test_arrays.py::test_the_gpu_scripts_*": "training from arrays and packaging in one process (test_arrays.py)",
    "test_arrays.py::test_a_speech_model_trains_from_clip_arrays_*": "clip batches read as the audio frontend reads "
                                                                      "(test_arrays.py); the tiny LAS (test_speech.py)",
}
# On JAX, CI runs what exists for that backend: training from arrays (the GPU path) and the media
# fronts; the families', decoding and ensemble tests run on JAX in the slow tier (on TensorFlow in CI).
JAX_IN_CI = ("test_arrays.py", "test_fronts.py", "test_sources.py")
# Files with long fixtures start first, so that neither worker is left with one at the end.
LONG_FIRST = ("test_export.py", "test_tutorials.py", "test_serving.py", "test_resume.py", "test_families.py",
              "test_toy_copy.py", "test_captioning.py", "test_cli.py", "test_speech.py", "test_toy_training.py")


def pytest_collection_modifyitems(items):
    import fnmatch

    import keras

    for item in items:
        name = f"{item.path.name}::{item.name}"
        if any(fnmatch.fnmatchcase(name, pattern) for pattern in SLOW) or (
                keras.backend.backend() == "jax" and item.path.name not in JAX_IN_CI):
            item.add_marker(pytest.mark.slow)
    rank = {name: index for index, name in enumerate(LONG_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(LONG_FIRST)))  # stable: each file keeps its order


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
