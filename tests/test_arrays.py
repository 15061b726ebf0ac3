"""Training from id arrays (zoo.training.arrays): the path for machines without TensorFlow, e.g. a GPU on JAX.

`make test` runs it on the JAX backend, the one this path exists for (Makefile BACKEND_TESTS; test-tf
leaves it out); it passes on TensorFlow too (`pytest tests/test_arrays.py`)."""
import io
import json
import os
import pathlib
import subprocess
import sys
import wave

import keras
import numpy as np
import pytest

import zoo
from conftest import TOY_RECIPE
from zoo import data, models
from zoo.text.vocab import END_ID, START_ID, UNK_ID
from zoo.training import arrays
from zoo.training.losses import compile_trainer
from zoo.training.schedule import check_plateau, lr_callback
from zoo.training.train import load_recipe, train

from test_toy_copy import RECIPE as COPY_RECIPE  # zoo.training.train fits it to >= 95 % test exact match in 2 epochs


@pytest.fixture(scope="module")
def array_run(tmp_path_factory):
    """The toy recipe written as arrays, fitted by ``zoo.training.arrays.train``, then packaged by
    ``zoo.training.train``."""
    workdir = tmp_path_factory.mktemp("arrays")
    path = arrays.write(dict(TOY_RECIPE), workdir)
    state = arrays.train(workdir, verbose=0)
    predictor, metrics = train(dict(TOY_RECIPE), workdir, epochs=0, output=workdir / "pretrained", verbose=0)
    return workdir, path, state, predictor, metrics


def test_the_toy_task_is_learned_from_arrays_and_packaged_with_the_same_dev_score(array_run):
    workdir, path, state, predictor, metrics = array_run
    assert state["epoch"] == TOY_RECIPE["epochs"]
    assert state["best"] <= 5.0, state  # >= 95 % exact match, as zoo.training.train reaches on this task
    # zoo.training.train's evaluation (Predictor + jiwer) scores the same weights on the same dev split alike
    assert metrics["dev"]["wer"] == pytest.approx(state["best"], abs=1e-6)
    assert metrics["test"]["exact_match"] >= 95.0
    assert metrics["epochs"] == TOY_RECIPE["epochs"]
    assert predictor.predict(["40213"]) == ["3 1 2 0 4"]
    assert (workdir / "pretrained" / "model.weights.h5").is_file()


def test_arrays_hold_the_pipelines_ids(array_run):
    workdir, path, *_ = array_run
    stored = np.load(path)
    about = json.loads((workdir / "arrays.json").read_text())
    source, target = stored["train_source"], stored["train_target"]
    assert source.shape == (about["train_examples"], TOY_RECIPE["max_source_length"])
    assert target.shape == (about["train_examples"], TOY_RECIPE["max_target_length"])
    assert source.dtype == target.dtype == np.int32
    lengths = (source != 0).sum(axis=1)
    assert ((source != 0) == (np.arange(source.shape[1]) < lengths[:, None])).all()  # right-padded
    # every dev source has its references, each ending in </s>
    assert len(np.unique(stored["dev_reference_row"])) == len(stored["dev_source"]) == about["dev_sources"]
    ends = (stored["dev_reference"] != 0).sum(axis=1) - 1
    assert (stored["dev_reference"][np.arange(len(ends)), ends] == END_ID).all()


