import numpy as np
import pytest

from zoo.data.pipeline import make_dataset, tokenize_pairs
from zoo.text.tokenizer import Tokenizer
from zoo.text.vocab import END_ID, START_ID, Vocabulary

SOURCE = Tokenizer(Vocabulary(list("0123456789")), split="chars")
TARGET = Tokenizer(Vocabulary(list("0123456789")), split="whitespace")


def _pairs():
    rng = np.random.default_rng(0)
    pairs = []
    for _ in range(200):
        digits = "".join(rng.choice(list("0123456789"), size=rng.integers(1, 30)))
        pairs.append((digits, " ".join(digits[::-1])))
    return pairs + [("", "1"), ("   ", "1"), ("12", "")]


def test_empty_and_overlong_examples_are_dropped_and_counted():
    pairs = _pairs()
    _, _, report = tokenize_pairs(pairs, SOURCE, TARGET, max_source_length=20, max_target_length=20)
    too_long = sum(len(s) > 20 for s, _ in pairs[:200])
    assert report.empty == 3 and report.too_long == too_long and report.kept == 200 - too_long


def test_batches_are_right_padded_shifted_and_bucketed():
    dataset = make_dataset(_pairs(), SOURCE, TARGET, batch_size=16, max_source_length=40, max_target_length=40,
                           bucket_boundaries=(8, 16, 24))
    seen, batches = 0, 0
    for inputs, target, weights in dataset:
        batches += 1
        source, decoder_input = inputs["source"].numpy(), inputs["decoder_input"].numpy()
        target, weights = target.numpy(), weights.numpy()
        assert source.dtype == np.int32 and decoder_input.shape == target.shape == weights.shape
        lengths = (source != 0).sum(axis=1)
        for row in range(len(source)):
            n = lengths[row]
            assert np.all(source[row, :n] != 0) and np.all(source[row, n:] == 0)  # right padding
            m = int(weights[row].sum())  # target tokens + </s>
            assert decoder_input[row, 0] == START_ID and target[row, m - 1] == END_ID
            np.testing.assert_array_equal(decoder_input[row, 1:m], target[row, : m - 1])  # the shift
            assert m == n + 1  # reversing keeps the length
        bucket = np.digitize(lengths + 1, [8, 16, 24], right=False)
        assert len(set(bucket)) == 1, f"lengths {lengths} span several buckets"
        seen += len(source)
    assert seen == 200  # no example lost: partial batches are kept
    assert int(dataset.cardinality()) == batches  # known up front, so progress bars have a total


def test_data_parallel_batches_split_evenly_and_lose_less_than_a_split_per_bucket():
    pairs = _pairs()[:200]
    per_bucket = np.bincount(np.digitize([len(s) + 1 for s, _ in pairs], [8, 16, 24]), minlength=4)
    for multiple in (3, 4):
        dataset = make_dataset(pairs, SOURCE, TARGET, batch_size=12, max_source_length=40, max_target_length=40,
                               bucket_boundaries=(8, 16, 24), batch_multiple=multiple, seed=1)
        sizes = [len(target) for _, target, _ in dataset]
        assert all(size % multiple == 0 and size > 0 for size in sizes)  # every device gets an equal slice
        assert sum(sizes) == sum(count - count % 12 % multiple for count in per_bucket)  # < multiple lost per bucket
        assert int(dataset.cardinality()) == len(sizes)
    with pytest.raises(ValueError, match="batch_size 10 must be a multiple of batch_multiple 4"):
        make_dataset(pairs, SOURCE, TARGET, batch_size=10, batch_multiple=4)


def test_each_process_feeds_its_share_of_the_same_batches():
    """Training in two processes (``process``): each builds the same shuffled batches and keeps its
    half of every batch's rows, padded as the whole batch; together they are the one-process batches."""
    pairs = _pairs()[:200]
    options = dict(batch_size=12, max_source_length=40, max_target_length=40, bucket_boundaries=(8, 16, 24),
                   batch_multiple=4, seed=3)
    whole = list(make_dataset(pairs, SOURCE, TARGET, **options))
    shares = [list(make_dataset(pairs, SOURCE, TARGET, process=(rank, 2), **options)) for rank in (0, 1)]
    assert len(shares[0]) == len(shares[1]) == len(whole) > 10
    for batch, first, second in zip(whole, *shares):
        for key in batch[0]:
            np.testing.assert_array_equal(batch[0][key], np.concatenate([first[0][key], second[0][key]]))
        np.testing.assert_array_equal(batch[1], np.concatenate([first[1], second[1]]))
        assert len(first[1]) == len(second[1])  # equal shares: every device gets as many rows
    with pytest.raises(ValueError, match=r"process \(0, 3\) must be .* count dividing batch_multiple 4"):
        make_dataset(pairs, SOURCE, TARGET, process=(0, 3), **options)


