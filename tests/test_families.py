"""Every model family in ``zoo.models.FAMILIES`` behind the one contract (trainer, encoder, step,
config): step-wise decoding reproduces teacher forcing, padding changes nothing, configs and
weights round-trip, greedy / beam search / hub / attention maps / export work without knowing the
family, bad configs are clear errors, and each family learns the toy tasks.

Runs under any Keras backend (``KERAS_BACKEND=jax pytest tests/test_families.py``); the export test
needs TensorFlow variables and says so.
"""
import json

import keras
import numpy as np
import pytest
from keras import ops

import zoo
from zoo import data, decoding, hub
from zoo.data import toy
from zoo.decoding import source_inputs
from zoo.layers.encoders import Bridge, RNNEncoder
from zoo.models import FAMILIES, build
from zoo.models.rnn_seq2seq import reverse_real_tokens
from zoo.predictor import Predictor
from zoo.text.tokenizer import Tokenizer
from zoo.text.vocab import PAD_ID, START_ID

from conftest import TOY_RECIPE

SOURCE = np.array([[4, 5, 6, 7], [8, 9, 0, 0], [10, 0, 0, 0]], "int32")
LENGTHS = [4, 2, 1]
DECODER_INPUT = np.array([[1, 4, 5, 6], [1, 7, 8, 0], [1, 3, 0, 0]], "int32")
TARGET_LENGTHS = [4, 3, 2]
VOCAB = dict(source_vocab_size=12, target_vocab_size=9)

# One tiny config per family (every family must have one), then more variants for the contract tests.
TINY = {
    "rnn_seq2seq": dict(embedding_dim=6, encoder_units=4, units=8, layers=3, cell="lstm", bidirectional=True,
                        bridge="dense"),
    "cho": dict(embedding_dim=6, encoder_units=5, encoder_layers=2, units=8),
    "bahdanau": dict(embedding_dim=6, encoder_units=5, units=8, attention_units=7),
    "luong": dict(embedding_dim=6, encoder_units=5, units=8, score="general"),
    "pointer_generator": dict(embedding_dim=6, encoder_units=5, units=8, max_oov=3, coverage=True),
}
VARIANTS = [(family, config) for family, config in TINY.items()] + [
    ("rnn_seq2seq", dict(embedding_dim=6, encoder_units=8, units=8, layers=1, cell="gru", reverse_source=False)),
    ("rnn_seq2seq", dict(embedding_dim=6, encoder_units=8, units=8, layers=2, cell="simple")),
    ("cho", dict(embedding_dim=6, encoder_units=4, units=8, cell="lstm", bidirectional=True)),
    ("bahdanau", dict(embedding_dim=6, encoder_units=4, encoder_layers=2, units=8, cell="lstm", bridge="none")),
    ("luong", dict(embedding_dim=6, encoder_units=4, units=8, score="dot")),
    ("luong", dict(embedding_dim=6, encoder_units=5, units=8, score="concat")),
    ("pointer_generator", dict(embedding_dim=6, encoder_units=4, units=8, max_oov=2, coverage=False)),
]
IMAGE_ONLY = {"show_attend_tell"}  # reads an image grid, not token ids: tests/test_show_attend_tell.py
AUDIO_ONLY = {"las"}  # listens to audio: tests/test_fronts.py and tests/test_speech.py
FAMILY_NAMES = sorted(set(FAMILIES) - IMAGE_ONLY - AUDIO_ONLY)
ATTENTION = [f for f in FAMILY_NAMES if FAMILIES[f].has_attention]
NO_ATTENTION = [f for f in FAMILY_NAMES if not FAMILIES[f].has_attention]


def variant_id(variant):
    family, config = variant
    extra = {k: v for k, v in config.items() if k in ("cell", "layers", "score", "bridge", "bidirectional",
                                                      "reverse_source", "coverage")}
    return family + "".join(f"-{k}={v}" for k, v in extra.items())


def tiny(family, seed=7, **overrides):
    keras.utils.set_random_seed(seed)
    return build(family, {**VOCAB, **TINY[family], **overrides})