def test_bucketed_batches_are_full_shifted_and_cover_every_example():
    rng = np.random.default_rng(0)
    n, width = 300, 20
    source_lengths, target_lengths = rng.integers(1, width + 1, n), rng.integers(1, width + 1, n)
    source = np.where(np.arange(width) < source_lengths[:, None], rng.integers(4, 9, (n, width)), 0)
    target = np.where(np.arange(width) < target_lengths[:, None], rng.integers(4, 9, (n, width)), 0)
    batches = arrays.BucketedBatches(source, target, batch_size=32, seed=1)
    for i in range(len(batches)):
        inputs, decoder_target, weights = batches[i]
        batch_source, decoder_input = inputs["source"], inputs["decoder_input"]
        assert len(batch_source) == len(decoder_target) == 32  # full batches only
        bucket = decoder_input.shape[1]
        assert bucket in (8, 12, 16, width + 1) and decoder_target.shape[1] == bucket
        assert batch_source.shape[1] == min(bucket, width)
        rows = batches.batches[i][1]
        assert ((source_lengths[rows] <= bucket) & (target_lengths[rows] + 1 <= bucket)).all()
        assert (batch_source == source[rows, :bucket]).all()
        assert (decoder_input[:, 0] == START_ID).all()
        assert (decoder_input[:, 1:] == np.where(decoder_target[:, :-1] == END_ID, 0, decoder_target[:, :-1])).all()
        assert (decoder_target[np.arange(32), target_lengths[rows]] == END_ID).all()
        assert ((decoder_target == END_ID).sum(axis=1) == 1).all()
        assert (weights == (decoder_target != 0)).all()
    covered = np.concatenate([rows for _, rows in batches.batches])
    assert set(covered.tolist()) == set(range(n))  # every example is in some batch of the epoch
    assert len(covered) - n < 32 * 4  # topping up repeats fewer than a batch per bucket
    first = [batches[i][0]["source"].tolist() for i in range(len(batches))]
    batches.on_epoch_end()
    assert [batches[i][0]["source"].tolist() for i in range(len(batches))] != first  # reshuffled


def test_the_gpu_scripts_bring_back_float16_parts_that_package_the_same_model(array_run, tmp_path):
    """tools/gpu/train.sh (on the GPU machine) and tools/gpu/collect.sh (back where TensorFlow is), on the
    finished toy run beside a broken one: train.sh resumes the toy run (nothing left to fit), leaves its best
    checkpoint in float16 parts and its logs, and the broken run's log, and fails; collect.sh joins the parts
    into a workdir holding only step 1's files and packages."""
    import shutil
    import tarfile

    import h5py

    workdir, metrics = array_run[0], array_run[4]
    gpu_run, out, here = tmp_path / "gpu" / "toy", tmp_path / "out", tmp_path / "here" / "toy"
    shutil.copytree(workdir, gpu_run, ignore=shutil.ignore_patterns("pretrained"))
    broken = tmp_path / "gpu" / "broken"  # step 1 never ran here
    broken.mkdir()
    env = {**os.environ, "PYTHON": sys.executable, "PART_SIZE": "60k", "ZOO": f"{sys.executable} -m zoo.cli"}
    root = pathlib.Path(__file__).resolve().parents[1]
    sent = subprocess.run([root / "tools/gpu/train.sh", "1", out, gpu_run, broken], cwd=root, env=env,
                          capture_output=True, text=True, timeout=600)
    assert sent.returncode == 1, sent.stderr[-2000:]
    parts = sorted(out.glob("toy.weights.part-*"))
    assert len(parts) >= 3 and max(p.stat().st_size for p in parts) <= 60 * 1024  # 60k parts of ~200 KB
    assert sorted(p.name for p in out.iterdir()) == ["broken.logs.tgz", "toy.logs.tgz", *(p.name for p in parts)]
    with tarfile.open(out / "broken.logs.tgz") as logs:
        assert logs.getnames() == ["train.log"]
        log = logs.extractfile("train.log").read().decode()
    assert f"python -m zoo.training.arrays train: error: {broken / 'arrays.npz'} does not exist: run" in log
    assert "Traceback" not in log

    here.mkdir(parents=True)
    for name in ("arrays.json", "arrays.npz", "recipe.json", "source_vocab.txt", "target_vocab.txt"):
        shutil.copy(workdir / name, here / name)  # what step 1 wrote, as the GPU machine got it
    recipe = tmp_path / "toy.json"
    recipe.write_text(json.dumps(dict(TOY_RECIPE)))
    packaged = subprocess.run([root / "tools/gpu/collect.sh", out, recipe, here, tmp_path / "pretrained"], cwd=root,
                              env=env, capture_output=True, text=True, timeout=600)
    assert packaged.returncode == 0, packaged.stderr[-2000:]
    with h5py.File(here / "checkpoints" / "best.weights.h5") as joined:
        dtypes = set()
        joined.visititems(lambda name, item: dtypes.add(item.dtype) if isinstance(item, h5py.Dataset) else None)
    assert dtypes == {np.dtype("float16")}
    collected = json.loads((tmp_path / "pretrained" / "metrics.json").read_text())
    assert collected["epochs"] == TOY_RECIPE["epochs"]
    assert collected["test"]["exact_match"] == pytest.approx(metrics["test"]["exact_match"], abs=1.0)
    assert zoo.load(tmp_path / "pretrained").predict(["40213"]) == ["3 1 2 0 4"]


