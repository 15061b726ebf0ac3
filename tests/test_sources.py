"""Numeric source layers (log-mel, SpecAugment, frame stacking, CNN grid) on the current Keras backend
(run it with KERAS_BACKEND=jax too), and the toy audio/image generators."""
import io
import wave

import keras
import numpy as np
import pytest
from keras import ops

from zoo.layers.sources import ConvGrid, LogMelSpectrogram, SpecAugment, StackFrames


def numpy(x):
    return keras.ops.convert_to_numpy(x)


def sine(hz, samples, rate=16000):
    return (0.5 * np.sin(2 * np.pi * hz * np.arange(samples) / rate)).astype("float32")


# -------------------------------------------------------------------------------------------- log-mel
# The log-mel tests share one batch shape (2, 2000) and the default layer: on JAX, every new shape
# compiles every op again.
SAMPLES = 2000


def test_log_mel_shapes_lengths_and_zero_padding():
    layer = LogMelSpectrogram()
    waveform = np.zeros((2, SAMPLES), "float32")
    waveform[0, :321] = sine(440, 321)
    waveform[1, :1] = 0.3
    features, frame_lengths = layer(waveform, np.array([321, 1], "int32"))
    features, frame_lengths = numpy(features), numpy(frame_lengths)
    assert features.shape == (2, 13, 40) and features.dtype == np.float32  # ceil(2000 / 160) = 13
    assert frame_lengths.tolist() == [3, 1]  # ceil(321 / 160), ceil(1 / 160)
    assert not features[0, 3:].any() and not features[1, 1:].any()
    assert np.isfinite(features).all() and features[0, :3].any()


def test_log_mel_rows_do_not_depend_on_batch_padding():
    layer = LogMelSpectrogram()
    tone = sine(700, 500)
    alone, _ = layer(tone[None], np.array([500]))
    padded = np.stack([np.pad(tone, (0, SAMPLES - 500)), sine(300, SAMPLES)])
    batch, lengths = layer(padded, np.array([500, SAMPLES]))
    assert numpy(lengths).tolist() == [4, 13]
    np.testing.assert_allclose(numpy(batch)[0, :4], numpy(alone)[0], atol=1e-4)


def test_a_sine_lands_in_the_mel_band_that_holds_its_frequency():
    layer = LogMelSpectrogram(normalize=False)
    features, _ = layer(np.stack([sine(1000, SAMPLES), sine(1000, SAMPLES)]), np.array([SAMPLES, SAMPLES]))
    bands = numpy(features)[0, 1:-3].argmax(axis=-1)  # frames fully inside the tone
    expected = layer.filterbank[round(1000 * 512 / 16000)].argmax()  # the band peaking at 1000 Hz's bin
    assert (bands == expected).all()
    centre = 700 * (10 ** (np.linspace(2595 * np.log10(1 + 20 / 700), 2595 * np.log10(1 + 8000 / 700), 42)[1:-1]
                           / 2595) - 1)
    assert abs(centre[expected] - 1000) < 60


def test_log_mel_normalizes_real_frames_per_band():
    layer = LogMelSpectrogram()
    waveform = np.random.default_rng(0).normal(size=(2, SAMPLES)).astype("float32")
    waveform[0, 1600:] = 0.0
    features, frame_lengths = layer(waveform, np.array([1600, SAMPLES]))
    for row, length in enumerate(numpy(frame_lengths).tolist()):
        real = numpy(features)[row, :length]
        np.testing.assert_allclose(real.mean(axis=0), 0, atol=1e-4)
        np.testing.assert_allclose(real.std(axis=0), 1, atol=1e-2)


def test_log_mel_checks_its_arguments():
    with pytest.raises(ValueError, match="fft_length"):
        LogMelSpectrogram(frame_length=600, fft_length=512)
    with pytest.raises(ValueError, match="max_hz"):
        LogMelSpectrogram(max_hz=9000)


# -------------------------------------------------------------------------------------------- SpecAugment