def inputs_for(model, source):
    """Token ids (batch, src_len) -> the model's source inputs; a copy model also gets extended ids:
    here the ids themselves (those >= the target vocabulary size stand for copied words)."""
    inputs = source_inputs(source)
    if "source_extended" in model.source_inputs():
        inputs["source_extended"] = np.asarray(source, "int32")
    return inputs


def output_size(model) -> int:
    """V_out: the target vocabulary, extended for copy models."""
    return VOCAB["target_vocab_size"] + getattr(model, "max_oov", 0)


def trainer_logits(model, source=SOURCE, decoder_input=DECODER_INPUT):
    return np.asarray(model.trainer({**inputs_for(model, source), "decoder_input": decoder_input}))


def steps(model, source, decoder_input):
    """The step model over decoder_input, token by token -> logits (batch, tgt_len, vocab),
    attention (batch, tgt_len, src_len)."""
    context, state = model.encode(inputs_for(model, source))
    assert list(state) == list(model.state_names)
    logits, weights = [], []
    for t in range(decoder_input.shape[1]):
        step_logits, step_weights, state = model.step(ops.convert_to_tensor(decoder_input[:, t]), context, state)
        logits.append(np.asarray(step_logits))
        weights.append(np.asarray(step_weights))
    return np.stack(logits, axis=1), np.stack(weights, axis=1)


def test_every_family_is_registered_with_a_tiny_test_config():
    assert set(TINY) == set(FAMILY_NAMES) == {"rnn_seq2seq", "cho", "bahdanau", "luong", "pointer_generator"}
    assert set(FAMILIES) == set(FAMILY_NAMES) | IMAGE_ONLY | AUDIO_ONLY
    assert set(ATTENTION) == {"bahdanau", "luong", "pointer_generator"} and set(NO_ATTENTION) == {"rnn_seq2seq", "cho"}
    for name, cls in FAMILIES.items():
        assert cls.family == name


# --- the contract ---------------------------------------------------------------------------------

@pytest.mark.parametrize("family", FAMILY_NAMES)
def test_graphs_have_the_contract_shapes(family):
    model = tiny(family)
    assert trainer_logits(model).shape == (3, 4, output_size(model))
    context, state = model.encode(inputs_for(model, SOURCE))
    memory, mask = context["memory"], context["memory_mask"]
    assert tuple(memory.shape[:2]) == (3, 4) and tuple(mask.shape) == (3, 4)
    np.testing.assert_array_equal(np.asarray(mask), SOURCE != 0)
    assert list(state) == list(model.state_names) and len(set(model.state_names)) > 0
    assert all(tuple(s.shape) in ((3, 8), (3, 4)) for s in state.values())  # (batch, units) or (batch, src_len)
    log_probs, weights, new_state = model.step(ops.convert_to_tensor(DECODER_INPUT[:, 0]), context, state)
    assert tuple(log_probs.shape) == (3, output_size(model)) and tuple(weights.shape) == (3, 4)
    np.testing.assert_allclose(np.exp(np.asarray(log_probs)).sum(axis=-1), 1.0, atol=1e-5)  # log-probabilities
    assert [tuple(s.shape) for s in new_state.values()] == [tuple(s.shape) for s in state.values()]
    assert not [layer for layer in model.trainer.layers if layer.name.startswith("lambda")]


@pytest.mark.parametrize("variant", VARIANTS, ids=variant_id)
def test_step_model_reproduces_the_trainer(variant):
    family, config = variant
    keras.utils.set_random_seed(3)
    model = build(family, {**VOCAB, **config})
    expected = trainer_logits(model)
    logits, weights = steps(model, SOURCE, DECODER_INPUT)
    np.testing.assert_allclose(logits, expected, atol=1e-5)
    assert np.abs(expected).max() > 1e-3  # a real signal, not zeros on both sides
    padding = np.broadcast_to((SOURCE == 0)[:, None, :], weights.shape)
    if model.has_attention:
        np.testing.assert_allclose(weights.sum(axis=-1), 1.0, atol=1e-5)
        assert np.all(weights[padding] == 0.0) and np.all(weights[~padding] > 0.0)
    else:
        assert np.all(weights == 0.0)


