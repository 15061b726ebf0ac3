"""Families reading waveforms and images (``source={"kind": "audio" | "image"}``, zoo/layers/fronts.py)
behind the same contract as token ids: step-wise decoding reproduces the trainer, padding changes
nothing, greedy and beam search run, configs and weights round-trip. Backend-neutral: runs under
``KERAS_BACKEND=jax`` too."""
import keras
import numpy as np
import pytest

from zoo import decoding
from zoo.models import build

AUDIO = {"kind": "audio", "sample_rate": 8000, "frame_length": 200, "frame_step": 80, "fft_length": 256,
         "num_mels": 12, "stack": 2, "spec_augment": {"freq_masks": 1, "freq_width": 2, "time_masks": 1, "time_width": 3}}
IMAGE = {"kind": "image", "height": 16, "width": 48, "filters": [4, 8], "order": "strip", "invert": True}
MODELS = {
    "luong-audio": ("luong", dict(embedding_dim=6, encoder_units=5, units=8, source=AUDIO)),
    "bahdanau-audio": ("bahdanau", dict(embedding_dim=6, encoder_units=5, units=8, source=AUDIO)),
    "las-audio": ("las", dict(embedding_dim=6, listener_units=5, listener_layers=1, units=8, source=AUDIO)),
    "luong-image-rows": ("luong", dict(embedding_dim=6, encoder_units=5, units=8,
                                       source={**IMAGE, "order": "rows", "positions": True})),
    "bahdanau-image-strip": ("bahdanau", dict(embedding_dim=6, encoder_units=5, units=8, source=IMAGE)),
}
DECODER_INPUT = np.array([[1, 4, 5, 6], [1, 7, 8, 0]], "int32")


def tiny(name, seed=3):
    keras.utils.set_random_seed(seed)
    family, config = MODELS[name]
    return build(family, {"source_vocab_size": None, "target_vocab_size": 9, **config})


def sources(name):
    rng = np.random.default_rng(0)
    if "audio" in name:  # two clips, the second shorter: right-padded with zeros
        waveform = rng.normal(0, 0.1, (2, 1200)).astype("float32")
        waveform[1, 700:] = 0.0
        return {"source": waveform, "source_length": np.array([1200, 700], "int32")}
    images = rng.integers(0, 256, (2, 16, 48, 3)).astype("uint8")
    return {"source": images, "source_length": np.array([16 * 48] * 2, "int32")}


def trainer(model, inputs, decoder_input=DECODER_INPUT):
    return np.asarray(model.trainer({**inputs, "decoder_input": decoder_input}))


@pytest.mark.parametrize("name", sorted(MODELS))
def test_step_reproduces_the_trainer_and_attends_over_real_positions(name):
    model, inputs = tiny(name), sources(name)
    expected = trainer(model, inputs)
    context, state = model.encode(inputs)
    steps, weights = [], []
    for t in range(DECODER_INPUT.shape[1]):
        log_probs, attention, state = model.step(keras.ops.convert_to_tensor(DECODER_INPUT[:, t]), context, state)
        steps.append(np.asarray(log_probs))
        weights.append(np.asarray(attention))
    np.testing.assert_allclose(np.stack(steps, axis=1), expected, atol=1e-4)
    weights = np.stack(weights, axis=1)  # (batch, tgt_len, S')
    mask = np.asarray(context["memory_mask"])  # (batch, S')
    np.testing.assert_allclose(weights.sum(axis=-1), 1.0, atol=1e-5)
    assert np.all(weights[np.broadcast_to(~mask[:, None, :], weights.shape)] == 0.0)
    if "audio" in name:  # 1200 samples -> 15 frames -> 8 stacked; 700 -> 9 -> 5; LAS's pyramid halves them
        assert list(mask.sum(axis=1)) == ([4, 3] if name.startswith("las") else [8, 5])
    else:
        assert mask.all() and mask.shape[1] == (12 if "strip" in name else 4 * 12)