def test_spec_augment_is_the_identity_at_inference_and_masks_in_training():
    features = np.random.default_rng(0).normal(size=(4, 50, 20)).astype("float32") + 5.0  # no zeros
    lengths = np.array([50, 40, 10, 1])
    layer = SpecAugment(freq_masks=2, freq_width=5, time_masks=2, time_width=6, seed=3)
    np.testing.assert_array_equal(numpy(layer(features, lengths)), features)
    np.testing.assert_array_equal(numpy(layer(features, lengths, training=False)), features)
    masked = numpy(layer(features, lengths, training=True))
    zero = masked == 0
    assert zero.any() and np.array_equal(masked[~zero], features[~zero])
    band_masked = zero.all(axis=1)  # (batch, mels): a whole band zeroed
    frame_masked = zero.all(axis=2)  # (batch, frames): a whole frame zeroed
    assert (band_masked.sum(axis=1) <= 2 * 5).all() and (frame_masked.sum(axis=1) <= 2 * 6).all()
    assert not frame_masked[1, 40:].any() and not frame_masked[2, 10:].any()  # only real frames
    assert np.array_equal(zero, band_masked[:, None, :] | frame_masked[:, :, None])  # bands and spans only


def test_spec_augment_draws_new_masks_each_call_and_repeats_with_its_seed():
    features = np.ones((2, 30, 16), "float32")
    lengths = np.array([30, 30])
    first = [numpy(SpecAugment(seed=5)(features, lengths, training=True)) for _ in range(2)]
    np.testing.assert_array_equal(first[0], first[1])
    layer = SpecAugment(seed=5)
    calls = [numpy(layer(features, lengths, training=True)) for _ in range(3)]
    assert not all(np.array_equal(calls[0], other) for other in calls[1:])


# -------------------------------------------------------------------------------------------- StackFrames

def test_stack_frames_shapes_lengths_and_order():
    features = np.arange(2 * 10 * 3, dtype="float32").reshape(2, 10, 3)
    stacked, lengths = StackFrames(3)(features, np.array([10, 7]))
    stacked, lengths = numpy(stacked), numpy(lengths)
    assert stacked.shape == (2, 4, 9) and lengths.tolist() == [4, 3]
    np.testing.assert_array_equal(stacked[0, 0], features[0, :3].reshape(-1))
    np.testing.assert_array_equal(stacked[1, 3], np.concatenate([features[1, 9], np.zeros(6)]))
    assert numpy(StackFrames(4)(features, np.array([1, 8]))[1]).tolist() == [1, 2]


# -------------------------------------------------------------------------------------------- ConvGrid

def test_conv_grid_size_and_row_major_cells():
    grid = ConvGrid(filters=(1,), kernel_size=1, pool=2)
    image = np.zeros((1, 8, 12, 3), "uint8")
    image[0, 5, 9] = 255  # row 5, column 9 -> cell (2, 4) of a 4 x 6 grid
    grid.build(image.shape)
    grid.convs[0].set_weights([np.ones((1, 1, 3, 1), "float32"), np.zeros(1, "float32")])
    cells = numpy(grid(image))
    assert grid.grid_shape(8, 12) == (4, 6) and cells.shape == (1, 24, 1)
    assert np.flatnonzero(cells[0, :, 0]).tolist() == [2 * 6 + 4]
    assert cells[0, 16, 0] == pytest.approx(3.0)  # 3 channels of 255 / 255
    assert ConvGrid().grid_shape(32, 128) == (8, 32) and ConvGrid(pool=3).grid_shape(32, 100) == (3, 11)
    with pytest.raises(ValueError, match="too small"):
        ConvGrid(filters=(4, 4, 4))(np.zeros((1, 4, 16, 3), "uint8"))