@pytest.mark.parametrize("variant", VARIANTS, ids=variant_id)
def test_padded_and_unpadded_batches_agree(variant):
    family, config = variant
    keras.utils.set_random_seed(4)
    model = build(family, {**VOCAB, **config})
    full = trainer_logits(model)
    for row, (n, m) in enumerate(zip(LENGTHS, TARGET_LENGTHS)):
        alone = trainer_logits(model, SOURCE[row:row + 1, :n], DECODER_INPUT[row:row + 1, :m])
        np.testing.assert_allclose(alone[0], full[row, :m], atol=1e-5)
    wider = np.pad(SOURCE, [(0, 0), (0, 3)])  # more right padding changes nothing either
    np.testing.assert_allclose(trainer_logits(model, wider), full, atol=1e-5)


# Largest difference from the float32 logits of the same weights: float16 keeps 11 mantissa bits,
# bfloat16 8.
HALF_TOLERANCE = {"mixed_float16": 5e-3, "mixed_bfloat16": 5e-2}


@pytest.mark.parametrize("precision", sorted(HALF_TOLERANCE))
@pytest.mark.parametrize("family", FAMILY_NAMES)
def test_mixed_precision_computes_in_half_with_float32_weights_and_logits(family, precision):
    full = tiny(family)
    mixed = build(family, full.get_config(), precision)
    assert keras.config.dtype_policy().name == "float32"  # build leaves the global policy as it was
    assert {keras.backend.standardize_dtype(w.dtype) for w in mixed.trainer.weights} == {"float32"}
    mixed.trainer.set_weights(full.trainer.get_weights())  # so weight files load across precisions
    logits = mixed.trainer({**inputs_for(mixed, SOURCE), "decoder_input": DECODER_INPUT})
    assert keras.backend.standardize_dtype(logits.dtype) == "float32"
    np.testing.assert_allclose(np.asarray(logits), trainer_logits(full), atol=HALF_TOLERANCE[precision])

    context, state = mixed.encode(inputs_for(mixed, SOURCE))
    assert keras.backend.standardize_dtype(context["memory"].dtype) == precision.removeprefix("mixed_")  # computes in half
    step_logits, weights, _ = mixed.step(ops.convert_to_tensor(DECODER_INPUT[:, 0]), context, state)
    assert keras.backend.standardize_dtype(step_logits.dtype) == "float32"
    weights = np.asarray(ops.cast(weights, "float32"))
    if mixed.has_attention:  # padding still gets exactly zero weight, rows still sum to 1
        assert np.all(weights[SOURCE == 0] == 0.0) and np.all(weights[SOURCE != 0] > 0.0)
        np.testing.assert_allclose(weights.sum(axis=-1), 1.0, atol=1e-2)
    found = decoding.search(mixed, inputs_for(mixed, SOURCE), decoding.BeamSearch(beam_size=3, n_best=2), max_length=6)
    assert np.all(np.isfinite(np.asarray(found.scores))) and np.all(np.asarray(found.scores) < 0.0)


@pytest.mark.parametrize("family", FAMILY_NAMES)
def test_config_round_trip_rebuilds_an_identical_model(family):
    model = tiny(family)
    config = model.get_config()
    assert config == {**VOCAB, **{k: v for k, v in config.items() if k not in VOCAB}}
    assert {k: config[k] for k in TINY[family]} == TINY[family]  # the constructor's arguments, mirrored
    config = json.loads(json.dumps(config))  # what a recipe or a pretrained config.json holds
    clone = build(family, config)
    assert clone.get_config() == model.get_config()
    assert type(clone) is type(model) and clone.state_names == model.state_names
    assert clone.count_params() == model.count_params()
    assert not np.allclose(trainer_logits(clone), trainer_logits(model))  # fresh weights differ...
    clone.trainer.set_weights(model.trainer.get_weights())
    np.testing.assert_array_equal(trainer_logits(clone), trainer_logits(model))  # ...until copied
    np.testing.assert_array_equal(steps(clone, SOURCE, DECODER_INPUT)[0], steps(model, SOURCE, DECODER_INPUT)[0])


