"""Speech to text (zoo/data/speech.py, zoo/models/las.py): the synthesized corpus holds voices and texts
out as it says, the committed test clips are what the plan says, the pyramid reduces time 8x with
masks right, and a tiny Listen, Attend and Spell learns a handful of committed clips."""
import dataclasses
import io
import wave

import keras
import numpy as np
import pytest

from zoo.data import speech
from zoo.layers.encoders import PyramidalEncoder
from zoo.models import build


def test_transcripts_are_lowercase_words_and_anything_else_is_left_out():
    assert speech.normalize("And God said, Let there be light: and there was light.") == \
        "and god said let there be light and there was light"
    assert speech.normalize("Don\u2019t save -- close the window!") == "don't save close the window"
    for bad in ("Chapter 3", "C++ compiler", "café au lait", "50% off", "'quoted'"):
        assert speech.normalize(bad) is None, bad
    assert set("".join(text for _, text in speech.texts("test"))) <= set(speech.ALPHABET)


def test_splits_hold_different_texts_and_test_voices_are_never_heard_in_training():
    train, dev, test = ({text for _, text in speech.texts(split)} for split in ("train", "dev", "test"))
    assert not train & test and not train & dev and not dev & test
    assert {source for source, _ in speech.texts("test")} == {"bible", "libreoffice", "debian", "numbers"}
    assert not set(speech.TEST_ACCENTS) & set(speech.TRAIN_ACCENTS)
    assert not set(speech.TEST_VARIANTS) & set(speech.TRAIN_VARIANTS)
    assert not set(speech.TEST_FLITE) & set(speech.TRAIN_FLITE)
    dev_plan = speech.plan("dev")
    assert dev_plan == speech.plan("dev")  # deterministic
    assert {u.engine for u in dev_plan} == {"espeak-ng", "flite"} and all(u.text in dev for u in dev_plan)
    espeak, flite = speech.plan("test", "espeak"), speech.plan("test", "flite")
    assert all(u.voice.split("+")[0] in speech.TEST_ACCENTS and u.voice.split("+")[1] in speech.TEST_VARIANTS
               for u in espeak)
    assert {u.voice for u in flite} == set(speech.TEST_FLITE) and all(u.text in test for u in espeak + flite)
    with pytest.raises(ValueError, match="groups"):
        speech.plan("test", "festival")


def test_the_committed_test_clips_are_16_khz_wavs_of_the_planned_texts():
    pairs = speech.load_group("flite")
    assert len(pairs) == speech.TEST_SIZE and [t for _, t in pairs] == [u.text for u in speech.plan("test", "flite")]
    with wave.open(io.BytesIO(pairs[0][0])) as clip:
        assert (clip.getframerate(), clip.getnchannels(), clip.getsampwidth()) == (16000, 1, 2)
        seconds = clip.getnframes() / 16000
    assert 0.5 < seconds < 12.0
    assert speech.load_group("flite")[0][0] == pairs[0][0]  # the noise is seeded
    references = speech.DATASET.references("test")
    assert len(references) == 2 * speech.TEST_SIZE


def test_the_cached_clips_are_the_plans_and_a_missing_or_stale_cache_is_named(tmp_path, monkeypatch):
    """``speech.CLIPS`` (training from arrays) reads the synthesized cache: in plan order, or an error."""
    monkeypatch.setenv("ZOO_SPEECH_CACHE", str(tmp_path))
    with pytest.raises(FileNotFoundError, match="run `python -m zoo.data.speech cache`"):
        speech.CLIPS.waveforms("dev")
    with monkeypatch.context() as context:  # a machine without the synthesizers
        context.setenv("PATH", str(tmp_path))
        with pytest.raises(FileNotFoundError, match="needs espeak-ng and flite on PATH"):
            speech.CLIPS.build(("dev",))
    utterances = speech.plan("dev")
    assert speech.CLIPS.transcripts("dev") == [u.text for u in utterances]
    samples = np.arange(2 * len(utterances), dtype="int16")
    stale = [dataclasses.replace(u, text="hello") for u in utterances]
    speech._store(speech._cache_path("dev"), samples, stale, [2] * len(utterances))
    with pytest.raises(ValueError, match="does not hold the dev plan's clips: delete it"):
        speech.CLIPS.waveforms("dev")
    speech._store(speech._cache_path("dev"), samples, utterances, [2] * len(utterances))
    assert [clip.tolist() for clip in speech.CLIPS.waveforms("dev")[:2]] == [[0, 1], [2, 3]]