def test_conv_grid_group_normalization_keeps_the_units_alive():
    """Biases pushed far negative kill every ReLU of a plain grid (all cells zero: the collapse that made
    a scenes captioner ignore its pictures); with group normalization the pre-activations are centred
    again: most channels are positive on some cells (a group normalizes its channels together, so a
    channel can still sit below its group's mean) and the cells differ from picture to picture."""
    images = np.random.default_rng(0).integers(0, 256, (3, 16, 16, 3)).astype("uint8")
    outputs = {}
    for groups in (None, 4):
        keras.utils.set_random_seed(1)
        grid = ConvGrid(filters=(8, 16), groups=groups)
        grid.build(images.shape)
        for conv in grid.convs:
            conv.bias.assign(np.full(conv.bias.shape, -50.0, "float32"))
        outputs[groups] = numpy(grid(images))  # (3, 16 cells, 16)
    assert not outputs[None].any()
    normalized = outputs[4]
    assert (normalized.max(axis=(0, 1)) > 0).mean() >= 0.75 and (normalized > 0).mean() > 0.5
    assert np.abs(normalized[0] - normalized[1]).max() > 0.1
    with pytest.raises(ValueError, match="groups must divide"):
        ConvGrid(filters=(8, 12), groups=8)


def test_conv_grid_standardize_reads_a_picture_the_same_on_any_plain_background_level():
    """Standardized, a picture and the same picture 60 levels brighter (a lighter background) give the same
    cells; without it they differ. A blank picture standardizes to zeros, not a division by zero."""
    picture = np.random.default_rng(2).integers(0, 190, (1, 16, 16, 3)).astype("uint8")
    cells = {}
    for standardize in (False, True):
        keras.utils.set_random_seed(4)
        grid = ConvGrid(filters=(8,), standardize=standardize)
        cells[standardize] = [numpy(grid(picture + level)) for level in (0, 60)]
    assert np.abs(cells[False][0] - cells[False][1]).max() > 0.1
    np.testing.assert_allclose(cells[True][0], cells[True][1], atol=1e-4)
    assert np.isfinite(numpy(grid(np.full((1, 16, 16, 3), 77, "uint8")))).all()
    with pytest.raises(ValueError, match="standardize must be True or False"):
        ConvGrid(standardize="yes")


# -------------------------------------------------------------------------------------------- models, configs

def test_layers_in_a_functional_model_and_a_saved_round_trip(tmp_path):
    keras.utils.set_random_seed(0)
    waveform = keras.Input((None,), dtype="float32")
    lengths = keras.Input((), dtype="int32")
    features, frame_lengths = LogMelSpectrogram()(waveform, lengths)
    assert tuple(features.shape) == (None, None, 40)
    features = SpecAugment(seed=1)(features, frame_lengths)
    stacked, stacked_lengths = StackFrames(2)(features, frame_lengths)
    assert tuple(stacked.shape) == (None, None, 80)
    image = keras.Input((16, 24, 3), dtype="uint8")
    cells = ConvGrid(filters=(4, 8))(image)
    assert tuple(cells.shape) == (None, 4 * 6, 8)
    model = keras.Model([waveform, lengths, image], [stacked, stacked_lengths, cells])
    inputs = [np.stack([sine(500, SAMPLES), sine(900, SAMPLES)]), np.array([1600, 800], "int32"),
              np.random.default_rng(0).integers(0, 256, (2, 16, 24, 3)).astype("uint8")]
    outputs = [numpy(x) for x in model(inputs)]
    assert outputs[0].shape == (2, 7, 80) and outputs[1].tolist() == [5, 3] and outputs[2].shape == (2, 24, 8)
    model.save(tmp_path / "m.keras")
    again = keras.saving.load_model(tmp_path / "m.keras")
    for before, after in zip(outputs, [numpy(x) for x in again(inputs)]):
        np.testing.assert_allclose(before, after, atol=1e-5)


