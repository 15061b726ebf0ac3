"""The shipped ``speech-las`` (pretrained/speech-las): committed clips in voices it never heard, the card's
figures, the attention moving forward through the clip, the export answering WAV bytes as ``predict``
does, and every kind of bad audio the issue lists, in ``predict`` and in the export alike."""
import json

import jiwer
import numpy as np
import pytest

import zoo
from zoo.data import speech
from zoo.frontends.audio import wav_bytes

from toy_checks import check_export_answers_as_predict, saved_model_cli_run

NAME = "speech-las"


@pytest.fixture(scope="module")
def las():
    return zoo.load(NAME)


def waveform(clip: bytes) -> np.ndarray:
    """WAV bytes at 16 kHz -> (samples,) float in [-1, 1]."""
    import io
    import wave

    with wave.open(io.BytesIO(clip)) as handle:
        return np.frombuffer(handle.readframes(handle.getnframes()), "<i2") / 32768.0


def test_the_card_reports_each_unheard_voice_group_greedy_and_beam():
    metrics = json.loads((zoo.hub.resolve(NAME) / "metrics.json").read_text())
    for group in speech.GROUPS:
        for decoding in ("test", "beam"):  # greedy, beam
            figures = metrics["parts"][f"speech-{group}"][decoding]
            assert 0.0 <= figures["cer"] <= figures["wer"] <= 100.0 and figures["count"] == speech.TEST_SIZE
    card = (zoo.hub.resolve(NAME) / "README.md").read_text()
    assert "speech-espeak" in card and "speech-flite" in card


def test_it_transcribes_clips_in_voices_it_never_heard(las):
    for group, most in (("espeak", 0.25), ("flite", 0.6)):
        pairs = speech.load_group(group)[:12]
        outputs = las.predict([clip for clip, _ in pairs], beam_size=4)
        wer = jiwer.wer([text for _, text in pairs], outputs)
        print(f"\n{group}: WER {100 * wer:.1f} % on 12 clips; e.g. {pairs[0][1]!r} -> {outputs[0]!r}")
        assert wer <= most


def test_the_attention_moves_forward_through_the_clip(las):
    clip, text = speech.load_group("espeak")[0]
    best = las.decode([clip])[0][0]
    peaks = best.attention.argmax(axis=1)  # (characters + 1,) frame of each character's peak
    assert best.attention.shape[0] == len(best.tokens) + 1
    assert np.mean(np.diff(peaks) >= 0) >= 0.9 and peaks[-1] > peaks[0]


def test_the_export_reads_wav_bytes_and_answers_as_predict(tmp_path):
    clips = [clip for clip, _ in speech.load_group("flite")[:2]] + [speech.load_group("espeak")[0][0]]
    check_export_answers_as_predict(zoo.hub.resolve(NAME), clips, tmp_path, atol=1e-3)


def bad_audio() -> dict:
    """name -> WAV bytes (or not) of each case the issue lists, made from a committed clip."""
    clip, _ = speech.load_group("espeak")[1]
    voice = waveform(clip)
    t = np.arange(len(voice)) / 16000
    at_8k = np.interp(np.arange(0, len(voice), 2), np.arange(len(voice)), voice)  # crude, like a phone
    at_44k = np.interp(np.arange(0, len(voice), 16000 / 44100), np.arange(len(voice)), voice)
    return {
        "clean": clip,
        "empty": b"",
        "not a wav": b"ID3\x04 an mp3 file, say",
        "stereo": wav_bytes(np.stack([voice, voice], axis=1), 16000),
        "8 kHz": wav_bytes(at_8k, 8000),
        "44.1 kHz": wav_bytes(at_44k, 44100),
        "silence": wav_bytes(np.zeros(16000), 16000),
        "clipping": wav_bytes(np.clip(voice * 6.0, -1.0, 1.0), 16000),
        "10 minutes": wav_bytes(0.1 * np.sin(2 * np.pi * 200 * np.arange(600 * 8000) / 8000), 8000),
        "tone": wav_bytes(0.3 * np.sin(2 * np.pi * 440 * t), 16000),
    }


def test_bad_audio_has_a_defined_answer_in_predict_and_in_the_export(las, tmp_path):
    cases = bad_audio()
    reference = las.predict([cases["clean"]])[0]
    same = las.predict([cases["stereo"], cases["clipping"], cases["silence"], cases["tone"]])
    assert same[0] == reference  # stereo is mixed down to the same samples
    assert jiwer.cer(reference, same[1]) <= 0.2  # clipped speech is still speech
    assert same[2] == ""  # silence: nothing said
    resampled = las.predict([cases["8 kHz"], cases["44.1 kHz"]])
    print(f"\nreference {reference!r}; 8 kHz {resampled[0]!r}; 44.1 kHz {resampled[1]!r}")
    assert jiwer.cer(reference, resampled[1]) <= 0.2
    for name, error in (("empty", r"inputs\[0\]: empty"), ("not a wav", r"inputs\[0\]: not a WAV file"),
                        ("10 minutes", r"inputs\[0\]: 600\.00 s long, more than the 12\.0 s limit")):
        with pytest.raises(ValueError, match=error):
            las.predict([cases[name]])

    from zoo import export

    version = export.export(zoo.hub.resolve(NAME), tmp_path / "exports", beam_size=2)
    names = ["clean", "empty", "not a wav", "stereo", "silence", "10 minutes"]
    out = saved_model_cli_run(version, "audio", [cases[n] for n in names], tmp_path / "cli")
    outputs = [row[0].decode() for row in out["outputs"]]
    errors = dict(zip(names, (e.decode() for e in out["error"])))
    assert outputs[0] == outputs[3] and outputs[0] and outputs[1] == outputs[2] == outputs[4] == outputs[5] == ""
    assert errors["empty"].startswith("empty") and errors["not a wav"].startswith("not a WAV file")
    assert errors["10 minutes"].startswith("600.00 s long") and errors["silence"] == errors["clean"] == ""
