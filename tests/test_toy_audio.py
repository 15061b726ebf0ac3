"""Speech-to-text in miniature, end to end: WAV bytes of keypad-tone "spoken digits" (2-5 DTMF tones
with random lengths, gaps, noise and sample rates, zoo/data/toy_audio.py) -> the digit string.
The frontend decodes and resamples the WAV in the graph, the model computes log-mel frames,
SpecAugment and a BiLSTM over stacked frames, attends over them and spells the digits."""
import numpy as np
import pytest

import zoo
from zoo.data import toy_audio
from zoo.frontends.audio import wav_bytes
from zoo.training.train import train

from toy_checks import assert_attention_moves_forward, check_export_answers_as_predict, saved_model_cli_run

RECIPE = {
    "name": "toy-audio", "dataset": "toy-audio", "family": "luong",
    "frontend": {"kind": "audio", "sample_rate": 8000, "max_seconds": 2.0},
    "model": {"embedding_dim": 16, "encoder_units": 32, "units": 64, "dropout": 0.0,
              "source": {"kind": "audio", "sample_rate": 8000, "frame_length": 200, "frame_step": 80,
                         "fft_length": 256, "num_mels": 24, "stack": 3,
                         "spec_augment": {"freq_masks": 1, "freq_width": 3, "time_masks": 1, "time_width": 4}}},
    "target_tokenizer": {"split": "chars"}, "max_target_length": 6, "batch_size": 32, "epochs": 10,
    "learning_rate": 0.005, "decay_from_epoch": 6, "decay_rate": 0.5, "clipnorm": 5.0, "seed": 1,
    "dev_examples": 200,
}
FRESH = toy_audio.make(6, seed=99)  # clips no split holds


@pytest.fixture(scope="module")
def audio_run(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("toy-audio")
    predictor, metrics = train(dict(RECIPE), workdir, output=workdir / "pretrained", verbose=0)
    return predictor, metrics, workdir


def test_learns_to_spell_the_digits(audio_run):
    predictor, metrics, _ = audio_run
    print(f"\ntoy audio: test exact match greedy {metrics['test']['exact_match']:.1f}%, "
          f"beam {metrics['beam']['test']['exact_match']:.1f}%, CER {metrics['test']['cer']:.2f}%")
    assert metrics["test"]["exact_match"] >= 95.0 and metrics["beam"]["test"]["exact_match"] >= 95.0
    clips, digits = [c for c, _ in FRESH], [d for _, d in FRESH]
    assert sum(p == d for p, d in zip(predictor.predict(clips), digits)) >= 5
    assert sum(p == d for p, d in zip(predictor.predict(clips, beam_size=4), digits)) >= 5
    n_best = predictor.decode(clips[:1], beam_size=4, n_best=3)[0]
    assert len({h.text for h in n_best}) == 3 and n_best[0].score >= n_best[1].score >= n_best[2].score


def test_the_frontend_rules_hold_for_the_model(audio_run, tmp_path):
    predictor, _, _ = audio_run
    clip, _ = FRESH[0]
    waveform, rate = toy_audio.clip("3917", np.random.default_rng(5))
    mono = wav_bytes(waveform, rate)
    stereo = wav_bytes(np.stack([waveform, waveform], axis=1), rate)  # the same sound on both channels
    assert predictor.predict([mono, stereo]) == ["3917", "3917"]
    path = tmp_path / "clip.wav"
    path.write_bytes(clip)
    assert predictor.predict([str(path)]) == predictor.predict([clip])  # a path reads the file
    silence = wav_bytes(np.zeros(4000), 8000)
    assert predictor.predict([silence, mono]) == ["", "3917"]  # nothing said: an empty transcript
    assert [h.text for h in predictor.decode([silence], beam_size=4)[0]] == [""]
    with pytest.raises(ValueError, match=r"inputs\[1\]: not a WAV file"):
        predictor.predict([clip, b"hello, not audio"])
    with pytest.raises(ValueError, match=r"inputs\[0\]: 3\.\d\d s long, more than the 2\.0 s limit"):
        predictor.predict([wav_bytes(np.zeros(3 * 8000), 8000)])


def test_attention_moves_through_the_clip_digit_by_digit(audio_run):
    predictor, _, _ = audio_run
    for clip, digits in FRESH[:3]:
        best = predictor.decode([clip])[0][0]
        if best.text != digits:
            continue
        assert_attention_moves_forward(best.attention, digits)  # over the stacked frames


def test_the_export_reads_wav_bytes_and_answers_as_predict(audio_run, tmp_path):
    _, _, workdir = audio_run
    clips = [clip for clip, _ in FRESH[:3]]
    check_export_answers_as_predict(workdir / "pretrained", clips, tmp_path)
    version = tmp_path / "exports" / "toy-audio" / "1"
    silence = wav_bytes(np.zeros(4000), 8000)
    out = saved_model_cli_run(version, "audio", [clips[0], b"not a wav", silence], tmp_path / "bad")
    errors = [e.decode() for e in out["error"]]
    assert errors[1].startswith("not a WAV file") and errors[0] == errors[2] == ""
    assert [o.decode() for o in out["outputs"][1]] == [""] * 2 and out["outputs"][0][0].decode()
    assert [o.decode() for o in out["outputs"][2]] == [""] * 2 and not out["scores"][2].any()
    attention = saved_model_cli_run(version, "audio", clips[:1], tmp_path / "attention", signature="attention")
    assert attention["weights"].shape[:2] == attention["output_tokens"].shape[:2]


def test_attention_over_time_in_a_notebook_and_in_tensorboard(audio_run, tmp_path):
    """``zoo.plot_attention`` on a clip: its spectrogram above one row per character (and </s>) over time;
    TensorBoard gets the same image per dev clip, and the predictions table names the clips."""
    from test_attention_maps import png_pixels, summaries

    from zoo.plot import figure_rgb, source_hypothesis_figure
    from zoo.training.callbacks import AttentionMapLogger
    from zoo.training.train import pick_examples

    predictor, _, _ = audio_run
    clips = [clip for clip, _ in FRESH[:2]]
    figure = zoo.plot_attention(predictor, clips[0])
    hypothesis = predictor.decode([clips[0]])[0][0]
    spectrogram, attention = figure.axes
    assert len(attention.get_yticklabels()) == len(hypothesis.tokens) + 1 and hypothesis.text in figure.get_suptitle()
    assert attention.get_xlim()[1] == pytest.approx(spectrogram.get_xlim()[1]) and attention.get_xlabel() == "seconds"
    with pytest.raises(TypeError, match="WAV bytes"):
        zoo.plot_attention(predictor, "3917")
    examples = pick_examples(predictor, [b"not a wav", *clips], 2)
    assert examples == clips
    logger = AttentionMapLogger(predictor, examples, tmp_path, beam_size=1)
    logger.on_train_begin()
    logger.on_epoch_end(0)
    logger.on_train_end()
    logged = summaries(tmp_path)
    assert sorted(logged) == ["attention/00", "attention/01", "predictions"]
    assert logged["predictions"][1][0][1][1][0] == b"clip 00"
    expected = figure_rgb(source_hypothesis_figure(predictor, clips[1], predictor.decode([clips[1]])[0][0]))
    np.testing.assert_array_equal(png_pixels(logged["attention/01"][1][0][1]), expected)
