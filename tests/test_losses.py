"""Training losses: label smoothing is the formula it claims, and zero smoothing is Keras' own loss."""
import numpy as np
import pytest

from zoo.training.losses import SmoothedCrossEntropy, masked_loss


def test_label_smoothing_mixes_the_target_and_the_uniform_cross_entropy():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(2, 3, 7)).astype("float32")
    targets = rng.integers(0, 7, size=(2, 3))
    weights = np.array([[1, 1, 0], [1, 0, 0]], "float32")  # padding, as the pipeline weighs it
    log_probs = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    nll = -np.take_along_axis(log_probs, targets[..., None], -1)[..., 0]
    uniform = -log_probs.mean(-1)
    for e in (0.0, 0.1, 0.5):
        expected = ((1 - e) * nll + e * uniform) * weights
        got = float(masked_loss(e)(targets, logits, sample_weight=weights))
        np.testing.assert_allclose(got, expected.sum() / weights.size, rtol=1e-5)  # Keras: sum over all positions
    assert isinstance(masked_loss(0.1), SmoothedCrossEntropy)
    assert SmoothedCrossEntropy.from_config(masked_loss(0.1).get_config()).label_smoothing == pytest.approx(0.1)
    for bad in (-0.1, 1.0, True, "0.1"):
        with pytest.raises(ValueError, match="label_smoothing must be a number in"):
            masked_loss(bad)