def test_fixed_widths_pad_each_batch_to_its_bucket_so_few_shapes_compile():
    """``fixed_widths`` (JAX): every batch as wide as its bucket allows; the same examples and tokens."""
    pairs = _pairs()[:300]
    options = dict(batch_size=16, max_source_length=40, max_target_length=40, bucket_boundaries=(8, 16, 24),
                   shuffle=False)
    own, fixed = (list(make_dataset(pairs, SOURCE, TARGET, fixed_widths=flag, **options)) for flag in (False, True))
    assert len(own) == len(fixed) >= 15
    widths = {inputs["source"].shape[1] for inputs, _, _ in fixed}
    assert widths <= {7, 15, 23, 41} and len({tuple(target.shape) for _, target, _ in fixed}) <= 8
    assert len({inputs["source"].shape[1] for inputs, _, _ in own}) > len(widths)  # fewer shapes than before
    for (a, target_a, weights_a), (b, target_b, weights_b) in zip(own, fixed):
        assert b["source"].shape[1] == b["decoder_input"].shape[1] == target_b.shape[1] >= a["source"].shape[1]
        np.testing.assert_array_equal(b["source"][:, :a["source"].shape[1]], a["source"])
        assert not np.any(b["source"][:, a["source"].shape[1]:])  # the rest is padding
        np.testing.assert_array_equal(b["source_length"], a["source_length"])
        np.testing.assert_array_equal(target_b[:, :target_a.shape[1]], target_a)
        assert weights_b.numpy().sum() == weights_a.numpy().sum()  # no token gained or lost


def test_token_budget_batches_fit_the_budget():
    """``batch_tokens``: each bucket's batches hold what fits the budget at its longest length (bigger
    batches of short examples), every example once."""
    pairs = _pairs()[:200]
    budget, boundaries = 160, (8, 16, 24)
    dataset = make_dataset(pairs, SOURCE, TARGET, batch_size=16, max_source_length=40, max_target_length=40,
                           bucket_boundaries=boundaries, batch_tokens=budget, seed=2)
    rows = {}
    for inputs, target, weights in dataset:
        length = int(weights.numpy().sum(axis=1).max())  # target tokens + </s> = source tokens + 1
        bucket = int(np.digitize(length, boundaries))
        longest = (boundaries[bucket] - 1) if bucket < len(boundaries) else 41
        assert len(target) * longest <= budget or len(target) == 1
        rows.setdefault(bucket, []).append(len(target))
    assert sum(map(sum, rows.values())) == 200 and int(dataset.cardinality()) == sum(map(len, rows.values()))
    assert max(rows[0]) == budget // 7 > max(rows[3]) == budget // 41  # short batches are the big ones
    with pytest.raises(ValueError, match="batch_tokens"):
        make_dataset(pairs, SOURCE, TARGET, batch_size=16, batch_tokens=0)


def test_no_surviving_example_is_a_clear_error():
    with pytest.raises(ValueError, match="No example survived"):
        make_dataset([("", "")], SOURCE, TARGET, batch_size=4)
    with pytest.raises(ValueError, match="pairs is empty"):
        make_dataset([], SOURCE, TARGET, batch_size=4)


@pytest.mark.parametrize("kind", ["image", "audio"])
def test_many_media_sources_decode_in_a_graph_as_they_do_eagerly(kind, monkeypatch):
    """From ``TRACED_DECODE_FROM`` sources on, a media frontend decodes in a traced graph (eagerly, its
    per-row map runs Python for every row): the same arrays, and the same rows dropped for the same reasons."""
    import tensorflow as tf

    from zoo import frontends
    from zoo.data import pipeline, toy_audio, toy_image
    from zoo.data.pipeline import DropReport

    if kind == "image":
        frontend, pairs = frontends.from_config({"kind": "image"}), toy_image.make(6, seed=5, split="test")
    else:
        frontend, pairs = frontends.from_config({"kind": "audio", "sample_rate": 8000}), toy_audio.make(6, seed=5)
    pairs += [(b"", "1 2"), (b"not a picture or a clip", "3"), (pairs[0][0], "")]  # empty, malformed, no target
    target = Tokenizer(Vocabulary(list("0123456789")), split="chars")

    def encoded(traced_from):
        monkeypatch.setattr(pipeline, "TRACED_DECODE_FROM", traced_from)
        features, ids, report = pipeline.encode_pairs(pairs, frontend, target, None, 6)
        parts = {key: [value.flat_values, value.row_lengths()] if isinstance(value, tf.RaggedTensor) else [value]
                 for key, value in {**features, "target": ids}.items()}
        return {key: [part.numpy() for part in value] for key, value in parts.items()}, report

    (eager, eager_report), (traced, traced_report) = encoded(len(pairs) + 1), encoded(len(pairs))
    assert eager_report == traced_report == DropReport(kept=6, empty=2, too_long=0, malformed=1)
    assert sorted(eager) == sorted(traced) and "source" in eager
    for key in eager:
        for a, b in zip(eager[key], traced[key]):
            np.testing.assert_array_equal(a, b, err_msg=key)
