"""Predictor.score (teacher-forced log-probabilities) and Predictor.rerank (an n-best list reranked
by other models), on the toy model; the gain on real data is tested with the pretrained G2P models."""
import math

import numpy as np
import pytest

SOURCES = ["115", "4493", "0926685", "31"]


def candidates(predictor):
    results = predictor.decode(SOURCES, beam_size=4, n_best=4, alpha=0.0)
    sources = [source for source, hypotheses in zip(SOURCES, results) for _ in hypotheses]
    return results, sources, [h.text for hypotheses in results for h in hypotheses]


def test_score_equals_the_decoders_scores_for_its_outputs(toy_run):
    predictor = toy_run[0]
    results, sources, outputs = candidates(predictor)
    np.testing.assert_allclose(predictor.score(sources, outputs),
                               [h.score for hypotheses in results for h in hypotheses], atol=1e-4)


def test_texts_of_mixed_lengths_come_back_in_their_order_whatever_the_batch_size(toy_run):
    """decode and score batch texts of like lengths together (shortest first): every result still
    belongs to its own text, equal to what that text alone gives."""
    predictor = toy_run[0]
    texts = ["0926685", "31", "115", "4493", "80213", "31", "6620"]
    alone = [predictor.decode([text])[0][0] for text in texts]
    for batch_size in (1, 2, 3, 256):
        together = [hypotheses[0] for hypotheses in predictor.decode(texts, batch_size=batch_size)]
        assert [h.source_tokens for h in together] == [list(text) for text in texts]
        assert [h.text for h in together] == [h.text for h in alone]
        np.testing.assert_allclose([h.score for h in together], [h.score for h in alone], atol=1e-5)
        np.testing.assert_allclose(predictor.score(texts, [h.text for h in alone], batch_size=batch_size),
                                   [h.score for h in alone], atol=1e-4)


@pytest.mark.parametrize("batch_size", [0, -1, 2.5, "8", True])
def test_a_bad_batch_size_is_a_clear_error(toy_run, batch_size):
    predictor = toy_run[0]
    for call in (lambda: predictor.predict(["115"], batch_size=batch_size),
                 lambda: predictor.score(["115"], ["5 1 1"], batch_size=batch_size)):
        with pytest.raises(ValueError, match=f"batch_size must be a positive integer, got {batch_size!r}"):
            call()


def test_score_prefers_the_right_output_and_counts_unknown_tokens(toy_run):
    predictor = toy_run[0]  # the toy reverses digit strings
    right, wrong, unknown, empty = predictor.score(["4493"] * 4, ["3 9 4 4", "4 4 9 3", "3 9 4 x", ""])
    assert right > math.log(0.5) and right > wrong and right > unknown and right > empty
    assert predictor.score([], []).shape == (0,)


def test_rerank_adds_weighted_rescorer_scores(toy_run):
    predictor = toy_run[0]
    results, _, _ = candidates(predictor)
    unchanged = predictor.rerank(SOURCES, [(predictor, 0.0)], beam_size=4, n_best=4, alpha=0.0)
    doubled = predictor.rerank(SOURCES, [(predictor, 1.0)], beam_size=4, n_best=4, alpha=0.0)
    for original, same, twice in zip(results, unchanged, doubled):
        assert [h.text for h in same] == [h.text for h in twice] == [h.text for h in original]
        np.testing.assert_allclose([h.score for h in same], [h.score for h in original], atol=1e-6)
        np.testing.assert_allclose([h.score for h in twice], [2 * h.score for h in original], rtol=1e-4, atol=1e-4)
    top = predictor.predict(SOURCES, beam_size=4, rescorers=[(predictor, 0.5)], alpha=0.0)
    assert top == [hypotheses[0].text for hypotheses in results]


@pytest.mark.parametrize("options, error, message", [
    (dict(rescorers=[("toy", 1.0)]), TypeError, r"rescorers\[0\] must be a \(Predictor, weight\) pair"),
    (dict(rescorers=[(None, -1.0)]), TypeError, r"rescorers\[0\] must be"),
    (dict(rescorers="self-negative"), ValueError, r"rescorers\[0\]: the weight must be a finite number >= 0, got -1.0"),
    (dict(rescorers="self-nan"), ValueError, r"the weight must be a finite number >= 0, got nan"),
    (dict(rescorers="self", beam_size=1), ValueError, "beam_size must be >= 2 to rerank"),
    (dict(rescorers="self", beam_size=4, n_best=5), ValueError, r"n_best must be between 1 and beam_size \(4\)"),
    (dict(rescorers="self", beam_size=4, sample=True), ValueError, "do not work with sample=True"),
])
def test_bad_rescoring_arguments_are_clear_errors(toy_run, options, error, message):
    predictor = toy_run[0]
    weights = {"self": 1.0, "self-negative": -1.0, "self-nan": float("nan")}
    if isinstance(options["rescorers"], str):
        options = {**options, "rescorers": [(predictor, weights[options["rescorers"]])]}
    with pytest.raises(error, match=message):
        predictor.predict(SOURCES, **{"beam_size": 4, **options})


def test_bad_score_arguments_are_clear_errors(toy_run):
    predictor = toy_run[0]
    with pytest.raises(ValueError, match="sources and targets differ in length: 2 and 1"):
        predictor.score(["12", "34"], ["2 1"])
    with pytest.raises(TypeError, match=r"targets\[1\] must be a str, got int"):
        predictor.score(["12", "34"], ["2 1", 43])
    with pytest.raises(TypeError, match="targets must be a list of strings"):
        predictor.score(["12"], "2 1")


def test_tuned_weights_reproduce_their_wer_through_evaluate(toy_run):
    from zoo.evaluation import evaluate, tune_rescorers

    predictor = toy_run[0]
    tuned = tune_rescorers(predictor, "toy-reverse", [predictor], split="dev", grid=(0.0, 1.0), max_examples=100)
    assert tuned["count"] == 100 and tuned["weights"] in ([0.0], [1.0]) and tuned["wer"] <= tuned["beam_wer"]
    beam = evaluate(predictor, "toy-reverse", "dev", max_examples=100, beam_size=4, alpha=0.0)
    reranked = evaluate(predictor, "toy-reverse", "dev", max_examples=100, beam_size=4, alpha=0.0,
                        rescorers=[(predictor, tuned["weights"][0])])
    assert tuned["beam_wer"] == pytest.approx(beam["wer"]) and tuned["wer"] == pytest.approx(reranked["wer"])


@pytest.mark.parametrize("options, message", [
    (dict(grid=()), "grid and rescorers must each hold at least one entry, got 0 and 1"),
    (dict(grid=(0.0, -0.5)), r"grid\[1\]: the weight must be a finite number >= 0, got -0.5"),
    (dict(max_examples=0), "no dev examples to tune on"),
])
def test_bad_tuning_arguments_are_clear_errors(toy_run, options, message):
    from zoo.evaluation import tune_rescorers

    with pytest.raises(ValueError, match=message):
        tune_rescorers(toy_run[0], "toy-reverse", [toy_run[0]], **options)