@pytest.mark.parametrize("family", FAMILY_NAMES)
def test_save_and_load_weights_round_trip(family, tmp_path):
    model, other = tiny(family, seed=1), tiny(family, seed=2)
    assert not np.allclose(trainer_logits(other), trainer_logits(model))
    path = str(tmp_path / "model.weights.h5")
    model.save_weights(path)
    other.load_weights(path)
    np.testing.assert_array_equal(trainer_logits(other), trainer_logits(model))


# --- decoding ---------------------------------------------------------------------------------------

def rescore(model, source, ids) -> float:
    """The log-probability of a decoded hypothesis (its tokens, </s> included when emitted) under
    teacher forcing with the trainer, <pad> and <s> forbidden as in zoo.decoding."""
    tokens = [int(t) for t in ids if t != PAD_ID]
    decoder_input = np.array([[START_ID, *tokens[:-1]]], "int32")
    logits = trainer_logits(model, source[None], decoder_input)[0].astype("float64")  # (len, vocab)
    logits[:, [PAD_ID, START_ID]] = -np.inf
    top = logits.max(axis=-1, keepdims=True)
    log_probs = logits - top - np.log(np.exp(logits - top).sum(axis=-1, keepdims=True))
    return float(sum(log_probs[t, token] for t, token in enumerate(tokens)))


@pytest.mark.parametrize("family", FAMILY_NAMES)
def test_greedy_and_beam_search_run_and_beam_one_is_greedy(family):
    model = tiny(family, seed=5)
    greedy = decoding.search(model, inputs_for(model, SOURCE), decoding.Greedy(), max_length=6)
    beam1 = decoding.search(model, inputs_for(model, SOURCE), decoding.BeamSearch(beam_size=1, alpha=0.0), max_length=6)
    np.testing.assert_array_equal(np.asarray(beam1.ids), np.asarray(greedy.ids))
    np.testing.assert_allclose(np.asarray(beam1.scores), np.asarray(greedy.scores), atol=1e-5)

    # Greedy by hand: argmax of the step model, carrying the family's state.
    context, state = model.encode(inputs_for(model, SOURCE))
    token, by_hand = np.full((3,), START_ID, "int32"), []
    for _ in range(6):
        logits, _, state = model.step(ops.convert_to_tensor(token), context, state)
        logits = np.asarray(logits).copy()
        logits[:, [PAD_ID, START_ID]] = -np.inf
        token = logits.argmax(-1).astype("int32")
        by_hand.append(token)
    by_hand = np.stack(by_hand, axis=1)
    for row in range(3):
        n = min(int(np.asarray(greedy.lengths)[row, 0]) + 1, 6)  # + </s>, when emitted
        np.testing.assert_array_equal(np.asarray(greedy.ids)[row, 0, :n], by_hand[row, :n])

    beam = decoding.search(model, inputs_for(model, SOURCE), decoding.BeamSearch(beam_size=3, alpha=0.0, n_best=3),
                           max_length=6)
    ids, scores = np.asarray(beam.ids), np.asarray(beam.scores)
    assert ids.shape == (3, 3, 6) and np.all(np.diff(scores, axis=1) <= 1e-6)  # best first
    for row in range(3):
        assert len({tuple(h) for h in ids[row]}) == 3  # three different hypotheses
        for rank in range(3):  # each score is its tokens' log-probability under teacher forcing
            assert scores[row, rank] == pytest.approx(rescore(model, SOURCE[row, :LENGTHS[row]], ids[row, rank]),
                                                      abs=1e-4)
    attention = np.asarray(beam.attention)  # (batch, n_best, max_length, src_len)
    if model.has_attention:
        emitted = attention.sum(-1) > 0  # (batch, n_best, max_length): steps before </s>
        assert emitted[:, :, 0].all()
        np.testing.assert_allclose(attention.sum(-1)[emitted], 1.0, atol=1e-5)
        for row, n in enumerate(LENGTHS):
            assert np.all(attention[row, :, :, n:] == 0.0)
    else:
        assert np.all(attention == 0.0)


