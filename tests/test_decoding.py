import itertools

import keras
import numpy as np
import pytest
import tensorflow as tf

from zoo import decoding
from zoo.decoding import BeamSearch, Greedy, Sampling, search
from zoo.models import Luong
from zoo.text.vocab import END_ID, PAD_ID, START_ID
from zoo.decoding import source_inputs

SOURCE = np.array([[4, 5, 6, 7], [8, 9, 0, 0], [10, 11, 4, 0]], "int32")


FORCED_LENGTH = 8  # decoder inputs are padded to this length (step t only sees steps < t)


def teacher_forced(model, source_row, sequences):
    """Log-probabilities of each emitted sequence under the trainer, in one batched call
    (<pad>/<s> forbidden as in decoding) -> [(log_probs (len, vocab), total)] per sequence."""
    decoder_input = np.zeros((len(sequences), FORCED_LENGTH), "int32")
    for row, emitted in enumerate(sequences):
        decoder_input[row, :len(emitted)] = np.concatenate([[START_ID], emitted[:-1]])
    source = np.repeat(source_row[None], len(sequences), axis=0)
    logits = np.array(model.trainer({**source_inputs(source), "decoder_input": decoder_input}))
    logits[:, :, [PAD_ID, START_ID]] = -1e9
    log_probs = np.asarray(keras.ops.log_softmax(logits, axis=-1))
    return [(log_probs[row, :len(emitted)], float(log_probs[row, np.arange(len(emitted)), emitted].sum()))
            for row, emitted in enumerate(sequences)]


def teacher_forced_log_probs(model, source_row, emitted):
    """Sum of log-probabilities of one emitted sequence under the trainer, and its per-step log_probs."""
    return teacher_forced(model, source_row, [np.asarray(emitted)])[0]


def emitted_tokens(ids_row, length, max_length):
    """The tokens a hypothesis emitted: its tokens plus </s> when it ended with one."""
    n = length + 1 if length < max_length and ids_row[length] == END_ID else length
    return ids_row[:n]


@pytest.mark.parametrize("strategy", [Greedy(), BeamSearch(4, alpha=0.6, n_best=3), BeamSearch(3, alpha=0.0, n_best=3),
                                      Sampling(seed=5, num_samples=2)])
def test_scores_equal_teacher_forced_log_probs(tiny_model, strategy):
    out = search(tiny_model, SOURCE, strategy, max_length=6)
    ids, lengths, scores = (np.asarray(x) for x in (out.ids, out.lengths, out.scores))
    assert ids.shape == (3, strategy.n_best, 6)
    for row, rank in itertools.product(range(3), range(strategy.n_best)):
        emitted = emitted_tokens(ids[row, rank], int(lengths[row, rank]), 6)
        log_probs, total = teacher_forced_log_probs(tiny_model, SOURCE[row], emitted)
        np.testing.assert_allclose(scores[row, rank], total, atol=1e-4)
        assert np.all(ids[row, rank, len(emitted):] == PAD_ID)
        if isinstance(strategy, Greedy):
            np.testing.assert_array_equal(np.argmax(log_probs, axis=-1), emitted)


def test_n_best_is_sorted_by_normalized_score(tiny_model):
    out = search(tiny_model, SOURCE, BeamSearch(6, alpha=0.8, n_best=6), max_length=6)
    normalized = np.asarray(out.normalized_scores)
    assert np.all(np.diff(normalized, axis=1) <= 1e-6)
    lp = ((5.0 + np.asarray(out.lengths) + (np.asarray(out.ids) == END_ID).any(-1)) / 6.0) ** 0.8
    np.testing.assert_allclose(normalized, np.asarray(out.scores) / lp, rtol=1e-5)


