import keras
import numpy as np
import pytest
from keras import ops

from zoo.layers.attention import LuongAttention, masked_softmax


def _inputs(seed=0, batch=3, src_len=5, units=4):
    rng = np.random.default_rng(seed)
    query = rng.normal(size=(batch, units)).astype("float32")
    memory = rng.normal(size=(batch, src_len, units)).astype("float32")
    lengths = np.array([5, 3, 1])[:batch]
    mask = np.arange(src_len)[None, :] < lengths[:, None]
    return query, memory * mask[:, :, None], mask, lengths


@pytest.mark.parametrize("score", ["dot", "general", "concat"])
def test_weights_sum_to_one_and_are_exactly_zero_on_padding(score):
    query, memory, mask, _ = _inputs()
    context, weights = LuongAttention(score)(query, memory, mask)
    weights = np.asarray(weights)
    np.testing.assert_allclose(weights.sum(axis=-1), 1.0, atol=1e-6)
    assert np.all(weights[~mask] == 0.0)
    assert np.all(weights[mask] > 0.0)
    np.testing.assert_allclose(np.asarray(context), np.einsum("bs,bsm->bm", weights, memory), atol=1e-5)


@pytest.mark.parametrize("score", ["dot", "general", "concat"])
def test_padded_batch_agrees_with_each_example_alone(score):
    query, memory, mask, lengths = _inputs(seed=1)
    attention = LuongAttention(score)
    context, weights = attention(query, memory, mask)
    for i, n in enumerate(lengths):
        alone_context, alone_weights = attention(query[i:i + 1], memory[i:i + 1, :n], mask[i:i + 1, :n])
        np.testing.assert_allclose(np.asarray(weights)[i, :n], np.asarray(alone_weights)[0], atol=1e-6)
        np.testing.assert_allclose(np.asarray(context)[i], np.asarray(alone_context)[0], atol=1e-6)


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_half_precision_scores_keep_zeros_on_padding_and_no_nan_on_an_all_padding_row(dtype):
    # under mixed precision the scores arrive in float16 (where -1e9 is -inf) or bfloat16
    scores = np.array([[3.0, -2.0, 60000.0, 1.0], [0.5, 0.25, -1.0, 2.0], [1.0, 2.0, 3.0, 4.0]])
    mask = np.array([[True, True, False, True], [True, True, True, True], [False] * 4])
    weights = masked_softmax(ops.cast(scores, dtype), mask)
    assert keras.backend.standardize_dtype(weights.dtype) == dtype
    weights = np.asarray(ops.cast(weights, "float32"))
    real = np.where(mask[:2], scores[:2], -np.inf)
    expected = np.exp(real - real.max(-1, keepdims=True))
    np.testing.assert_allclose(weights[:2], expected / expected.sum(-1, keepdims=True), atol=1e-2)
    assert np.all(weights[~mask] == 0.0)  # the masked 60000 too, and the whole all-padding row


def test_bad_arguments_name_the_argument():
    with pytest.raises(ValueError, match="score must be one of"):
        LuongAttention("cosine")
    query, memory, mask, _ = _inputs()
    with pytest.raises(ValueError, match="score='dot' needs query and memory of the same size"):
        LuongAttention("dot")(query[:, :3], memory, mask)