# --- the rest of zoo, family-agnostic -------------------------------------------------------------

def tiny_predictor(family) -> Predictor:
    """An untrained tiny model for toy-reverse with its tokenizers."""
    from zoo.training.train import build_vocabulary

    pairs = data.load("toy-reverse", "train")
    source = Tokenizer(build_vocabulary([s for s, _ in pairs], {"split": "chars"}), split="chars")
    target = Tokenizer(build_vocabulary([t for _, t in pairs], {"split": "whitespace"}), split="whitespace")
    keras.utils.set_random_seed(11)
    model = build(family, {**TINY[family], "source_vocab_size": len(source.vocabulary),
                           "target_vocab_size": len(target.vocabulary)})
    return Predictor(model, source, target, max_source_length=16, max_target_length=8, name=f"tiny-{family}")


EXAMPLES = ["907", "31415", "2718281"]


@pytest.mark.parametrize("family", FAMILY_NAMES)
def test_hub_save_and_load_give_the_same_predictions(family, tmp_path):
    predictor = tiny_predictor(family)
    folder = hub.save(predictor, tmp_path / f"tiny-{family}", {"test": {}}, "# card\n", {"dataset": "toy-reverse"})
    assert json.loads((folder / "config.json").read_text())["family"] == family
    loaded = zoo.load(folder)
    assert type(loaded.model) is type(predictor.model) and loaded.model.get_config() == predictor.model.get_config()
    for options in ({}, {"beam_size": 3, "n_best": 2}):
        original, reloaded = predictor.decode(EXAMPLES, **options), loaded.decode(EXAMPLES, **options)
        assert [[h.text for h in n] for n in original] == [[h.text for h in n] for n in reloaded]
        np.testing.assert_allclose([[h.score for h in n] for n in original],
                                   [[h.score for h in n] for n in reloaded], atol=1e-5)


@pytest.mark.parametrize("family", FAMILY_NAMES)
def test_attention_map_logger_works_for_every_family(family, tmp_path, caplog):
    from tensorboard.backend.event_processing.event_accumulator import TENSORS, EventAccumulator

    from zoo.training.callbacks import AttentionMapLogger

    predictor = tiny_predictor(family)
    logger = AttentionMapLogger(predictor, EXAMPLES, tmp_path, beam_size=2)
    with caplog.at_level("WARNING"):
        logger.on_train_begin()
        logger.on_epoch_end(0)
        logger.on_train_end()
    tags = set(EventAccumulator(str(tmp_path), size_guidance={TENSORS: 0}).Reload().Tags()["tensors"])
    maps = {f"attention/{i:02d}" for i in range(len(EXAMPLES))}
    if predictor.model.has_attention:
        assert tags == maps | {"predictions"} and "no attention" not in caplog.text
    else:
        assert tags == {"predictions"} and f"family {family!r} has no attention" in caplog.text


@pytest.mark.skipif(keras.backend.backend() != "tensorflow",
                    reason="export saves the model's tf.Variables in a TensorFlow SavedModel: "
                           "needs KERAS_BACKEND=tensorflow")