def test_time_limit_stops_after_the_first_epoch_when_time_is_up(tmp_path):
    arrays.write({**TOY_RECIPE, "epochs": 50}, tmp_path)
    state = arrays.train(tmp_path, minutes=1e-4, verbose=0)
    assert state["epoch"] == 1
    history = (tmp_path / "history.csv").read_text().splitlines()
    assert len(history) == 2  # header and one epoch


def test_a_killed_run_resumes_from_its_last_epoch(tmp_path):
    arrays.write(dict(TOY_RECIPE), tmp_path)
    assert arrays.train(tmp_path, epochs=2, verbose=0)["epoch"] == 2  # stopped early (as a kill would)
    state = arrays.train(tmp_path, epochs=3, verbose=0)  # resumes: trains the 3rd epoch only
    assert state["epoch"] == 3
    assert len((tmp_path / "history.csv").read_text().splitlines()) == 1 + 3


def test_plateau_schedule_validated_and_used():
    check_plateau({"factor": 0.5, "patience": 2})
    for bad in ({"factor": 1.0, "patience": 2}, {"factor": 0.5, "patience": 0}, {"factor": 0.5},
                {"factor": 0.5, "patience": True}, "0.5"):
        with pytest.raises(ValueError, match="Recipe key 'plateau'"):
            load_recipe({**TOY_RECIPE, "plateau": bad})
    callback = lr_callback({**TOY_RECIPE, "plateau": {"factor": 0.5, "patience": 2}})
    assert isinstance(callback, keras.callbacks.ReduceLROnPlateau)
    assert (callback.monitor, callback.factor, callback.patience) == ("dev_wer", 0.5, 2)
    assert isinstance(lr_callback(TOY_RECIPE), keras.callbacks.LearningRateScheduler)


def test_training_without_arrays_names_the_missing_step(tmp_path):
    with pytest.raises(FileNotFoundError, match="python -m zoo.training.arrays write"):
        arrays.train(tmp_path)


def test_model_code_and_the_array_trainer_import_without_tensorflow():
    code = ("import sys, zoo, zoo.models, zoo.decoding, zoo.training.arrays; "
            "loaded = sorted(m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'tensorflow_text')); "
            "assert not loaded, loaded")
    env = {**os.environ, "KERAS_BACKEND": "jax"}
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]


def test_a_media_recipe_without_clips_is_refused_with_a_clear_error(tmp_path):
    with pytest.raises(ValueError, match="'toy-image' reads image sources: arrays hold text, or the audio of a "
                                         r"dataset that declares its clips \(speech\)"):
        arrays.write("toy-image", tmp_path)


def _wav(pcm: np.ndarray) -> bytes:
    """(samples,) int16 -> a mono 16-bit 16 kHz WAV file holding exactly those samples."""
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(2)
        handle.setframerate(16000)
        handle.writeframes(pcm.astype("<i2").tobytes())
    return buffer.getvalue()


def _samples(wav: bytes) -> np.ndarray:
    with wave.open(io.BytesIO(wav), "rb") as handle:
        return np.frombuffer(handle.readframes(handle.getnframes()), "<i2")


