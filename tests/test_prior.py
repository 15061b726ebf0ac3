"""A recipe's ``output_prior`` (zoo/training/prior.py): the projection's bias starts at the training
targets' log unigram frequencies, so a fresh model's first prediction is that unigram, not uniform."""
import numpy as np
import pytest
from keras import ops

from zoo import decoding
from zoo.text.vocab import END_ID, Vocabulary
from zoo.training.prior import log_prior, set_output_prior
from zoo.training.train import load_recipe

from test_families import DECODER_INPUT, SOURCE, VOCAB, tiny

V = VOCAB["target_vocab_size"]


def test_the_prior_counts_real_target_tokens_and_one_end_per_row():
    targets = np.array([[5, 5, 6, 0], [5, V + 1, 0, 0]])  # right-padded; V + 1: a copied word, no vocabulary id
    prior = np.exp(log_prior(targets, rows=2, vocab_size=V))
    counts = np.ones(V)  # add-one: no token has probability 0
    counts[5] += 3
    counts[6] += 1
    counts[END_ID] += 2
    np.testing.assert_allclose(prior, counts / counts.sum(), rtol=1e-6)


@pytest.mark.parametrize("family,config", [("pointer_generator", {"copy": False, "coverage": False}), ("luong", {})])
def test_a_fresh_model_with_the_prior_predicts_it_at_every_step(family, config):
    model = tiny(family, **config)
    inputs = {**decoding.source_inputs(SOURCE), "decoder_input": DECODER_INPUT}
    before = ops.convert_to_numpy(ops.log_softmax(model.trainer(inputs), axis=-1))  # (batch, tgt_len, V)
    np.testing.assert_allclose(before, -np.log(V), atol=0.2)  # an untrained model: about uniform
    prior = log_prior(np.array([[4, 4, 4, 5, 6, 7, 8]]), rows=1, vocab_size=V)
    set_output_prior(model, prior)
    after = ops.convert_to_numpy(ops.log_softmax(model.trainer(inputs), axis=-1))
    np.testing.assert_allclose(after, np.broadcast_to(prior, after.shape), atol=0.2)
    assert np.abs(after - prior).max() < np.abs(prior + np.log(V)).max() / 4


def test_a_prior_of_another_vocabulary_and_a_recipe_value_that_is_no_boolean_are_errors():
    with pytest.raises(ValueError, match=r"output prior has shape \(5,\); the projection's bias has \(9,\)"):
        set_output_prior(tiny("luong"), np.zeros(5, "float32"))
    recipe = load_recipe("summarize-debian-plain")
    with pytest.raises(ValueError, match="Recipe key 'output_prior' must be bool"):
        load_recipe({**recipe, "output_prior": "yes"})


def test_train_starts_the_projection_at_the_training_targets_prior(tmp_path, monkeypatch):
    """``zoo train`` with ``"output_prior": true`` sets the bias to the training targets' log unigram (caught
    as it is set; the run stops there)."""
    from zoo import data
    from zoo.training import train as training

    from conftest import TOY_RECIPE

    class Stop(Exception):
        pass

    def caught(model, prior):
        set_output_prior(model, prior)
        raise Stop(model, prior)

    monkeypatch.setattr(training, "set_output_prior", caught)
    with pytest.raises(Stop) as stopped:
        training.train({**TOY_RECIPE, "output_prior": True}, tmp_path, verbose=0)
    model, prior = stopped.value.args
    vocabulary = Vocabulary.load(tmp_path / "target_vocab.txt")
    targets = [target.split() for _, target in data.load("toy-reverse", "train")]
    ids = np.array([vocabulary.id(token) for target in targets for token in target])
    np.testing.assert_allclose(prior, log_prior(ids, rows=len(targets), vocab_size=len(vocabulary)), atol=1e-6)
    np.testing.assert_allclose(model.projection.get_weights()[1], prior)