@pytest.mark.parametrize("family", FAMILY_NAMES)
def test_export_serves_what_predict_gives(family, tmp_path):
    import tensorflow as tf

    from zoo import export

    predictor = tiny_predictor(family)
    folder = hub.save(predictor, tmp_path / "pretrained" / f"tiny-{family}", {}, "# card\n",
                      {"dataset": "toy-reverse"})
    version = export.export(folder, tmp_path / "exports", beam_size=2, n_best=2, examples=EXAMPLES)
    served = tf.saved_model.load(str(version)).signatures
    out = served["serving_default"](text=tf.constant(EXAMPLES))
    outputs = [[s.decode("utf-8") for s in row] for row in out["outputs"].numpy()]
    assert outputs == predictor.predict(EXAMPLES, beam_size=2, n_best=2)
    expected = predictor.decode(EXAMPLES, beam_size=2, n_best=2)
    np.testing.assert_allclose(out["scores"].numpy(), [[h.score for h in n] for n in expected], atol=1e-4)
    weights = served["attention"](text=tf.constant(EXAMPLES))["weights"].numpy()
    if predictor.model.has_attention:
        for row, best in enumerate(n[0] for n in expected):
            np.testing.assert_allclose(weights[row, :len(best.attention), :len(best.source_tokens)], best.attention,
                                       atol=1e-5)
    else:
        assert not weights.any()


# --- bad configs ------------------------------------------------------------------------------------

BAD_CONFIGS = [
    ("rnn_seq2seq", {"cell": "transformer"}, r"cell must be one of \('lstm', 'gru', 'simple'\), got 'transformer'"),
    ("rnn_seq2seq", {"units": 0}, "units must be a positive integer, got 0"),
    ("rnn_seq2seq", {"layers": -1}, "layers must be a positive integer, got -1"),
    ("rnn_seq2seq", {"bridge": "linear"}, r"bridge must be one of \('dense', 'none'\), got 'linear'"),
    ("rnn_seq2seq", {"encoder_units": 32, "units": 64, "bridge": "none"},
     r"bridge='none' .*\(size 32\).* must equal the decoder's units \(64\); use bridge='dense'"),
    ("rnn_seq2seq", {"encoder_units": 32, "units": 32, "bidirectional": True, "bridge": "none"},
     r"bridge='none' .*encoder_units \* 2, bidirectional\) \(size 64\).*units \(32\)"),
    ("rnn_seq2seq", {"dropout": 1.0}, r"dropout must be in \[0, 1\), got 1.0"),
    ("cho", {"cell": "rnn"}, r"cell must be one of \('lstm', 'gru', 'simple'\), got 'rnn'"),
    ("cho", {"units": -4}, "units must be a positive integer, got -4"),
    ("cho", {"encoder_layers": 0}, "encoder_layers must be a positive integer, got 0"),
    ("bahdanau", {"cell": "simple"}, r"cell must be one of \('gru', 'lstm'\), got 'simple'"),
    ("bahdanau", {"units": 0}, "units must be a positive integer, got 0"),
    ("bahdanau", {"attention_units": 0}, "attention_units must be a positive integer, got 0"),
    ("bahdanau", {"encoder_units": 16, "units": 64, "bridge": "none"},
     r"bridge='none' .*2 \* encoder_units\) \(size 32\).*units \(64\)"),
    ("bahdanau", {"bridge": None}, r"bridge must be one of \('dense', 'none'\), got None"),
    ("luong", {"score": "cosine"}, r"score must be one of \('dot', 'general', 'concat'\), got 'cosine'"),
    ("luong", {"units": 0}, "units must be a positive integer, got 0"),
    ("luong", {"score": "dot", "encoder_units": 4, "units": 16}, "score='dot' needs the encoder memory size"),
    ("pointer_generator", {"max_oov": 0}, "max_oov must be a positive integer, got 0"),
    ("pointer_generator", {"dropout": -0.1}, r"dropout must be in \[0, 1\), got -0.1"),
]


@pytest.mark.parametrize("family, kwargs, message", BAD_CONFIGS,
                         ids=[f"{f}-{'-'.join(map(str, k.items()))}" for f, k, _ in BAD_CONFIGS])
def test_bad_config_is_a_clear_error_at_construction(family, kwargs, message):
    with pytest.raises(ValueError, match=message):
        build(family, {**VOCAB, **kwargs})


def test_every_family_has_a_bad_config_case():
    assert {family for family, _, _ in BAD_CONFIGS} == set(FAMILY_NAMES)


# --- shared layers ----------------------------------------------------------------------------------

