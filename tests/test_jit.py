"""``Predictor.jit_compile`` (``zoo.load(name, jit_compile=True)``): XLA-compiled decoding on TensorFlow
over batches padded to a few shapes (``bucket_shape``) gives what the plain compiled loop gives."""
import numpy as np
import pytest

import zoo
from zoo import data
from zoo.predictor import bucket_shape, bucket_size


def test_buckets_pad_rows_to_a_power_of_two_and_lengths_to_a_few_widths():
    assert [bucket_size(n) for n in (1, 8, 9, 64, 65, 200)] == [8, 8, 16, 64, 128, 256]
    batch = {"source": np.array([[4, 5, 6], [7, 0, 0], [8, 9, 0]]), "source_length": np.array([3, 1, 2])}
    padded = bucket_shape(batch, variable_length=True)
    assert padded["source"].shape == (4, 8) and padded["source_length"].tolist() == [3, 1, 2, 2]
    np.testing.assert_array_equal(padded["source"][:, :3], np.concatenate([batch["source"], batch["source"][2:]]))
    assert not padded["source"][:, 3:].any()
    pictures = {"source": np.ones((1, 4, 4, 3)), "source_length": np.array([1])}  # fixed size: not widened
    assert bucket_shape(pictures, variable_length=False)["source"].shape == (1, 4, 4, 3)


def test_jit_compiled_decoding_gives_the_plain_loops_outputs_and_scores():
    words = sorted({source for source, _ in data.load("cmudict", "test")})[:20]
    plain, compiled = zoo.load("g2p-luong"), zoo.load("g2p-luong", jit_compile=True)
    assert compiled.jit_compile and not plain.jit_compile
    for beam in (1, 4):
        expected = plain.decode(words, beam_size=beam, n_best=min(beam, 2))
        for got in (compiled.decode(words, beam_size=beam, n_best=min(beam, 2)),
                    [compiled.decode([word], beam_size=beam, n_best=min(beam, 2))[0] for word in words[:3]]):
            for want, have in zip(expected, got):
                assert [h.text for h in have] == [h.text for h in want]
                np.testing.assert_allclose([h.score for h in have], [h.score for h in want], atol=1e-4)
                np.testing.assert_allclose(have[0].attention, want[0].attention, atol=1e-4)
    plain.predict(words, beam_size=4, alpha=0.0)
    compiled_loops = len(plain._decoders)
    for alpha in (0.6, 2.0):  # alpha is an input of the one beam search compiled (tests/test_decoding.py)
        plain.predict(words, beam_size=4, alpha=alpha)
    assert len(plain._decoders) == compiled_loops
    with pytest.raises(TypeError, match="jit_compile must be True or False, got 'yes'"):
        compiled.jit_compile = "yes"