def test_mu_law_keeps_the_voice_38_db_above_its_quantization():
    t = np.arange(16000) / 16000
    voice = (0.5 * np.sin(2 * np.pi * 220 * t) * np.linspace(0.05, 1, 16000)).astype(np.float32)
    back = speech.mu_law_decode(speech.mu_law_encode(voice))
    snr = 10 * np.log10(np.mean(voice**2) / np.mean((voice - back) ** 2))
    assert snr > 35 and speech.mu_law_encode(np.array([-1.0, 0.0, 1.0])).tolist() == [0, 128, 255]


def test_the_pyramid_reduces_time_8x_with_masks_right():
    encoder = PyramidalEncoder(4, num_layers=3)
    rng = np.random.default_rng(0)
    features = rng.normal(size=(3, 50, 6)).astype("float32")
    lengths = np.array([50, 17, 8])
    mask = np.arange(50)[None, :] < lengths[:, None]
    features[~mask] = 0.0
    memory, memory_mask, (h, c) = encoder(features, mask)
    memory, memory_mask = np.asarray(memory), np.asarray(memory_mask)
    assert memory.shape == (3, 7, 8) and h.shape == c.shape == (3, 8)  # ceil(50 / 8) steps
    assert memory_mask.sum(axis=1).tolist() == [7, 3, 1]  # ceil(n / 2) three times
    assert np.all(memory[~memory_mask] == 0.0) and np.all(np.abs(memory[memory_mask]).sum(-1) > 0)
    alone, alone_mask, _ = encoder(features[1:2, :17], mask[1:2, :17])  # no padding: the same memory
    np.testing.assert_allclose(np.asarray(alone)[0], memory[1, :3], atol=1e-5)
    assert np.asarray(alone_mask).tolist() == [[True] * 3]


def test_las_needs_an_audio_source():
    with pytest.raises(ValueError, match="LAS listens to audio"):
        build("las", {"source_vocab_size": 20, "target_vocab_size": 9})
    with pytest.raises(ValueError, match="dot"):
        build("las", {"source_vocab_size": None, "target_vocab_size": 9, "source": {"kind": "audio"},
                      "listener_units": 8, "units": 32, "score": "dot"})


@pytest.fixture(scope="module")
def tiny_las(tmp_path_factory):
    """A tiny LAS trained on six short committed clips (the unheard flite voice) through the real pipeline:
    the audio frontend, bucketed batches, teacher forcing; saved as a pretrained folder -> (predictor,
    folder, pairs)."""
    from zoo import hub
    from zoo.data.pipeline import make_dataset
    from zoo.frontends.audio import AudioFrontend
    from zoo.predictor import Predictor
    from zoo.text.tokenizer import Tokenizer
    from zoo.text.vocab import Vocabulary
    from zoo.training.losses import compile_trainer

    pairs = sorted(speech.load_group("flite"), key=lambda pair: len(pair[0]))[:6]
    keras.utils.set_random_seed(0)
    tokenizer = Tokenizer(Vocabulary.build(sorted(set(t)) for _, t in pairs), split="chars")
    frontend = AudioFrontend(16000, max_seconds=4.0)
    source = {"kind": "audio", "sample_rate": 16000, "num_mels": 24, "stack": 2}
    model = build("las", {"source_vocab_size": None, "target_vocab_size": len(tokenizer.vocabulary),
                          "source": source, "embedding_dim": 16, "listener_units": 24, "listener_layers": 2,
                          "units": 48})
    compile_trainer(model, {"learning_rate": 0.01, "clipnorm": 5.0})
    dataset = make_dataset(pairs, frontend, tokenizer, batch_size=6, max_target_length=40, seed=0)
    model.trainer.fit(dataset.repeat(), steps_per_epoch=150, epochs=1, verbose=0)
    predictor = Predictor(model, frontend, tokenizer, max_target_length=40, name="tiny-las")
    folder = hub.save(predictor, tmp_path_factory.mktemp("las") / "tiny-las", {}, "# tiny LAS\n",
                      extra_config={"dataset": "speech", "beam": {"beam_size": 4, "alpha": 0.6}})
    return predictor, folder, pairs