@pytest.mark.parametrize("layer", [
    LogMelSpectrogram(sample_rate=8000, frame_length=200, frame_step=80, fft_length=256, num_mels=20, min_hz=50,
                      max_hz=3800, normalize=False),
    SpecAugment(freq_masks=1, freq_width=3, time_masks=0, time_width=4, seed=7),
    StackFrames(4),
    ConvGrid(filters=(8, 16, 32), kernel_size=5, pool=3),
    ConvGrid(filters=(8, 16), groups=4, standardize=True),
], ids=lambda layer: type(layer).__name__)
def test_get_config_round_trip(layer):
    config = layer.get_config()
    clone = type(layer).from_config(config)
    assert clone.get_config() == config
    revived = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(layer))
    assert type(revived) is type(layer) and revived.get_config() == config


# -------------------------------------------------------------------------------------------- generators

DTMF_LOW, DTMF_HIGH = (697, 770, 852, 941), (1209, 1336, 1477)


def read_wav(data):
    with wave.open(io.BytesIO(data)) as wav:
        assert wav.getsampwidth() == 2 and wav.getnchannels() == 1
        samples = np.frombuffer(wav.readframes(wav.getnframes()), "<i2") / 32768.0
        return samples, wav.getframerate()


def dtmf_digits(samples, rate):
    """A plain DTMF decoder: energy segments, then the strongest row and column frequency of each."""
    hop = rate // 100  # 10 ms
    energy = np.array([np.mean(samples[i:i + hop] ** 2) for i in range(0, len(samples) - hop + 1, hop)])
    loud = energy > 0.3 * energy.max()
    edges = np.flatnonzero(np.diff(np.concatenate([[0], loud.astype(int), [0]])))
    keys = {(low, high): str(1 + 3 * r + c) for r, low in enumerate(DTMF_LOW[:3]) for c, high in enumerate(DTMF_HIGH)}
    keys[(941, 1336)] = "0"
    digits = ""
    for start, end in zip(edges[::2], edges[1::2]):
        segment = samples[start * hop:end * hop]
        spectrum = np.abs(np.fft.rfft(segment, 1 << 15))
        power = {hz: spectrum[round(hz * (1 << 15) / rate)] for hz in DTMF_LOW + DTMF_HIGH}
        digits += keys.get((max(DTMF_LOW, key=power.get), max(DTMF_HIGH, key=power.get)), "?")
    return digits


def test_toy_audio_is_deterministic_and_its_tones_spell_the_digits():
    pytest.importorskip("tensorflow")
    from zoo.data import toy_audio

    examples = toy_audio.make(12, seed=3)
    assert examples == toy_audio.make(12, seed=3) and examples != toy_audio.make(12, seed=4)
    rates = set()
    for data, digits in examples:
        samples, rate = read_wav(data)
        rates.add(rate)
        assert 2 <= len(digits) <= 5 and digits.isdigit()
        assert len(samples) / rate < 1.5 and np.abs(samples).max() <= 1.0
        assert dtmf_digits(samples, rate) == digits
    assert len(rates) > 1 and rates <= {8000, 16000, 22050}


def test_toy_images_are_deterministic_and_splits_are_different_strips_of_every_scan():
    pytest.importorskip("sklearn")
    from PIL import Image

    from zoo.data import toy_image

    splits = {name: set(toy_image.scan_indices(name).tolist()) for name in ("train", "dev", "test")}
    assert all(len(scans) == 1797 for scans in splits.values())  # see the module docstring
    assert not {png for png, _ in toy_image.load("dev")} & {png for png, _ in toy_image.load("test")}
    _, targets = toy_image.scans()
    for name in splits:
        strips = toy_image.strips(8, seed=1, split=name)
        assert toy_image.make(8, seed=1, split=name) == [(s.png, s.digits) for s in strips]
        for strip in strips:
            assert set(strip.scans) <= splits[name]
            assert strip.digits == "".join(str(targets[i]) for i in strip.scans) and 2 <= len(strip.digits) <= 5
            picture = Image.open(io.BytesIO(strip.png))
            assert picture.format == "PNG" and picture.height == 32 and picture.width <= 128
    assert toy_image.make(4, seed=1, split="train") != toy_image.make(4, seed=2, split="train")
    with pytest.raises(ValueError, match="split"):
        toy_image.make(1, seed=0, split="validation")
