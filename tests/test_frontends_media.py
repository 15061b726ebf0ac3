"""Audio and image frontends: decoding, the rules for bad input (an error string, never an exception),
and batch independence."""
import io
import struct
import wave

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")
from PIL import Image  # noqa: E402

from zoo.frontends import from_config  # noqa: E402
from zoo.frontends.audio import AudioFrontend, wav_bytes  # noqa: E402
from zoo.frontends.image import PLACEHOLDER, ImageFrontend  # noqa: E402

# ----------------------------------------------------------------------------------------------- audio


def sine(hz, seconds, rate, amplitude=0.5):
    return amplitude * np.sin(2 * np.pi * hz * np.arange(int(round(seconds * rate))) / rate)


def peak_hz(waveform, rate):
    spectrum = np.abs(np.fft.rfft(waveform * np.hanning(len(waveform))))
    return np.argmax(spectrum) * rate / len(waveform)


@pytest.fixture(scope="module")
def audio():
    frontend = AudioFrontend(sample_rate=16000, max_seconds=2.0)
    return frontend, tf.function(frontend.decode, input_signature=[frontend.input_signature])


def decode(decoder, items):
    out = decoder(tf.constant(items, tf.string))
    return out["source"].numpy(), out["source_length"].numpy(), [e.decode() for e in out["error"].numpy()]


def test_audio_mono_16k_is_the_waveform(audio):
    _, decoder = audio
    tone = sine(440, 0.5, 16000)
    source, lengths, errors = decode(decoder, [wav_bytes(tone, 16000)])
    assert errors == [""] and lengths.tolist() == [8000] and source.shape == (1, 8000)
    assert source.dtype == np.float32
    np.testing.assert_allclose(source[0], tone, atol=1 / 32768)
    assert abs(peak_hz(source[0], 16000) - 440) <= 2


def test_audio_stereo_is_the_mean_of_its_channels(audio):
    _, decoder = audio
    left, right = sine(440, 0.25, 16000), sine(1000, 0.25, 16000, amplitude=0.25)
    source, lengths, errors = decode(decoder, [wav_bytes(np.stack([left, right], axis=1), 16000)])
    assert errors == [""] and lengths.tolist() == [4000]
    np.testing.assert_allclose(source[0], (left + right) / 2, atol=1 / 32768)


@pytest.mark.parametrize("rate", [8000, 22050])
def test_audio_other_rates_are_resampled_and_keep_their_frequency(audio, rate):
    _, decoder = audio
    tone = sine(1000, 0.5, rate)
    source, lengths, errors = decode(decoder, [wav_bytes(tone, rate)])
    expected = int(round(len(tone) * 16000 / rate))
    assert errors == [""] and lengths.tolist() == [expected] and source.shape == (1, expected)
    assert abs(peak_hz(source[0], 16000) - 1000) <= 2
    assert np.abs(source).max() <= 1.0


def pcm_header(audio_format=1, channels=1, rate=16000, bits=16, fmt_size=16, data=b"\0\0" * 4):
    block = channels * bits // 8
    fmt = struct.pack("<HHIIHH", audio_format, channels, rate, rate * block, block, bits) + b"\0" * (fmt_size - 16)
    body = b"WAVE" + b"fmt " + struct.pack("<I", fmt_size) + fmt + b"data" + struct.pack("<I", len(data)) + data
    return b"RIFF" + struct.pack("<I", len(body)) + body


def eight_bit_wav():
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1), out.setsampwidth(1), out.setframerate(8000), out.writeframes(b"\x80" * 100)
    return buffer.getvalue()