def test_beam_of_one_is_greedy(tiny_model):
    greedy, beam = search(tiny_model, SOURCE, Greedy(), 7), search(tiny_model, SOURCE, BeamSearch(1, n_best=1), 7)
    np.testing.assert_array_equal(np.asarray(beam.ids), np.asarray(greedy.ids))
    np.testing.assert_allclose(np.asarray(beam.scores), np.asarray(greedy.scores), atol=1e-6)


@pytest.fixture(scope="module")
def four_token_model():
    """Target vocabulary of 6 ids = 4 tokens a decoder may emit (</s>, <unk>, 4, 5) + <pad>, <s>."""
    keras.utils.set_random_seed(11)
    model = Luong(8, 6, embedding_dim=4, encoder_units=4, units=6)
    for weight in model.trainer.weights:  # sharper distributions than the default init
        weight.assign(weight * 3.0)
    return model


def exhaustive(model, source_row, max_length, alpha):
    """Every output of up to max_length tokens (ending in </s>, or cut at max_length) ranked like beam search."""
    emittable, sequences = [END_ID, 3, 4, 5], []
    for n in range(1, max_length + 1):
        for seq in itertools.product(emittable, repeat=n):
            if END_ID in seq[:-1] or (n < max_length and seq[-1] != END_ID):
                continue
            sequences.append(seq)
    scored = teacher_forced(model, source_row, [np.array(seq) for seq in sequences])
    ranked = [(total / ((5.0 + len(seq)) / 6.0) ** alpha, seq) for seq, (_, total) in zip(sequences, scored)]
    return sorted(ranked, reverse=True)


@pytest.mark.parametrize("alpha", [0.0, 1.0])
def test_unpruned_beam_equals_exhaustive_search(four_token_model, alpha):
    source = np.array([[4, 5, 6]], "int32")
    truth = exhaustive(four_token_model, source[0], 4, alpha)
    assert len(truth) == 1 + 3 + 9 + 27 + 81
    out = search(four_token_model, source, BeamSearch(len(truth), alpha=alpha, n_best=10), max_length=4)
    ids, lengths, normalized = np.asarray(out.ids)[0], np.asarray(out.lengths)[0], np.asarray(out.normalized_scores)[0]
    for rank in range(10):
        found = tuple(emitted_tokens(ids[rank], int(lengths[rank]), 4))
        assert found == truth[rank][1]
        np.testing.assert_allclose(normalized[rank], truth[rank][0], atol=1e-4)


def test_beam_as_wide_as_the_vocabulary_is_exact_for_two_tokens(four_token_model):
    source = np.array([[6, 7]], "int32")
    best = exhaustive(four_token_model, source[0], 2, 0.0)[0]
    out = search(four_token_model, source, BeamSearch(4, alpha=0.0), max_length=2)
    assert tuple(emitted_tokens(np.asarray(out.ids)[0, 0], int(np.asarray(out.lengths)[0, 0]), 2)) == best[1]


def test_larger_alpha_prefers_longer_outputs(four_token_model):
    rng = np.random.default_rng(0)
    sources = rng.integers(4, 8, size=(40, 5)).astype("int32")
    lengths = {alpha: np.asarray(search(four_token_model, sources, BeamSearch(4, alpha=alpha), 12).lengths)[:, 0]
               for alpha in (0.0, 2.0)}
    assert np.all(lengths[2.0] >= lengths[0.0]) or lengths[2.0].mean() > lengths[0.0].mean()
    assert lengths[2.0].sum() > lengths[0.0].sum()


def test_alpha_given_at_run_time_equals_the_strategys_in_one_compiled_loop(four_token_model):
    """``Predictor.decoder`` compiles one beam search for every alpha and passes alpha in."""
    sources = np.random.default_rng(0).integers(4, 8, size=(16, 5)).astype("int32")
    compiled = decoding.compile_decoder(
        lambda source, alpha: search(four_token_model, source, BeamSearch(4, alpha=0.0), 12, alpha=alpha),
        four_token_model.trainer.variables)
    for alpha in (0.0, 2.0):
        want = search(four_token_model, sources, BeamSearch(4, alpha=alpha), 12)
        got = compiled(sources, keras.ops.convert_to_tensor(alpha, "float32"))
        np.testing.assert_array_equal(np.asarray(got.ids), np.asarray(want.ids))
        np.testing.assert_allclose(np.asarray(got.scores), np.asarray(want.scores), atol=1e-5)


