"""The pointer-generator's output distribution and coverage loss (zoo/models/pointer_generator.py, See et al.
2017) on tiny untrained models: P(w) = p_gen P_vocab(w) + (1 - p_gen) Σ_{i: x_i = w} a_i is a distribution over
the extended vocabulary (V + max_oov), a model whose p_gen is 0 only copies, and the coverage loss counts the
attention paid twice. How a source's words get their extended ids and are read back: tests/test_toy_copy.py;
the family contract (step = trainer, padding, configs): tests/test_families.py."""
import numpy as np
import pytest
from keras import ops

from zoo import decoding
from zoo.models.pointer_generator import TINY as FLOOR  # P(w) floor before the log
from zoo.models.pointer_generator import CoverageLoss

from test_families import DECODER_INPUT, LENGTHS, SOURCE, TINY, VOCAB, tiny
from test_toy_copy import tiny_summarizer

V, MAX_OOV = VOCAB["target_vocab_size"], TINY["pointer_generator"]["max_oov"]
# SOURCE's words in the extended target vocabulary: row 0 "zebu 5 zebu kofi" (zebu and kofi outside the target
# vocabulary: V and V + 1), row 1 "mapo 6", row 2 "7"; 0 on padding
EXTENDED = np.array([[V, 5, V, V + 1], [V, 6, 0, 0], [7, 0, 0, 0]], "int32")


def copy_inputs(source=SOURCE, extended=EXTENDED) -> dict:
    return {**decoding.source_inputs(source), "source_extended": np.asarray(extended, "int32")}


def fix_p_gen(model, bias: float):
    """The model with p_gen = sigmoid(bias) at every step (its generate gate's kernel zeroed)."""
    kernel, _ = model.generate_gate.get_weights()
    model.generate_gate.set_weights([np.zeros_like(kernel), np.full((1,), bias, kernel.dtype)])
    return model


def step_distributions(model):
    """model.step over DECODER_INPUT (teacher forcing) -> P (batch, tgt_len, V + max_oov), attention
    (batch, tgt_len, src_len)."""
    context, state = model.encode(copy_inputs())
    probs, attention = [], []
    for t in range(DECODER_INPUT.shape[1]):
        log_probs, weights, state = model.step(ops.convert_to_tensor(DECODER_INPUT[:, t]), context, state)
        probs.append(np.exp(np.asarray(log_probs)))
        attention.append(np.asarray(weights))
    return np.stack(probs, axis=1), np.stack(attention, axis=1)


def test_the_mixture_is_a_distribution_over_the_extended_vocabulary():
    model = tiny("pointer_generator")
    trained = np.exp(np.asarray(model.trainer({**copy_inputs(), "decoder_input": DECODER_INPUT})))
    probs, _ = step_distributions(model)
    assert trained.shape == probs.shape == (3, 4, V + MAX_OOV)
    for p in (trained, probs):  # every step, the padded target steps of rows 1 and 2 too
        np.testing.assert_allclose(p.sum(axis=-1), 1.0, atol=1e-5)
    # an extended slot the source fills gets its word's share of the attention; the others, the floor
    assert np.all(probs[0, :, [V, V + 1]] > 1e-3) and np.all(probs[1, :, V] > 1e-3)
    assert np.all(probs[0, :, V + 2:] <= 2 * FLOOR) and np.all(probs[1, :, V + 1:] <= 2 * FLOOR)
    assert np.all(probs[2, :, V:] <= 2 * FLOOR)


def test_p_gen_mixes_generating_and_copying_exactly():
    model = tiny("pointer_generator")
    copying, attention = step_distributions(fix_p_gen(model, -100.0))  # p_gen = 0: the attention, by word
    expected = np.zeros_like(copying)
    for row, length in enumerate(LENGTHS):
        for i in range(length):
            expected[row, :, EXTENDED[row, i]] += attention[row, :, i]
    np.testing.assert_allclose(copying, expected, atol=1e-6)
    generating, same = step_distributions(fix_p_gen(model, 100.0))  # p_gen = 1: P_vocab alone
    np.testing.assert_array_equal(same, attention)  # p_gen only mixes: attention and state are the same
    assert np.all(generating[..., V:] <= 2 * FLOOR)
    np.testing.assert_allclose(generating[..., :V].sum(axis=-1), 1.0, atol=1e-5)
    half, _ = step_distributions(fix_p_gen(model, 0.0))  # p_gen = 1/2
    np.testing.assert_allclose(half, (copying + generating) / 2, atol=1e-6)