BAD_AUDIO = {
    "empty data": (wav_bytes(np.zeros(0), 16000), "empty: no audio samples"),
    "no bytes": (b"", "empty: no audio samples"),
    "too long": (wav_bytes(np.zeros(8000 * 5 // 2), 8000), "2.50 s long, more than the 2.0 s limit"),
    "garbage": (bytes(np.random.default_rng(0).integers(0, 256, 300, dtype=np.uint8)),
                "not a WAV file (no RIFF/WAVE header)"),
    "text file": (b"hello, this is a text file\n", "not a WAV file (no RIFF/WAVE header)"),
    "truncated header": (wav_bytes(sine(440, 0.1, 16000), 16000)[:30], "not a WAV file (truncated)"),
    "truncated data": (wav_bytes(sine(440, 0.1, 16000), 16000)[:100], "not a WAV file (truncated)"),
    "8-bit": (eight_bit_wav(), "not a WAV file (8-bit samples: only 16-bit PCM is read)"),
    "float": (pcm_header(audio_format=3, bits=32), "not a WAV file (audio format 3: only PCM, format 1, is read)"),
    "extensible": (pcm_header(fmt_size=40), "not a WAV file ('fmt ' chunk of 40 bytes: only the 16 or 18 byte "
                                            "PCM header is read, not WAVE_FORMAT_EXTENSIBLE)"),
    "odd rate": (pcm_header(rate=500), "unsupported sample rate 500 Hz (1000 to 384000 Hz are read)"),
}


def test_audio_bad_inputs_get_an_error_and_a_placeholder_not_an_exception(audio):
    _, decoder = audio
    good = wav_bytes(sine(440, 0.2, 16000), 16000)
    items = [good] + [raw for raw, _ in BAD_AUDIO.values()] + [good]
    source, lengths, errors = decode(decoder, items)
    assert errors == [""] + [error for _, error in BAD_AUDIO.values()] + [""]
    assert lengths.tolist() == [3200] + [1] * len(BAD_AUDIO) + [3200]
    assert not source[1:-1].any()  # placeholders are silent
    assert source.shape == (len(items), 3200)


def test_audio_good_rows_decode_the_same_alone_and_beside_bad_rows(audio):
    _, decoder = audio
    short, long = wav_bytes(sine(300, 0.1, 8000), 8000), wav_bytes(sine(700, 0.3, 22050), 22050)
    alone = [decode(decoder, [item]) for item in (short, long)]
    source, lengths, errors = decode(decoder, [b"junk", short, BAD_AUDIO["too long"][0], long])
    assert errors[1] == errors[3] == ""
    for row, (one_source, one_length, _) in zip((1, 3), alone):
        assert lengths[row] == one_length[0]
        np.testing.assert_array_equal(source[row, : one_length[0]], one_source[0])
        assert not source[row, one_length[0]:].any()  # right-padded with 0


def test_audio_corrupt_headers_never_raise_and_accepted_rows_decode():
    frontend = AudioFrontend(max_seconds=1.0)
    rng = np.random.default_rng(1)
    base = wav_bytes(rng.uniform(-1, 1, (40, 2)), 8000)
    junk = base[:12] + b"JUNK" + struct.pack("<I", 6) + b"abcdef" + base[12:] + b"LIST\x04\0\0\0info"
    items = [junk[:cut] for cut in range(len(junk) + 1)]
    for _ in range(400):
        mutated = bytearray(junk)
        for i in rng.integers(0, 60, size=2):
            mutated[i] = rng.integers(0, 256)
        items.append(bytes(mutated))
    errors = frontend.decode(tf.constant(items))["error"].numpy()
    assert errors[-401] == b""  # the whole file (JUNK before 'fmt ', LIST after 'data') is read
    for item, error in zip(items, errors):
        if not error:
            tf.audio.decode_wav(item)  # raises if the header walk let a bad file through


def test_audio_silence_is_blank_not_an_error(audio):
    """Digital silence and a clip below -50 dBFS are blank (an empty transcript), a quiet voice is not;
    ``silence_dbfs=None`` never blanks; a bad file is an error, not blank."""
    frontend, decoder = audio
    t = np.arange(8000) / 16000
    quiet = 10 ** (-40 / 20) * np.sin(2 * np.pi * 300 * t)  # -40 dBFS peak: heard
    hiss = 10 ** (-56 / 20) * np.sin(2 * np.pi * 300 * t)  # -56 dBFS: silence
    clips = [wav_bytes(np.zeros(8000), 16000), wav_bytes(hiss, 16000), wav_bytes(quiet, 16000), b"not a wav"]
    out = decoder(tf.constant(frontend.prepare(clips)))
    assert out["blank"].numpy().tolist() == [True, True, False, False]
    assert [e.decode() for e in out["error"].numpy()[:3]] == ["", "", ""]
    never = AudioFrontend(sample_rate=16000, silence_dbfs=None)
    assert not never.decode(tf.constant(clips[:2]))["blank"].numpy().any()


def test_audio_frontend_signature_config_and_prepare(audio, tmp_path):
    frontend, decoder = audio
    traced = decoder.get_concrete_function()
    assert traced.structured_outputs["source"].shape.as_list() == [None, None]
    assert traced.structured_outputs["source"].dtype == tf.float32
    assert traced.structured_outputs["source_length"].dtype == tf.int32
    empty = decoder(tf.zeros([0], tf.string))
    assert empty["source"].shape[0] == 0 and empty["error"].shape == (0,)
    assert frontend.get_config() == {"kind": "audio", "sample_rate": 16000, "max_seconds": 2.0, "silence_dbfs": -50.0}
    clone = from_config(frontend.get_config())
    assert isinstance(clone, AudioFrontend) and clone.get_config() == frontend.get_config()
    path = tmp_path / "a.wav"
    path.write_bytes(b"RIFF")
    assert frontend.prepare([str(path), b"x", path]) == [b"RIFF", b"x", b"RIFF"]
    with pytest.raises(TypeError, match=r"inputs\[1\]"):
        frontend.prepare([b"x", 3])
    with pytest.raises(ValueError, match="sample_rate"):
        AudioFrontend(sample_rate=0)
    with pytest.raises(ValueError, match="max_seconds"):
        AudioFrontend(max_seconds=-1)
    with pytest.raises(ValueError, match="silence_dbfs"):
        AudioFrontend(silence_dbfs=6.0)


# ----------------------------------------------------------------------------------------------- image

def encode(array, format="PNG", mode=None, **options):
    image = Image.fromarray(array) if mode is None else Image.fromarray(array).convert(mode)
    buffer = io.BytesIO()
    image.save(buffer, format=format, **options)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def image():
    frontend = ImageFrontend(height=32, width=64, max_pixels=1_000_000, max_bytes=200_000)
    return frontend, tf.function(frontend.decode, input_signature=[frontend.input_signature])


def decode_images(decoder, items):
    out = decoder(tf.constant(items, tf.string))
    return ({key: value.numpy() for key, value in out.items() if key != "error"},
            [e.decode() for e in out["error"].numpy()])


RNG = np.random.default_rng(0)
RGB = RNG.integers(0, 256, (32, 40, 3), dtype=np.uint8)
SMOOTH = np.stack([*np.meshgrid(np.linspace(0, 255, 40), np.linspace(0, 255, 32)), np.full((32, 40), 90.0)],
                  axis=-1).astype(np.uint8)  # (32, 40, 3) gradients: what JPEG keeps well


def test_image_rgb_png_of_canvas_height_is_kept_exactly_and_padded_white(image):
    _, decoder = image
    out, errors = decode_images(decoder, [encode(RGB)])
    assert errors == [""]
    assert out["source"].shape == (1, 32, 64, 3) and out["source"].dtype == np.uint8
    np.testing.assert_array_equal(out["source"][0, :, :40], RGB)
    assert (out["source"][0, :, 40:] == 255).all()
    assert out["content_shape"].tolist() == [[32, 40]] and out["source_length"].tolist() == [32 * 64]


def test_image_gray_rgba_1x1_16bit_and_jpeg(image):
    _, decoder = image
    gray = RNG.integers(0, 256, (16, 16), dtype=np.uint8)
    rgba = np.zeros((2, 2, 4), np.uint8)
    rgba[..., :3] = [200, 10, 10]
    rgba[..., 3] = [[0, 255], [128, 255]]  # transparent, opaque / half, opaque
    deep = np.full((4, 8), 0xABCD, np.uint16)
    items = [encode(gray), encode(rgba), encode(np.array([[[10, 20, 30]]], np.uint8)), encode(deep),
             encode(SMOOTH, "JPEG", quality=95), encode(RGB, "PNG", mode="P"), encode(gray, "JPEG")]
    out, errors = decode_images(decoder, items)
    source, content = out["source"], out["content_shape"]
    assert errors == [""] * len(items)
    # gray 16x16 -> 32x32, all three channels equal
    assert content[0].tolist() == [32, 32]
    assert (source[0, ..., 0] == source[0, ..., 1]).all() and (source[0, ..., 1] == source[0, ..., 2]).all()
    # RGBA 2x2 -> 32x32: a transparent corner is white, an opaque one the colour, alpha over white
    assert source[1, 0, 0].tolist() == [255, 255, 255] and source[1, 0, 31].tolist() == [200, 10, 10]
    assert np.allclose(source[1, 31, 0], [227, 132, 132], atol=2)
    # 1x1 fills a 32x32 square; the rest is white
    assert (source[2, :, :32] == [10, 20, 30]).all() and (source[2, :, 32:] == 255).all()
    # 16-bit PNG keeps its high byte; a 4x8 image scales to 32x64
    assert content[3].tolist() == [32, 64] and (source[3] == 0xAB).all()
    # JPEG: close to the original
    assert np.abs(source[4, :, :40].astype(int) - SMOOTH).mean() < 3
    assert content[5].tolist() == [32, 40] and content[6].tolist() == [32, 32]


def fake_png(width, height):
    """A PNG whose IHDR claims width x height, with a tiny (wrong) IDAT: nothing may decode it."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + b"\0\0\0\0"

    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", b"\0" * 8) + chunk(b"IEND", b"")


def fake_jpeg(width, height):
    """A real JPEG whose frame header is patched to claim width x height."""
    data = bytearray(encode(np.ascontiguousarray(RGB[:8, :8]), "JPEG"))
    sof = data.index(b"\xff\xc0")
    data[sof + 5:sof + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def test_image_bad_inputs_get_an_error_not_an_exception(image):
    _, decoder = image
    png, jpeg = encode(RGB), encode(RGB, "JPEG")
    bad = {
        "garbage": (bytes(RNG.integers(0, 256, 500, dtype=np.uint8)), "not a PNG or JPEG image"),
        "gif": (encode(RGB, "GIF"), "not a PNG or JPEG image"),
        "text": (b"just some text\n", "not a PNG or JPEG image"),
        "empty": (b"", "empty: no image bytes"),
        "big file": (b"\x89PNG\r\n\x1a\n" + b"\0" * 200_000, "200008 bytes, more than the 200000 byte limit"),
        "huge png": (fake_png(5000, 4000), "5000x4000 pixels, more than the 1000000 pixel limit"),
        "huge jpeg": (fake_jpeg(60000, 50000), "60000x50000 pixels, more than the 1000000 pixel limit"),
        "tall png": (fake_png(1, 70000), "1x70000 pixels, more than 65535 pixels per side"),
        "png cut": (png[: len(png) // 2], "damaged PNG (truncated)"),
        "png no IEND": (png[:-12], "damaged PNG (truncated)"),
        "png header only": (png[:20], "damaged PNG (truncated)"),
        "jpeg cut in header": (jpeg[:100], "damaged JPEG (truncated before the image data)"),
        "jpeg cut in scan": (jpeg[: len(jpeg) - 20], "damaged JPEG (truncated: no end-of-image marker after the "
                                                     "image data)"),
    }
    items = [png] + [raw for raw, _ in bad.values()]
    out, errors = decode_images(decoder, items)
    assert errors == [""] + [error for _, error in bad.values()]
    assert (out["source"][1:] == 255).all()  # placeholders: white canvases
    assert out["source_length"].tolist() == [32 * 64] * len(items)


def test_image_truncations_never_raise(image):
    _, decoder = image
    png, jpeg, progressive = encode(RGB), encode(RGB, "JPEG"), encode(RGB, "JPEG", progressive=True)
    items = [data[:cut] for data in (png, jpeg, progressive) for cut in range(0, len(data), 2)]
    _, errors = decode_images(decoder, items)
    assert all(errors[1:]) and errors[0] == "empty: no image bytes"


def test_image_good_rows_decode_the_same_alone_and_beside_bad_rows(image):
    _, decoder = image
    png, jpeg = encode(np.ascontiguousarray(RGB[:10, :30])), encode(SMOOTH, "JPEG")
    alone = [decode_images(decoder, [item])[0]["source"][0] for item in (png, jpeg)]
    out, errors = decode_images(decoder, [b"junk", png, fake_png(9999, 9999), jpeg])
    assert errors[1] == errors[3] == ""
    np.testing.assert_array_equal(out["source"][1], alone[0])
    np.testing.assert_array_equal(out["source"][3], alone[1])


def test_image_frontend_signature_and_config(image):
    frontend, decoder = image
    traced = decoder.get_concrete_function()
    assert traced.structured_outputs["source"].shape.as_list() == [None, 32, 64, 3]
    assert traced.structured_outputs["source"].dtype == tf.uint8
    assert traced.structured_outputs["content_shape"].shape.as_list() == [None, 2]
    assert frontend.variable_length is False
    assert decoder(tf.constant([PLACEHOLDER]))["error"].numpy().tolist() == [b""]
    clone = from_config(frontend.get_config())
    assert isinstance(clone, ImageFrontend) and clone.get_config() == frontend.get_config()
    with pytest.raises(ValueError, match="height"):
        ImageFrontend(height=0)
    with pytest.raises(TypeError, match=r"inputs\[0\]"):
        frontend.prepare([1.5])