@pytest.mark.parametrize("name", ["luong-audio", "bahdanau-audio", "las-audio"])
def test_a_clip_alone_and_padded_in_a_batch_agree(name):
    model, inputs = tiny(name), sources(name)
    full = trainer(model, inputs)
    alone = trainer(model, {"source": inputs["source"][1:, :700], "source_length": inputs["source_length"][1:]},
                    DECODER_INPUT[1:])
    np.testing.assert_allclose(alone[0, :3], full[1, :3], atol=1e-4)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_greedy_and_beam_search_run_on_media_sources(name):
    model, inputs = tiny(name), sources(name)
    greedy = decoding.search(model, inputs, decoding.Greedy(), max_length=5)
    beam = decoding.search(model, inputs, decoding.BeamSearch(beam_size=3, n_best=2), max_length=5)
    beam1 = decoding.search(model, inputs, decoding.BeamSearch(beam_size=1, alpha=0.0), max_length=5)
    np.testing.assert_array_equal(np.asarray(beam1.ids), np.asarray(greedy.ids))
    assert np.asarray(beam.ids).shape == (2, 2, 5) and np.all(np.diff(np.asarray(beam.scores), axis=1) <= 1e-6)
    compiled = decoding.compile_decoder(lambda s: decoding.search(model, s, decoding.Greedy(), max_length=5),
                                        model.trainer.variables)
    np.testing.assert_array_equal(np.asarray(compiled(inputs).ids), np.asarray(greedy.ids))


@pytest.mark.parametrize("name", sorted(MODELS))
def test_config_and_weights_round_trip(name, tmp_path):
    model, inputs = tiny(name), sources(name)
    assert model.get_config()["source"] == MODELS[name][1]["source"]
    again = build(MODELS[name][0], model.get_config())
    model.save_weights(str(tmp_path / "w.weights.h5"))
    again.load_weights(str(tmp_path / "w.weights.h5"))
    np.testing.assert_allclose(trainer(again, inputs), trainer(model, inputs), atol=1e-6)


def test_spec_augment_changes_training_only():
    model, inputs = tiny("luong-audio"), sources("luong-audio")
    batch = {**inputs, "decoder_input": DECODER_INPUT}
    inference = np.asarray(model.trainer(batch, training=False))
    np.testing.assert_allclose(np.asarray(model.trainer(batch, training=False)), inference)
    assert not np.allclose(np.asarray(model.trainer(batch, training=True)), inference)


def test_positions_tell_the_cells_of_a_plain_picture_apart():
    from zoo.layers.fronts import ImageFront

    plain = np.full((1, 32, 32, 3), 200, "uint8")  # nothing but background: every interior cell alike
    lengths = np.array([32 * 32], "int32")
    for positions in (False, True):
        keras.utils.set_random_seed(0)
        front = ImageFront(32, 32, filters=[4, 8], positions=positions)  # an 8 x 8 grid
        cells = np.asarray(front(plain, lengths)[0])[0].reshape(8, 8, 8)[1:-1, 1:-1].reshape(36, 8)
        distinct = len({tuple(np.round(cell, 4)) for cell in cells})
        assert distinct == (36 if positions else 1), positions
        assert ImageFront.from_config(front.get_config()).positions is positions


def test_the_positions_start_as_sinusoids_where_a_step_right_is_one_linear_map():
    from zoo.layers.fronts import grid_sinusoids

    table = grid_sinusoids(3, 4, 16).reshape(3, 4, 16)  # rows, columns: 8 channels of row, 8 of column
    np.testing.assert_array_equal(table[:, :, :8], table[:, :1, :8].repeat(4, axis=1))  # the row's half
    np.testing.assert_array_equal(table[:, :, 8:], table[:1, :, 8:].repeat(3, axis=0))  # the column's half
    np.testing.assert_allclose(table[0, 0], [0, 1] * 4 + [0, 1] * 4)  # sin 0, cos 0
    columns = table[0, :, 8:].reshape(4, 4, 2)  # (column, frequency, sin / cos)
    frequencies = 1.0 / 10000.0 ** (np.arange(4) / 4)
    for k, w in enumerate(frequencies):  # each pair turns by its angle w per column, from every column
        turn = np.array([[np.cos(w), -np.sin(w)], [np.sin(w), np.cos(w)]])  # (sin, cos) @ turn
        np.testing.assert_allclose(columns[:-1, k] @ turn, columns[1:, k], atol=1e-6)
    assert grid_sinusoids(2, 2, 7)[:, -1].tolist() == [0.0] * 4  # an odd last channel


def test_a_bad_source_config_is_a_clear_error():
    with pytest.raises(ValueError, match=r"source kind must be one of \['audio', 'image'\]"):
        build("luong", {"source_vocab_size": None, "target_vocab_size": 9, "source": {"kind": "video"}})
    with pytest.raises(ValueError, match="order must be one of"):
        build("luong", {"source_vocab_size": None, "target_vocab_size": 9, "source": {**IMAGE, "order": "spiral"}})
    with pytest.raises(ValueError, match="positions must be True or False, got 'yes'"):
        build("luong", {"source_vocab_size": None, "target_vocab_size": 9, "source": {**IMAGE, "positions": "yes"}})
    with pytest.raises(ValueError, match="source_vocab_size must be a positive integer, got None"):
        build("luong", {"source_vocab_size": None, "target_vocab_size": 9})