def test_a_tiny_las_learns_a_handful_of_committed_clips(tiny_las):
    predictor, _, pairs = tiny_las
    clips, texts = [clip for clip, _ in pairs], [text for _, text in pairs]
    greedy, beam = predictor.predict(clips), predictor.predict(clips, beam_size=4)
    print("\ntiny LAS on six clips:", list(zip(texts, greedy)))
    assert sum(g == t for g, t in zip(greedy, texts)) >= 5 and sum(b == t for b, t in zip(beam, texts)) >= 5


def test_the_export_answers_wav_bytes_as_predict_and_bad_audio_alike(tiny_las, tmp_path):
    """The pyramid's pairing runs in the served graph; bad audio gets the same defined answer from
    ``predict`` and from the session loader: an error naming the reason, or for silence an empty transcript."""
    from toy_checks import check_export_answers_as_predict, saved_model_cli_run

    from zoo.frontends.audio import wav_bytes

    predictor, folder, pairs = tiny_las
    clips = [clip for clip, _ in pairs[:3]]
    check_export_answers_as_predict(folder, clips, tmp_path, atol=1e-3)
    with wave.open(io.BytesIO(clips[0])) as handle:
        voice = np.frombuffer(handle.readframes(handle.getnframes()), "<i2") / 32768.0
    cases = {"stereo": wav_bytes(np.stack([voice, voice], axis=1), 16000), "silence": wav_bytes(np.zeros(8000), 16000),
             "empty": b"", "not a wav": b"ID3 an mp3", "too long": wav_bytes(np.zeros(5 * 8000), 8000)}
    assert predictor.predict([cases["stereo"], cases["silence"]]) == [predictor.predict([clips[0]])[0], ""]
    for name, error in (("empty", r"inputs\[0\]: empty"), ("not a wav", r"inputs\[0\]: not a WAV file"),
                        ("too long", r"inputs\[0\]: 5\.00 s long, more than the 4\.0 s limit")):
        with pytest.raises(ValueError, match=error):
            predictor.predict([cases[name]])
    out = saved_model_cli_run(tmp_path / "exports" / "tiny-las" / "1", "audio", [clips[0], *cases.values()],
                              tmp_path / "bad")
    outputs, errors = [row[0].decode() for row in out["outputs"]], [e.decode() for e in out["error"]]
    assert outputs[1] == outputs[0] and outputs[2:] == [""] * 4 and errors[:3] == ["", "", ""]
    assert errors[3].startswith("empty") and errors[4].startswith("not a WAV") and errors[5].startswith("5.00 s long")


def test_fine_tuning_starts_from_a_speech_model_with_the_same_frontend(tiny_las):
    """``init_from`` a media model compares its frontend (it has no source tokenizer) and its config."""
    from zoo.training.train import load_initial_model

    predictor, folder, _ = tiny_las
    recipe = {"family": "las", "init_from": str(folder), "frontend": {"kind": "audio", "max_seconds": 4.0},
              "target_tokenizer": {"split": "chars"},
              "model": {k: v for k, v in predictor.model.get_config().items() if not k.endswith("vocab_size")}}
    assert load_initial_model(recipe).model.get_config() == predictor.model.get_config()
    with pytest.raises(ValueError, match=r"differs from the recipe in \['frontend'\]"):
        load_initial_model({**recipe, "frontend": {"kind": "audio", "max_seconds": 9.0}})