def test_reverse_source_reverses_only_the_real_tokens():
    reversed_ids = np.asarray(reverse_real_tokens(SOURCE, SOURCE != 0))
    np.testing.assert_array_equal(reversed_ids, [[7, 6, 5, 4], [9, 8, 0, 0], [10, 0, 0, 0]])
    forward = tiny("rnn_seq2seq", reverse_source=False)
    backward = tiny("rnn_seq2seq", reverse_source=True)
    backward.trainer.set_weights(forward.trainer.get_weights())
    np.testing.assert_allclose(trainer_logits(backward), trainer_logits(forward, reversed_ids), atol=1e-6)
    assert not np.allclose(trainer_logits(backward), trainer_logits(forward))


def test_encoder_layers_from_the_third_on_are_residual():
    keras.utils.set_random_seed(0)
    embedded = np.random.default_rng(0).normal(size=(3, 4, 6)).astype("float32")
    mask = SOURCE != 0
    encoder = RNNEncoder(5, num_layers=4, bidirectional=True, cell="gru", return_all_states=True)
    memory, states = encoder(embedded, mask)
    assert len(states) == 4 and all(tuple(s[0].shape) == (3, 10) for s in states)
    sequence = embedded
    for i, rnn in enumerate(encoder.rnns):  # the same layers by hand
        output = rnn(sequence, mask=mask)[0]
        sequence = output + sequence if i >= 2 else output
    np.testing.assert_allclose(np.asarray(memory), np.asarray(sequence) * mask[:, :, None], atol=1e-6)


def test_bridge_maps_sizes_and_refuses_a_mismatch_without_dense_layers():
    states = [np.ones((2, 10), "float32"), np.ones((2, 10), "float32")]
    h, c = Bridge(4, 10, num_states=2)(states)
    assert tuple(h.shape) == tuple(c.shape) == (2, 4) and np.all(np.abs(np.asarray(h)) < 1)
    identity = Bridge(10, 10, 2, bridge="none")
    np.testing.assert_array_equal(np.asarray(identity(states)[1]), states[1])
    assert identity.weights == []
    with pytest.raises(ValueError, match=r"bridge='none' .* \(size 10\) .* decoder's units \(4\)"):
        Bridge(4, 10, 2, bridge="none")


# --- toy tasks ----------------------------------------------------------------------------------------

TOY_MODELS = {  # family -> model config; small enough for the whole file to train in minutes on CPU
    "rnn_seq2seq": dict(embedding_dim=16, encoder_units=64, units=64, layers=1, reverse_source=False),
    "cho": dict(embedding_dim=16, encoder_units=128, units=128),
    "bahdanau": dict(embedding_dim=16, encoder_units=32, units=64),
    "luong": dict(embedding_dim=16, encoder_units=32, units=64, score="general"),
    "pointer_generator": dict(embedding_dim=16, encoder_units=32, units=64, max_oov=4),
}
# (family, task) -> epochs, and the learning rate's decay (x rate every epoch from that epoch on).
# Without attention, reversal takes much longer to learn; short runs decay early to settle down.
TOY_SCHEDULE = {
    ("rnn_seq2seq", "reverse"): (12, 8, 0.7), ("rnn_seq2seq", "sort"): (6, 5, 0.5),
    ("cho", "reverse"): (14, 10, 0.7), ("cho", "sort"): (4, 3, 0.5),
    ("bahdanau", "reverse"): (3, 3, 0.5), ("bahdanau", "sort"): (4, 3, 0.5),
    ("luong", "reverse"): (3, 3, 0.5), ("luong", "sort"): (4, 3, 0.5),
    ("pointer_generator", "reverse"): (3, 3, 0.5), ("pointer_generator", "sort"): (8, 6, 0.5),
}
# The bar is 95 % test exact match, but for the pointer-generator on sorting: ordering by value is
# generation, which its gate mixes with copying, and it stood at 91.3 % after 8 epochs and 93.3 %
# after 12 on TensorFlow (it copies: reversal passes the bar in 3). Its own task is tests/test_toy_copy.py.
TOY_BAR = {("pointer_generator", "sort"): 90.0}