def test_max_length_ratio_caps_each_input(tiny_model):
    out = search(tiny_model, SOURCE, BeamSearch(2), max_length=20, max_length_ratio=(1.0, 1))
    emitted = np.asarray(out.lengths)[:, 0] + (np.asarray(out.ids)[:, 0] == END_ID).any(-1)
    assert np.all(emitted <= np.array([4, 2, 3]) + 1)


@pytest.mark.parametrize("strategy", [Greedy(), BeamSearch(3, n_best=2), Sampling(seed=1)])
def test_batch_composition_does_not_change_results(tiny_model, strategy):
    batch = search(tiny_model, SOURCE, strategy, max_length=6)
    for row, n in enumerate([4, 2, 3]):
        alone = search(tiny_model, SOURCE[row:row + 1, :n], strategy, max_length=6)
        if isinstance(strategy, Sampling):  # the noise depends on the row: compare row 0 only
            if row:
                continue
        np.testing.assert_array_equal(np.asarray(alone.ids)[0], np.asarray(batch.ids)[row])
        np.testing.assert_allclose(np.asarray(alone.scores)[0], np.asarray(batch.scores)[row], atol=1e-5)


def test_sampling_is_reproducible_and_cold_sampling_is_greedy(tiny_model):
    sample = lambda **kw: np.asarray(search(tiny_model, SOURCE, Sampling(**kw), max_length=8).ids)  # noqa: E731
    np.testing.assert_array_equal(sample(seed=3, num_samples=4), sample(seed=3, num_samples=4))
    assert not np.array_equal(sample(seed=3, num_samples=4), sample(seed=4, num_samples=4))
    greedy = np.asarray(search(tiny_model, SOURCE, Greedy(), max_length=8).ids)
    np.testing.assert_array_equal(sample(temperature=1e-6, seed=9), greedy)
    np.testing.assert_array_equal(sample(temperature=0.0, seed=9), greedy)
    np.testing.assert_array_equal(sample(top_k=1, seed=9), greedy)
    np.testing.assert_array_equal(sample(top_p=1e-6, seed=9), greedy)


def test_sampling_follows_the_model_distribution(four_token_model):
    """First-token frequencies over many samples match the model's probabilities."""
    source = np.repeat(np.array([[4, 5, 6]], "int32"), 500, axis=0)
    first = np.asarray(search(four_token_model, source, Sampling(seed=2, num_samples=4), max_length=1).ids)[..., 0]
    log_probs, _ = teacher_forced_log_probs(four_token_model, source[0], np.array([END_ID]))
    expected = np.exp(log_probs[0])
    observed = np.bincount(first.ravel(), minlength=6) / first.size
    np.testing.assert_allclose(observed, expected, atol=0.03)


def test_attention_rows_are_distributions_over_real_source_tokens(tiny_model):
    out = search(tiny_model, SOURCE, BeamSearch(3, n_best=2), max_length=5)
    attention, ids = np.asarray(out.attention), np.asarray(out.ids)
    assert attention.shape == (3, 2, 5, 4)
    emitted = ids != PAD_ID
    np.testing.assert_allclose(attention.sum(-1)[emitted], 1.0, atol=1e-5)
    assert np.all(attention[~emitted] == 0)
    assert np.all(attention[1, :, :, 2:] == 0)  # padding of row 1 never attended


