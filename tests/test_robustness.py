"""No input brings the exported model down, and concurrent callers get the answers serial ones get."""
import concurrent.futures

import numpy as np
import pytest
import tensorflow as tf
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from zoo import export

N_BEST = 2


@pytest.fixture(scope="module")
def serving(toy_run, tmp_path_factory):
    """The toy model exported with beam 3 / n-best 2, loaded as TF Serving would load it."""
    path = export.export(str(toy_run[2] / "pretrained"), tmp_path_factory.mktemp("exports"), beam_size=3,
                         n_best=N_BEST)
    return tf.saved_model.load(str(path)).signatures["serving_default"]


def call(signature, texts):
    out = signature(text=tf.constant(texts, dtype=tf.string, shape=[len(texts)]))
    return out["outputs"].numpy(), out["scores"].numpy(), out["lengths"].numpy()


def test_eight_threads_get_exactly_the_serial_answers(serving):
    rng = np.random.default_rng(0)
    requests = [["".join(rng.choice(list("0123456789"), size=rng.integers(1, 12))) for _ in range(rng.integers(1, 9))]
                for _ in range(64)]
    serial = [call(serving, texts) for texts in requests]
    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        threaded = list(pool.map(lambda texts: call(serving, texts), requests))
    for (outputs, scores, lengths), (t_outputs, t_scores, t_lengths) in zip(serial, threaded):
        np.testing.assert_array_equal(outputs, t_outputs)
        np.testing.assert_array_equal(lengths, t_lengths)
        np.testing.assert_allclose(scores, t_scores, atol=1e-6)


TEXTS = st.one_of(st.binary(max_size=40), st.text(max_size=40).map(lambda s: s.encode("utf-8")),
                  st.sampled_from([b"", b" ", b"\t\n", b"\xff\xfe\xfd", b"7" * 10_000, b"12345"]))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                               HealthCheck.function_scoped_fixture])
@given(st.lists(TEXTS, max_size=12), st.integers(0, 512))
def test_any_bytes_and_batch_size_give_valid_output(serving, texts, extra):
    batch = texts + [b"42"] * (extra if extra > 500 else 0)  # now and then a batch of 500+
    outputs, scores, lengths = call(serving, batch)
    assert outputs.shape == scores.shape == lengths.shape == (len(batch), N_BEST)
    assert np.all(np.isfinite(scores[lengths > 0])) and np.all(lengths >= 0)
    for row in outputs:
        for hypothesis in row:
            hypothesis.decode("utf-8")  # always valid UTF-8 text