@pytest.fixture(scope="module")
def toy_trained(tmp_path_factory):
    """(family, task) -> Predictor trained with zoo.training.train on toy-<task>, each trained once, on demand."""
    from zoo.training.train import train

    runs = {}

    def get(family, task):
        if (family, task) not in runs:
            epochs, decay_from_epoch, decay_rate = TOY_SCHEDULE[family, task]
            recipe = {**TOY_RECIPE, "name": f"toy-{task}-{family}", "dataset": f"toy-{task}", "family": family,
                      "model": TOY_MODELS[family], "batch_size": 32, "epochs": epochs,
                      "decay_from_epoch": decay_from_epoch, "decay_rate": decay_rate}
            workdir = tmp_path_factory.mktemp(f"toy-{task}-{family}")
            runs[family, task] = train(recipe, workdir, verbose=0, attention_examples=0)
            if keras.backend.backend() == "jax":
                # JAX keeps an executable per compiled shape, each holding memory mappings: a few thousand
                # per run, and eight runs in one process pass Linux's default vm.max_map_count (65530),
                # where XLA's compiler aborts the process. A finished run drops its (recompiled on demand).
                import jax

                jax.clear_caches()
        return runs[family, task]

    return get


@pytest.mark.parametrize("task", toy.TASKS)
@pytest.mark.parametrize("family", FAMILY_NAMES)
def test_every_family_learns_the_toy_tasks(family, task, toy_trained, record_property):
    predictor, metrics = toy_trained(family, task)
    score = 100.0 - metrics["test"]["wer"]  # wer: % of test sources whose output is no reference
    record_property("test_exact_match", round(score, 1))
    print(f"\n{family} on toy-{task}: test exact match {score:.1f}% ({TOY_SCHEDULE[family, task][0]} epochs, "
          f"{predictor.model.count_params()} parameters)")
    assert score >= TOY_BAR.get((family, task), 95.0)


# Training strings have 3 to 8 digits; these are longer.
LONGER = {n: toy.make("reverse", 300, min_len=n, max_len=n, seed=5) for n in (9, 10, 12)}


@pytest.fixture(scope="module")
def longer_scores(toy_trained):
    """(family, digits) -> exact match (%) on reversing LONGER strings, of the toy-reverse models."""
    scores = {}
    for family in FAMILY_NAMES:
        predictor = toy_trained(family, "reverse")[0]
        for n, pairs in LONGER.items():
            predictions = predictor.predict([source for source, _ in pairs])
            scores[family, n] = 100.0 * float(np.mean([p == t for p, (_, t) in zip(predictions, pairs)]))
    return scores


def test_attention_beats_the_fixed_summary_on_longer_strings(longer_scores, record_property):
    """Both attention families reverse 9-digit strings better than Cho et al.'s fixed summary vector.
    (The pointer-generator's figures are printed, not compared: it reached 0 % at 9 digits on TensorFlow.)

    Not asserted, because not reliably true on this toy: that they also beat rnn_seq2seq's LSTM. At 9
    digits it reached 57 % against their 66-80 % on TensorFlow, but 70 % against 49-50 % on JAX (other
    initial weights), and at 10 digits 26-37 % against 0-15 %: the attention families find positions
    through what their bidirectional encoder learnt of lengths 3-8 and lose track beyond. The printout
    shows every run's scores."""
    lines = []
    for family in FAMILY_NAMES:
        for n in LONGER:
            record_property(f"reverse_{n}_digits_exact_match_{family}", round(longer_scores[family, n], 1))
        lines.append(f"  {family:12} " + "  ".join(f"{n} digits {longer_scores[family, n]:5.1f}%" for n in LONGER))
    print("\ntoy-reverse trained on 3-8 digits, exact match on longer strings:\n" + "\n".join(lines))
    attention = {f: longer_scores[f, 9] for f in ("bahdanau", "luong")}
    assert min(attention.values()) > longer_scores["cho", 9] + 5.0, (attention, longer_scores["cho", 9])