def test_compiled_decoder_matches_eager(tiny_model):
    strategy = BeamSearch(3, n_best=2)
    compiled = decoding.compile_decoder(lambda s: search(tiny_model, s, strategy, max_length=6))
    eager = search(tiny_model, SOURCE, strategy, max_length=6)
    np.testing.assert_array_equal(np.asarray(compiled(SOURCE).ids), np.asarray(eager.ids))


def test_decode_loop_is_traced_once_not_unrolled(tiny_model):
    """The traced program is the same size for max_length 6 and 60: one loop, not one copy per token."""
    strategy = BeamSearch(3, n_best=2)
    backend = keras.backend.backend()
    if backend == "tensorflow":
        def program_size(max_length):
            fn = tf.function(lambda s: search(tiny_model, s, strategy, max_length=max_length), autograph=False)
            graph = fn.get_concrete_function(tf.TensorSpec([None, None], tf.int32)).graph
            loops = [op for op in graph.get_operations() if op.type in ("While", "StatelessWhile")
                     and "/" not in op.name]  # top level: the encoder's RNN loops are nested in its scope
            assert len(loops) == 1  # one decode loop
            definition = graph.as_graph_def()
            return len(definition.node) + sum(len(f.node_def) for f in definition.library.function)
    elif backend == "jax":
        import jax

        def equations(jaxpr):  # nested loop bodies and branches included
            count = 0
            for eqn in jaxpr.eqns:
                count += 1
                for param in eqn.params.values():
                    for sub in param if isinstance(param, (list, tuple)) else [param]:
                        inner = getattr(sub, "jaxpr", sub)
                        count += equations(inner) if hasattr(inner, "eqns") else 0
            return count

        def program_size(max_length):
            closed = jax.make_jaxpr(lambda s: search(tiny_model, s, strategy, max_length=max_length).ids)(SOURCE)
            return equations(closed.jaxpr)
    else:
        pytest.skip(f"no program-size check written for the {backend} backend")
    assert program_size(6) == program_size(60)


@pytest.mark.parametrize("make, message", [
    (lambda: BeamSearch(0), "beam_size must be an integer >= 1"),
    (lambda: BeamSearch(2, n_best=3), r"n_best must be <= beam_size \(2\)"),
    (lambda: Sampling(temperature=-1.0), r"temperature must be in \[0.0"),
    (lambda: Sampling(top_p=0.0), r"top_p must be in \(0.0, 1.0\]"),
    (lambda: Sampling(top_p=1.5), r"top_p must be in \(0.0, 1.0\]"),
    (lambda: Sampling(top_k=-2), "top_k must be an integer >= 0"),
])
def test_bad_strategy_arguments(make, message):
    with pytest.raises(ValueError, match=message):
        make()


@pytest.mark.parametrize("bad", [0, -1, 2.5, True, None])
def test_bad_max_length(tiny_model, bad):
    with pytest.raises(ValueError, match="max_length must be an integer >= 1"):
        search(tiny_model, SOURCE, Greedy(), max_length=bad)


def test_coverage_penalty_is_part_of_the_ranking(tiny_model):
    beta = 0.5
    out = search(tiny_model, SOURCE, BeamSearch(4, alpha=0.6, coverage_penalty=beta, n_best=4), max_length=6)
    scores, normalized = np.asarray(out.scores), np.asarray(out.normalized_scores)
    emitted = np.asarray(out.lengths) + (np.asarray(out.ids) == END_ID).any(-1)
    covered = np.asarray(out.attention).sum(axis=2)  # (batch, n_best, src_len)
    real = (SOURCE != 0)[:, None, :]
    penalty = beta * np.where(real, np.log(np.clip(covered, 1e-6, 1.0)), 0.0).sum(-1)
    np.testing.assert_allclose(normalized, scores / ((5.0 + emitted) / 6.0) ** 0.6 + penalty, rtol=1e-4, atol=1e-4)
    assert np.all(np.diff(normalized, axis=1) <= 1e-6)
    assert np.all(penalty <= 0) and np.any(penalty < 0)
