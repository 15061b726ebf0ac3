import keras
import numpy as np
import pytest

from zoo.models import Luong, build
from zoo.decoding import source_inputs

SOURCE = np.array([[4, 5, 6, 7], [8, 9, 0, 0], [10, 0, 0, 0]], "int32")
DECODER_INPUT = np.array([[1, 4, 5, 6], [1, 7, 8, 0], [1, 3, 0, 0]], "int32")


def _teacher_forced_by_steps(model, source, decoder_input):
    """Runs ``step`` over decoder_input token by token -> (batch, tgt_len, vocab) log-probabilities."""
    context, state = model.encode(source_inputs(source))
    logits = []
    for t in range(decoder_input.shape[1]):
        step_logits, _, state = model.step(keras.ops.convert_to_tensor(decoder_input[:, t]), context, state)
        logits.append(np.asarray(step_logits))
    return np.stack(logits, axis=1)


@pytest.mark.parametrize("score", ["dot", "general", "concat"])
def test_step_model_reproduces_the_trainer(score):
    keras.utils.set_random_seed(3)
    model = Luong(12, 9, embedding_dim=6, encoder_units=4, units=8, score=score)
    trainer_logits = np.asarray(model.trainer({**source_inputs(SOURCE), "decoder_input": DECODER_INPUT}))
    np.testing.assert_allclose(_teacher_forced_by_steps(model, SOURCE, DECODER_INPUT), trainer_logits, atol=1e-5)


def test_source_padding_does_not_change_results(tiny_model):
    full = np.asarray(tiny_model.trainer({**source_inputs(SOURCE), "decoder_input": DECODER_INPUT}))
    for row, n in enumerate([4, 2, 1]):
        alone = tiny_model.trainer({**source_inputs(SOURCE[row:row + 1, :n]), "decoder_input": DECODER_INPUT[row:row + 1]})
        np.testing.assert_allclose(np.asarray(alone)[0], full[row], atol=1e-5)


def test_config_round_trip_rebuilds_an_identical_model(tiny_model, tmp_path):
    config = tiny_model.get_config()
    assert config == {"source_vocab_size": 12, "target_vocab_size": 9, "embedding_dim": 6, "encoder_units": 5,
                      "encoder_layers": 1, "bidirectional": True, "units": 8, "score": "general", "dropout": 0.0}
    clone = build("luong", config)
    tiny_model.save_weights(str(tmp_path / "model.weights.h5"))
    clone.load_weights(str(tmp_path / "model.weights.h5"))
    inputs = {**source_inputs(SOURCE), "decoder_input": DECODER_INPUT}
    np.testing.assert_array_equal(np.asarray(clone.trainer(inputs)), np.asarray(tiny_model.trainer(inputs)))


def test_deeper_unidirectional_encoder_builds():
    model = Luong(12, 9, embedding_dim=6, encoder_units=8, encoder_layers=2, bidirectional=False, units=8, score="dot")
    assert np.asarray(model.trainer({**source_inputs(SOURCE), "decoder_input": DECODER_INPUT})).shape == (3, 4, 9)


@pytest.mark.parametrize("kwargs, message", [
    ({"score": "cosine"}, "score must be one of"),
    ({"units": 0}, "units must be a positive integer"),
    ({"encoder_units": -3}, "encoder_units must be a positive integer"),
    ({"dropout": 1.5}, r"dropout must be in \[0, 1\)"),
    ({"score": "dot", "encoder_units": 4, "units": 16}, "score='dot' needs the encoder memory size"),
])
def test_bad_config_is_a_clear_error(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Luong(12, 9, **kwargs)


def test_unknown_family():
    with pytest.raises(ValueError, match="Unknown model family 'transformer'"):
        build("transformer", {})