def test_clip_batches_give_each_bucket_one_shape_and_the_samples_the_audio_frontend_reads():
    from zoo.frontends.audio import AudioFrontend

    rng = np.random.default_rng(0)
    n = 90
    waveforms = [rng.integers(-32768, 32768, length).astype("int16") for length in rng.integers(1, 16000 * 7, n)]
    target_lengths = rng.integers(1, 30, n)
    target = np.where(np.arange(40) < target_lengths[:, None], rng.integers(4, 9, (n, 40)), 0)
    batches = arrays.ClipBatches(waveforms, target, batch_size=8, sample_rate=16000, seed=1)
    assert batches.widths == [40000, 56000, 80000, max(map(len, waveforms))]  # 2.5, 3.5, 5 s, the longest
    shapes = {}
    for i in range(len(batches)):
        inputs, decoder_target, weights = batches[i]
        bucket, rows = batches.batches[i]
        shape = (inputs["source"].shape, decoder_target.shape)
        assert shapes.setdefault(bucket, shape) == shape and shape[0] == (8, batches.widths[bucket])
        assert inputs["source_length"].tolist() == [len(waveforms[row]) for row in rows]
        assert (target_lengths[rows] + 1 <= decoder_target.shape[1]).all()
        for j, row in enumerate(rows):
            length = len(waveforms[row])
            assert (inputs["source"][j, :length] == waveforms[row] / 32768.0).all()
            assert not inputs["source"][j, length:].any()
        assert (decoder_target[np.arange(8), target_lengths[rows]] == END_ID).all()
        assert (inputs["decoder_input"][:, 0] == START_ID).all() and (weights == (decoder_target != 0)).all()
    assert set(np.concatenate([rows for _, rows in batches.batches]).tolist()) == set(range(n))
    # a bucket of fewer clips than a batch joins a neighbour: the 3 clips over 5 s and the 3.5-5 s ones
    # share one bucket as wide as the longest
    few_long = [w for w in waveforms if len(w) <= 80000][:40] + [np.ones(16000 * 6 + i, "int16") for i in range(3)]
    merged = arrays.ClipBatches(few_long, target[:len(few_long)], batch_size=8, sample_rate=16000)
    assert merged.widths[-1] == 16000 * 6 + 2 and 80000 not in merged.widths
    assert min(len(members) for members in merged.buckets) >= 8
    inputs, _, _ = batches[0]
    row = batches.batches[0][1][0]
    read = AudioFrontend(16000, max_seconds=8.0).decode([_wav(waveforms[row])])["source"].numpy()[0]
    assert (read == inputs["source"][0, :len(read)]).all()  # the frontend's samples, to the bit


# A tiny LAS that learns six short committed clips (tests/test_speech.py's tiny_las), from clip arrays:
# a dataset of those clips (each 25 times in train, once in dev and test) declaring them as Clips.
CLIP_RECIPE = {
    "name": "six-clips", "dataset": "speech-six-clips", "family": "las",
    "frontend": {"kind": "audio", "sample_rate": 16000, "max_seconds": 4.0},
    "model": {"embedding_dim": 16, "listener_units": 24, "listener_layers": 2, "units": 48,
              "source": {"kind": "audio", "sample_rate": 16000, "num_mels": 24, "stack": 2}},
    "target_tokenizer": {"split": "chars"}, "max_target_length": 40, "batch_size": 6, "epochs": 6,
    "learning_rate": 0.01, "decay_from_epoch": 100, "decay_rate": 0.5, "clipnorm": 5.0, "seed": 0,
    "dev_examples": 6,
}


@pytest.fixture(scope="module")
def six_clips():
    """The six shortest committed clips of the unheard flite voice, registered as a dataset with clips."""
    from zoo.data import speech
    from zoo.data.dataset import Clips, Dataset, grouped

    pairs = sorted(speech.load_group("flite"), key=lambda pair: len(pair[0]))[:6]
    splits = {"train": pairs * 25, "dev": pairs, "test": pairs}
    clips = Clips(sample_rate=16000, transcripts=lambda split: [text for _, text in splits[split]],
                  waveforms=lambda split: [_samples(wav) for wav, _ in splits[split]])
    if CLIP_RECIPE["dataset"] not in data.names():
        data.register(Dataset(name=CLIP_RECIPE["dataset"], references=lambda split: grouped(splits[split]),
                              metrics=speech.SPEECH_METRICS, selection="wer", clips=clips))
    return pairs


