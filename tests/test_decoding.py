import keras
import numpy as np
import pytest
import tensorflow as tf

from zoo import decoding
from zoo.text.vocab import END_ID, PAD_ID, START_ID

SOURCE = np.array([[4, 5, 6, 7], [8, 9, 0, 0], [10, 11, 4, 0]], "int32")


def test_greedy_is_argmax_and_scores_are_teacher_forced_log_probs(tiny_model):
    out = decoding.greedy(tiny_model, SOURCE, max_length=6)
    ids, lengths, scores = np.asarray(out.ids), np.asarray(out.lengths), np.asarray(out.scores)
    for row in range(len(SOURCE)):
        n = int(lengths[row])
        emitted = ids[row, : n + 1] if n < 6 and ids[row, n] == END_ID else ids[row, :n]
        decoder_input = np.concatenate([[START_ID], emitted[:-1]])[None].astype("int32")
        logits = np.array(tiny_model.trainer({"source": SOURCE[row:row + 1], "decoder_input": decoder_input}))[0]
        logits[:, [PAD_ID, START_ID]] = -1e9
        log_probs = np.asarray(keras.ops.log_softmax(logits, axis=-1))
        np.testing.assert_array_equal(np.argmax(log_probs, axis=-1), emitted)
        np.testing.assert_allclose(scores[row], log_probs[np.arange(len(emitted)), emitted].sum(), atol=1e-4)
        assert np.all(ids[row, len(emitted):] == PAD_ID)


def test_attention_rows_are_distributions_over_real_source_tokens(tiny_model):
    out = decoding.greedy(tiny_model, SOURCE, max_length=5)
    attention, ids = np.asarray(out.attention), np.asarray(out.ids)
    emitted = ids != PAD_ID
    np.testing.assert_allclose(attention.sum(-1)[emitted], 1.0, atol=1e-5)
    assert np.all(attention[~emitted] == 0)
    assert np.all(attention[1, :, 2:] == 0)  # padding of row 1 never attended


def test_batch_composition_does_not_change_results(tiny_model):
    batch = decoding.greedy(tiny_model, SOURCE, max_length=6)
    for row, n in enumerate([4, 2, 3]):
        alone = decoding.greedy(tiny_model, SOURCE[row:row + 1, :n], max_length=6)
        np.testing.assert_array_equal(np.asarray(alone.ids)[0], np.asarray(batch.ids)[row])
        np.testing.assert_allclose(np.asarray(alone.scores)[0], np.asarray(batch.scores)[row], atol=1e-5)


def test_compiled_decoder_matches_eager_and_stops_early(tiny_model):
    compiled = decoding.compile_decoder(lambda s: decoding.greedy(tiny_model, s, max_length=6))
    eager = decoding.greedy(tiny_model, SOURCE, max_length=6)
    traced = compiled(tf.constant(SOURCE))
    np.testing.assert_array_equal(np.asarray(traced.ids), np.asarray(eager.ids))

    def graph_size(max_length):
        fn = tf.function(lambda s: decoding.greedy(tiny_model, s, max_length=max_length))
        graph = fn.get_concrete_function(tf.TensorSpec([None, None], tf.int32)).graph
        loops = [op for op in graph.get_operations() if op.type in ("While", "StatelessWhile")
                 and not op.name.startswith("luong_encoder")]
        assert len(loops) == 1  # one decode loop
        return len(graph.as_graph_def().node) + sum(len(f.node_def) for f in graph.as_graph_def().library.function)

    assert graph_size(6) == graph_size(60)  # traced once, not unrolled per token


@pytest.mark.parametrize("bad", [0, -1, 2.5, True, None])
def test_bad_max_length(tiny_model, bad):
    with pytest.raises(ValueError, match="max_length must be an integer >= 1"):
        decoding.greedy(tiny_model, SOURCE, max_length=bad)