@pytest.mark.parametrize("strategy", [decoding.Greedy(), decoding.BeamSearch(beam_size=2, n_best=2)],
                         ids=["greedy", "beam"])
def test_a_model_that_only_copies_says_only_its_sources_tokens(strategy):
    model = fix_p_gen(tiny("pointer_generator"), -100.0)
    found = decoding.search(model, copy_inputs(SOURCE[:2], EXTENDED[:2]), strategy, max_length=5)
    ids, lengths = np.asarray(found.ids), np.asarray(found.lengths)  # (2, n_best, 5), (2, n_best)
    for row in range(2):
        for rank in range(strategy.n_best):
            assert lengths[row, rank] == 5  # no </s>: only the source's ids have probability
            assert set(ids[row, rank]) <= set(EXTENDED[row, :LENGTHS[row]]), (row, rank, ids[row, rank])


def test_a_model_that_only_copies_writes_its_sources_words():
    predictor = tiny_summarizer(truncate_source=False)
    fix_p_gen(predictor.model, -100.0)
    texts = ["zebu the kofi", "mapo (of)"]  # words the target vocabulary lacks (extended ids) and holds
    for text, n_best in zip(texts, predictor.decode(texts, beam_size=2, n_best=2)):
        for hypothesis in n_best:
            assert hypothesis.tokens and set(hypothesis.tokens) <= set(hypothesis.source_tokens), (text, hypothesis)


def coverage_loss(weights, decoder_input, weight: float = 1.0) -> float:
    """CoverageLoss(weight) of attention (batch, tgt_len, src_len) -> the loss it adds (and the attention passes)."""
    layer = CoverageLoss(weight)
    np.testing.assert_array_equal(np.asarray(layer(weights, np.asarray(decoder_input, "int32"))), weights)
    (loss,) = layer.losses
    return float(loss)


def one_hot(positions, src_len: int = 5) -> np.ndarray:
    """(batch, tgt_len) attended positions -> one-hot attention (batch, tgt_len, src_len)."""
    return np.eye(src_len, dtype="float32")[np.asarray(positions)]


def test_the_coverage_loss_counts_attention_paid_twice_on_real_target_steps():
    real = [[1, 4, 5, 6]]
    assert coverage_loss(one_hot([[2, 0, 4, 1]]), real) == 0.0  # never back to a position: exactly nothing
    # steps 2 and 3 go back to position 2: min(a, c) = 1 each, over 4 target tokens, times the weight
    assert coverage_loss(one_hot([[2, 0, 2, 2]]), real) == pytest.approx(2 / 4)
    assert coverage_loss(one_hot([[2, 0, 2, 2]]), real, weight=3.0) == pytest.approx(3 * 2 / 4)
    # padding steps (decoder input 0) count neither in the sum nor in the mean
    padded = [[1, 4, 0, 0], [1, 4, 5, 6]]
    assert coverage_loss(one_hot([[2, 0, 0, 0], [1, 3, 4, 0]]), padded) == 0.0
    assert coverage_loss(one_hot([[2, 0, 0, 0], [1, 3, 1, 1]]), padded) == pytest.approx(2 / 6)
    # uniform attention over 4 positions: each later step overlaps what came before by 4 * 1/4
    assert coverage_loss(np.full((1, 3, 4), 0.25, "float32"), [[1, 4, 5]]) == pytest.approx(2 / 3)


def test_without_copy_it_is_the_plain_attention_model_over_the_vocabulary():
    """``copy=False`` (the ablation of summarize-debian): no source_extended input, no p_gen, a
    distribution over the V vocabulary words only, and a Predictor that reads it as a plain model."""
    model = tiny("pointer_generator", copy=False, coverage=False)
    assert model.max_oov == 0 and model.generate_gate is None
    assert "source_extended" not in model.source_inputs()
    probs = np.exp(np.asarray(model.trainer({**decoding.source_inputs(SOURCE), "decoder_input": DECODER_INPUT})))
    assert probs.shape == (3, 4, V)
    np.testing.assert_allclose(probs.sum(axis=-1), 1.0, atol=1e-5)
    rebuilt = type(model).from_config(model.get_config())
    assert rebuilt.get_config()["copy"] is False and rebuilt.count_params() == model.count_params()
    assert model.count_params() < tiny("pointer_generator", coverage=False).count_params()  # the gate is gone