def test_a_speech_model_trains_from_clip_arrays_and_packages_a_transcriber(six_clips, tmp_path):
    """Step 1 writes transcripts' ids and clip indices only (no audio); step 2 reads the clips from the
    dataset's ``Clips`` and selects by dev token cross-entropy; step 3 packages a model that transcribes
    the clips' WAV files through the audio frontend."""
    path = arrays.write(dict(CLIP_RECIPE), tmp_path)
    stored, about = np.load(path), json.loads((tmp_path / "arrays.json").read_text())
    assert sorted(stored.files) == ["dev_clip", "dev_target", "train_clip", "train_target"]
    assert stored["train_clip"].tolist() == list(range(150)) and stored["dev_clip"].tolist() == list(range(6))
    assert about["clips"] == {"dataset": "speech-six-clips", "sample_rate": 16000, "max_seconds": 4.0}
    assert about["selection"]["proxy"] == "token_cross_entropy" and about["source_vocab_size"] is None
    state = arrays.train(tmp_path, verbose=0)
    predictor, metrics = train(dict(CLIP_RECIPE), tmp_path, epochs=0, output=tmp_path / "pretrained", verbose=0,
                               attention_examples=0)
    texts = [text for _, text in six_clips]
    ids = predictor.target_tokenizer.encode(texts).to_tensor(0, shape=[None, 40]).numpy()  # (6, 40)
    assert (stored["dev_target"] == ids).all() and (stored["train_target"] == np.tile(ids, (25, 1))).all()
    greedy = zoo.load(tmp_path / "pretrained").predict([wav for wav, _ in six_clips])
    print(f"\nsix clips from arrays ({keras.backend.backend()}): dev token cross-entropy {state['best']:.3f}, "
          f"test WER {metrics['test']['wer']:.1f}%:", list(zip(texts, greedy)))
    assert state["epoch"] == 6 and sum(g == t for g, t in zip(greedy, texts)) >= 5


def test_a_metric_exact_matches_cannot_compute_selects_by_dev_cross_entropy(array_run, tmp_path):
    """Translation's BLEU needs text: step 2 then keeps the weights of the lowest dev token
    cross-entropy (teacher forcing), and step 3 scores them with the metric itself."""
    assert arrays._selection("translation-en-es") == {"metric": "bleu", "scorer": "bleu", "proxy": "token_cross_entropy"}
    assert "proxy" not in arrays._selection(TOY_RECIPE["dataset"])
    workdir = array_run[0]
    for name in ("arrays.npz", "recipe.json"):
        (tmp_path / name).write_bytes((workdir / name).read_bytes())
    about = json.loads((workdir / "arrays.json").read_text())
    about["selection"] = {"metric": "bleu", "scorer": "bleu", "proxy": "token_cross_entropy"}
    (tmp_path / "arrays.json").write_text(json.dumps(about))
    stored = dict(np.load(workdir / "arrays.npz"))
    width = stored["train_target"].shape[1]
    stored["dev_target"] = np.where(stored["dev_reference"] == END_ID, 0, stored["dev_reference"])[:, :width]
    np.savez_compressed(tmp_path / "arrays.npz", **stored)
    state = arrays.train(tmp_path, epochs=2, verbose=0)
    history = (tmp_path / "history.csv").read_text().splitlines()
    column = history[0].split(",").index("val_token_cross_entropy")
    figures = [float(line.split(",")[column]) for line in history[1:]]
    assert state["epoch"] == 2 and state["best"] == pytest.approx(min(figures), rel=1e-6) and figures[1] < figures[0]


def test_a_copy_model_trains_from_arrays_holding_extended_ids_and_packages_a_copier(tmp_path):
    """pointer_generator on toy-copy (targets: a sentence's first three words, most of them outside the
    vocabulary): the arrays give those words the source's extended ids, and the model fitted on them
    copies as the one ``zoo train`` fits (a model that cannot copy stays under 20 %, tests/test_toy_copy.py)."""
    path = arrays.write(dict(COPY_RECIPE), tmp_path)
    state = arrays.train(tmp_path, verbose=0)
    predictor, metrics = train(dict(COPY_RECIPE), tmp_path, epochs=0, output=tmp_path / "pretrained", verbose=0,
                               attention_examples=0)
    vocabulary = predictor.target_tokenizer.vocabulary
    size = len(vocabulary)

    stored = np.load(path)
    pairs = data.load("toy-copy", "train")
    assert len(stored["train_target"]) == len(pairs)  # none dropped: row i is pair i
    row = next(i for i, (_, target) in enumerate(pairs) if any(w not in vocabulary.tokens for w in target.split()))
    words = pairs[row][0].split()
    new = {}  # the source's words outside the vocabulary, numbered by first appearance
    expected = [vocabulary.id(w) if w in vocabulary.tokens else size + new.setdefault(w, len(new)) for w in words]
    assert stored["train_source_extended"][row].tolist() == expected + [0] * (12 - len(words))
    assert stored["train_target"][row].tolist() == expected[:3] + [0]  # a copied word: the id of its source place
    assert max(expected[:3]) >= size and UNK_ID not in stored["train_target"]
    assert (stored["train_target"] >= size).sum() / (stored["train_target"] != 0).sum() > 0.5  # mostly copied
    assert stored["dev_source_extended"].shape == stored["dev_source"].shape
    assert (stored["dev_reference"] >= size).any()

    print(f"\ntoy copy from arrays ({keras.backend.backend()}): dev exact match {state['best']:.1f}%, "
          f"test {metrics['test']['exact_match']:.1f}% after {state['epoch']} epochs")
    assert state["epoch"] == COPY_RECIPE["epochs"] and state["best"] >= 95.0
    # zoo.training.train scores the text the same weights emit alike: the extended dev references are right
    assert metrics["dev"]["exact_match"] == pytest.approx(state["best"], abs=1e-6)
    assert metrics["test"]["exact_match"] >= 95.0
    fresh = ["zebu the kofi and mapo lisen", "a karotu is bimu rasel", "vonapi dulek of the sarima"]
    copied = [" ".join(s.split()[:3]) for s in fresh]
    assert {w for text in copied for w in text.split() if w not in vocabulary.tokens} == {"zebu", "karotu", "vonapi",
                                                                                          "dulek"}
    assert zoo.load(tmp_path / "pretrained").predict(fresh) == copied


def test_the_coverage_loss_adds_to_the_compiled_loss_of_both_training_paths():
    """``compile_trainer`` (``zoo train`` and step 2 alike): the loss of a pointer-generator with coverage is
    the cross-entropy plus λ times its coverage loss, on this backend too."""
    rng = np.random.default_rng(0)
    source = rng.integers(4, 12, (8, 6))
    inputs, target, weights = arrays.BucketedBatches(source, rng.integers(4, 14, (8, 4)), batch_size=8,
                                                     source_extended=np.where(source >= 10, source + 2, source))[0]
    losses = []
    for weight in (0.0, 1.0, 3.0):
        keras.utils.set_random_seed(3)  # the same weights each time: the coverage loss has none
        model = models.build("pointer_generator", {"source_vocab_size": 12, "target_vocab_size": 12, "embedding_dim": 4,
                                                   "encoder_units": 4, "units": 8, "max_oov": 2, "coverage": True,
                                                   "coverage_weight": weight})
        compile_trainer(model, {"learning_rate": 0.01, "clipnorm": 5.0})
        losses.append(model.trainer.evaluate(inputs, target, sample_weight=weights, verbose=0, return_dict=True)["loss"])
    assert losses[1] > losses[0] + 1e-3
    assert losses[2] - losses[0] == pytest.approx(3 * (losses[1] - losses[0]), rel=1e-3)
