"""Show, Attend and Tell (``zoo.models.show_attend_tell``, Xu et al. 2015): the family contract on image
sources (step reproduces the trainer, attention over the real cells, config and weights round-trip,
greedy and beam search), the β gate, the doubly stochastic penalty by hand and inside the compiled loss
on TensorFlow and on JAX, the mean-pooled baseline, and a tiny model that learns to name coloured
squares in reading order (where the baseline, same budget, does visibly worse).

The generic family tests (tests/test_families.py) feed token ids, which an image-only family cannot read.
"""
import json
import os
import pathlib
import subprocess
import sys

import keras
import numpy as np
import pytest

from zoo import decoding
from zoo.models import build
from zoo.models.show_attend_tell import AttentionPenalty
from zoo.text.vocab import END_ID, START_ID
from zoo.training.losses import masked_accuracy, masked_loss

from test_families import steps

IMAGE = {"kind": "image", "height": 16, "width": 24, "filters": [4, 8]}  # a 4 x 6 grid: 24 cells
TINY = dict(embedding_dim=6, units=8, attention_units=5)
VARIANTS = {
    "default": {},
    "projected": dict(memory_units=7, dropout=0.1),
    "no-gate": dict(gate=False),
    "baseline": dict(attention=False, attention_penalty=0.0),
    "max-init": dict(init_pool="max"),
}
DECODER_INPUT = np.array([[1, 4, 5, 6], [1, 7, 8, 0]], "int32")
TARGET = np.array([[4, 5, 6, 2], [7, 8, 2, 0]], "int32")


def tiny(seed=3, **overrides):
    keras.utils.set_random_seed(seed)
    return build("show_attend_tell", {"source_vocab_size": None, "target_vocab_size": 9, "source": IMAGE,
                                      **TINY, **overrides})


def images(count=2, seed=0):
    pixels = np.random.default_rng(seed).integers(0, 256, (count, 16, 24, 3)).astype("uint8")
    return {"source": pixels, "source_length": np.full((count,), 16 * 24, "int32")}


def trainer(model, inputs=None, decoder_input=DECODER_INPUT):
    return np.asarray(model.trainer({**(inputs or images()), "decoder_input": decoder_input}))


def compiled_loss(model, inputs, decoder_input=DECODER_INPUT, target=TARGET) -> float:
    """The loss ``fit`` minimises on one batch, compiled as zoo.training.train compiles a family."""
    model.trainer.compile(optimizer="adam", loss=masked_loss(), weighted_metrics=[masked_accuracy()])
    batch = {**inputs, "decoder_input": decoder_input}
    return float(model.trainer.test_on_batch(batch, target, (target != 0).astype("float32"), return_dict=True)["loss"])


def check_penalty_is_in_the_compiled_loss():
    """λ > 0 minus λ = 0, same weights, is λ · mean_b P_b / tgt_len, P from the step model's attention by hand.
    Also run under KERAS_BACKEND=jax (``test_the_penalty_trains_on_jax``)."""
    strength, inputs = 0.5, images()
    with_penalty, without = tiny(attention_penalty=strength), tiny(attention_penalty=0.0)
    without.trainer.set_weights(with_penalty.trainer.get_weights())
    _, weights = steps(with_penalty, inputs, DECODER_INPUT)  # (batch, tgt_len, cells)
    attended = (weights * (DECODER_INPUT != 0)[:, :, None]).sum(axis=1)  # Σ_t α_ti over real steps (batch, cells)
    expected = strength * ((1.0 - attended) ** 2).sum(axis=1).mean() / DECODER_INPUT.shape[1]
    gap = compiled_loss(with_penalty, inputs) - compiled_loss(without, inputs)
    assert expected > 0.1 and gap == pytest.approx(expected, rel=1e-4)
    with_penalty.trainer.fit({**inputs, "decoder_input": DECODER_INPUT}, TARGET,
                             sample_weight=(TARGET != 0).astype("float32"), epochs=2, verbose=0)
    assert np.isfinite(trainer(with_penalty)).all()


# --- the contract -----------------------------------------------------------------------------------

@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_step_reproduces_the_trainer(variant):
    model = tiny(**VARIANTS[variant])
    expected = trainer(model)
    log_probs, weights = steps(model, images(), DECODER_INPUT)
    np.testing.assert_allclose(log_probs, expected, atol=1e-5)
    assert expected.shape == (2, 4, 9) and np.abs(expected).max() > 1e-3
    assert weights.shape == (2, 4, 24)  # (batch, tgt_len, cells): the grid itself is the memory
    if model.has_attention:
        np.testing.assert_allclose(weights.sum(axis=-1), 1.0, atol=1e-5)
    else:  # the baseline: all-zero maps, nothing to plot
        assert np.all(weights == 0.0) and model.trainer.losses == []


def test_attention_sums_to_one_over_the_real_cells_only():
    model, inputs = tiny(), images()
    context, state = model.encode(inputs)
    assert np.asarray(context["memory_mask"]).all()  # every cell of an image is real
    mask = np.ones((2, 24), bool)
    mask[0, 10:], mask[1, ::3] = False, False
    _, weights, _ = model.step(keras.ops.convert_to_tensor(DECODER_INPUT[:, 0]), {**context, "memory_mask": mask},
                               state)
    weights = np.asarray(weights)
    assert np.all(weights[~mask] == 0.0) and np.all(weights[mask] > 0.0)
    np.testing.assert_allclose(weights.sum(axis=-1), 1.0, atol=1e-6)


@pytest.mark.parametrize("variant", ["default", "baseline", "max-init"])
def test_config_and_weights_round_trip(variant, tmp_path):
    model = tiny(**VARIANTS[variant])
    config = json.loads(json.dumps(model.get_config()))  # what a recipe or a pretrained config.json holds
    assert config == {"source_vocab_size": None, "target_vocab_size": 9, "source": IMAGE, "embedding_dim": 6,
                      "units": 8, "attention_units": 5, "memory_units": None, "gate": True, "attention": True,
                      "attention_penalty": 1.0, "dropout": 0.0, "init_pool": "mean", **VARIANTS[variant]}
    clone = build("show_attend_tell", config)
    assert clone.get_config() == model.get_config() and clone.count_params() == model.count_params()
    assert not np.allclose(trainer(clone), trainer(model))  # fresh weights differ...
    model.save_weights(str(tmp_path / "w.weights.h5"))
    clone.load_weights(str(tmp_path / "w.weights.h5"))
    np.testing.assert_array_equal(trainer(clone), trainer(model))  # ...until loaded


def test_greedy_and_beam_search_run_through_the_decoding_loop():
    for model in (tiny(seed=5), tiny(seed=5, **VARIANTS["baseline"])):
        inputs = images()
        greedy = decoding.search(model, inputs, decoding.Greedy(), max_length=5)
        beam1 = decoding.search(model, inputs, decoding.BeamSearch(beam_size=1, alpha=0.0), max_length=5)
        beam = decoding.search(model, inputs, decoding.BeamSearch(beam_size=3, n_best=2), max_length=5)
        np.testing.assert_array_equal(np.asarray(beam1.ids), np.asarray(greedy.ids))
        assert np.asarray(beam.ids).shape == (2, 2, 5) and np.all(np.diff(np.asarray(beam.scores), axis=1) <= 1e-6)
        attention = np.asarray(beam.attention)  # (batch, n_best, max_length, cells)
        assert attention.shape == (2, 2, 5, 24)
        if model.has_attention:
            np.testing.assert_allclose(attention[:, :, 0].sum(-1), 1.0, atol=1e-5)
        else:
            assert not attention.any()
    compiled = decoding.compile_decoder(lambda s: decoding.search(model, s, decoding.Greedy(), max_length=5),
                                        model.trainer.variables)
    np.testing.assert_array_equal(np.asarray(compiled(inputs).ids), np.asarray(greedy.ids))


def test_mixed_precision_keeps_float32_logits_and_penalty():
    model = build("show_attend_tell", tiny().get_config(), "mixed_bfloat16")
    logits = model.trainer({**images(), "decoder_input": DECODER_INPUT})
    assert keras.backend.standardize_dtype(logits.dtype) == "float32" and np.isfinite(np.asarray(logits)).all()
    (penalty,) = model.trainer.losses
    assert keras.backend.standardize_dtype(penalty.dtype) == "float32" and float(penalty) > 0


# --- the gate and the penalty -----------------------------------------------------------------------

def test_the_gate_scales_the_context_by_a_beta_in_zero_one():
    gated, plain = tiny(), tiny(gate=False)
    paths = {v.path: v for v in gated.trainer.weights}
    assert sorted(set(paths) - {v.path for v in plain.trainer.weights}) == ["decoder/decoder_cell/gate/bias",
                                                                               "decoder/decoder_cell/gate/kernel"]
    for v in plain.trainer.weights:
        v.assign(paths[v.path])
    _, state = gated.encode(images())
    beta = np.asarray(gated.cell.beta(state["h"]))  # (batch, 1)
    assert beta.shape == (2, 1) and np.all((beta > 0.0) & (beta < 1.0))
    assert not np.allclose(trainer(gated), trainer(plain), atol=1e-4)  # the gate is in the graph
    paths["decoder/decoder_cell/gate/bias"].assign([30.0])  # β = σ(30) = 1 - 1e-13: the ungated model
    np.testing.assert_allclose(trainer(gated), trainer(plain), atol=1e-5)


def test_the_penalty_by_hand():
    weights = np.array([[[0.5, 0.5, 0.0, 0.0], [0.25, 0.25, 0.5, 0.0], [0.1, 0.2, 0.3, 0.4]],
                        [[1.0, 0.0, 0.0, 0.0], [1.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 1.0]]], "float32")
    target_mask = np.array([[True, True, False], [True, True, True]])  # example 0: its third step is padding
    memory_mask = np.array([[True, True, True, False], [True, True, True, True]])  # its fourth cell too
    # Σ_t α_ti: [0.75, 0.75, 0.5, (0)] -> 0.0625 + 0.0625 + 0.25; [2, 0, 0, 1] -> 1 + 1 + 1 + 0
    per_example = AttentionPenalty.per_example(weights, target_mask, memory_mask)
    np.testing.assert_allclose(np.asarray(per_example), [0.375, 3.0], rtol=1e-6)
    layer = AttentionPenalty(2.0)
    log_probs = np.zeros((2, 3, 5), "float32")
    np.testing.assert_array_equal(np.asarray(layer(log_probs, weights, target_mask, memory_mask)), log_probs)
    (loss,) = layer.losses
    assert float(loss) == pytest.approx(2.0 * (0.375 + 3.0) / 2 / 3)  # λ · mean_b P_b / tgt_len


def test_the_penalty_is_in_the_compiled_loss():
    check_penalty_is_in_the_compiled_loss()


@pytest.mark.skipif(keras.backend.backend() == "jax", reason="the test above runs on JAX already")
def test_the_penalty_trains_on_jax():
    here = pathlib.Path(__file__).resolve().parent
    env = {**os.environ, "KERAS_BACKEND": "jax", "TF_CPP_MIN_LOG_LEVEL": "3",
           "PYTHONPATH": os.pathsep.join([str(here.parent), str(here), os.environ.get("PYTHONPATH", "")])}
    script = ("import keras, test_show_attend_tell as t; assert keras.backend.backend() == 'jax'; "
              "t.check_penalty_is_in_the_compiled_loss()")
    done = subprocess.run([sys.executable, "-c", script], env=env, cwd=here, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]


def test_bad_configs_are_clear_errors():
    with pytest.raises(ValueError, match="show_attend_tell reads images"):
        build("show_attend_tell", {"source_vocab_size": 12, "target_vocab_size": 9})
    with pytest.raises(ValueError, match="set it to 0 with attention=False"):
        tiny(attention=False)
    with pytest.raises(ValueError, match="attention_penalty must be a number >= 0"):
        tiny(attention_penalty=-1.0)
    with pytest.raises(ValueError, match="memory_units must be a positive integer"):
        tiny(memory_units=0)
    with pytest.raises(ValueError, match=r"init_pool must be one of \['max', 'mean'\], got 'sum'"):
        tiny(init_pool="sum")


def test_the_first_state_comes_from_the_mean_or_the_max_of_the_cells():
    from zoo.layers.attention import masked_max

    memory = np.random.default_rng(1).normal(size=(3, 5, 4)).astype("float32")  # (batch, cells, features)
    mask = np.array([[1, 1, 1, 1, 1], [1, 0, 1, 0, 0], [0, 0, 0, 0, 0]], bool)
    pooled = np.asarray(masked_max(memory, mask))
    np.testing.assert_allclose(pooled[0], memory[0].max(axis=0))
    np.testing.assert_allclose(pooled[1], memory[1, [0, 2]].max(axis=0))  # masked cells never win
    np.testing.assert_array_equal(pooled[2], 0.0)  # nothing real: zeros, as masked_mean
    for pool in ("mean", "max"):
        model = tiny(init_pool=pool)
        context, state = model.encode(images())
        cells = np.asarray(context["memory"])  # (batch, cells, C)
        first = getattr(cells, pool)(axis=1)
        expected = [np.asarray(s) for s in model.bridge([first, first])]
        for name, value in zip(model.state_names, expected):
            np.testing.assert_allclose(np.asarray(state[name]), value, atol=1e-6)


# --- it learns ----------------------------------------------------------------------------------------

COLOURS = np.array([[230, 40, 40], [40, 200, 40], [40, 80, 230], [240, 220, 40], [240, 240, 240]], "uint8")


def coloured_squares(count: int, seed: int):
    """24x24 black pictures with 2-4 of 5 colours in 2-4 of the 3x3 cells (jittered 6x6 squares) -> the
    model's inputs and the colours' token ids (4 + colour) in reading order, teacher-forced."""
    rng = np.random.default_rng(seed)
    pixels, captions = np.zeros((count, 24, 24, 3), "uint8"), []
    for picture in pixels:
        cells = np.sort(rng.choice(9, rng.integers(2, 5), replace=False))
        colours = rng.integers(0, len(COLOURS), len(cells))
        for cell, colour in zip(cells, colours):
            y, x = 8 * (cell // 3) + rng.integers(0, 3), 8 * (cell % 3) + rng.integers(0, 3)
            picture[y:y + 6, x:x + 6] = COLOURS[colour]
        captions.append([4 + int(c) for c in colours])
    decoder_input, target = np.zeros((2, count, 5), "int32")
    for row, caption in enumerate(captions):
        decoder_input[row, :len(caption) + 1], target[row, :len(caption) + 1] = [START_ID, *caption], [*caption, END_ID]
    inputs = {"source": pixels, "source_length": np.full((count,), 24 * 24, "int32")}
    return inputs, decoder_input, target, captions


def exact_match_after_training(attention: bool) -> float:
    """A tiny model trained 16 epochs on 2000 pictures -> greedy exact match on 200 new ones."""
    keras.utils.set_random_seed(0)
    model = build("show_attend_tell", {
        "source_vocab_size": None, "target_vocab_size": 4 + len(COLOURS), "embedding_dim": 8, "units": 32,
        "source": {"kind": "image", "height": 24, "width": 24, "filters": [8, 16]},  # a 6 x 6 grid
        "attention": attention, "attention_penalty": 1.0 if attention else 0.0})
    model.trainer.compile(optimizer=keras.optimizers.Adam(0.01, clipnorm=5.0), loss=masked_loss())
    inputs, decoder_input, target, _ = coloured_squares(2000, seed=0)
    model.trainer.fit({**inputs, "decoder_input": decoder_input}, target,
                      sample_weight=(target != 0).astype("float32"), batch_size=32, epochs=16, verbose=0)
    inputs, _, _, captions = coloured_squares(200, seed=1)
    found = decoding.search(model, inputs, decoding.Greedy(), max_length=6)
    ids, lengths = np.asarray(found.ids)[:, 0], np.asarray(found.lengths)[:, 0]
    return float(np.mean([list(ids[row, :lengths[row]]) == caption for row, caption in enumerate(captions)]))


def test_a_tiny_model_learns_to_name_squares_in_reading_order_and_beats_the_baseline():
    attended, pooled = exact_match_after_training(True), exact_match_after_training(False)
    print(f"\ncoloured squares, greedy exact match after 16 epochs: attention {attended:.1%}, "
          f"mean-pooled baseline {pooled:.1%} (measured on TF/CPU: 81.5% and 57.5%; chance: far below 1%)")
    assert attended >= 0.7 and attended >= pooled + 0.1


def test_cell_weights_put_each_memory_position_on_its_cell():
    from zoo.plot import cell_weights

    weights = np.arange(6.0)  # a 2 x 3 grid
    np.testing.assert_array_equal(cell_weights(weights, (2, 3), "rows"), [[0, 1, 2], [3, 4, 5]])
    np.testing.assert_array_equal(cell_weights(weights, (3, 2), "columns"), [[0, 3], [1, 4], [2, 5]])
    np.testing.assert_array_equal(cell_weights(np.array([0.0, 0.6, 0.4]), (2, 3), "strip"),
                                  [[0, 0.3, 0.2], [0, 0.3, 0.2]])


def png(pixels: np.ndarray) -> bytes:
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


def tiny_predictor():
    """An untrained tiny captioner of 16 x 24 pictures, five words."""
    from zoo.frontends.image import ImageFrontend
    from zoo.predictor import Predictor
    from zoo.text.tokenizer import Tokenizer
    from zoo.text.vocab import Vocabulary

    words = Tokenizer(Vocabulary(["a", "b", "c", "d", "e"]), split="whitespace")  # 9 ids with the 4 reserved
    return Predictor(tiny(), ImageFrontend(16, 24), words, max_target_length=5)


def test_plot_attention_overlays_each_words_attention_on_the_picture():
    import zoo
    from zoo.plot import cell_weights

    predictor = tiny_predictor()
    picture = png(images(1)["source"][0])
    hypothesis = predictor.decode([picture], beam_size=2)[0][0]
    figure = zoo.plot_attention(predictor, picture, beam_size=2)
    panels = figure.axes
    words = (hypothesis.tokens + ["</s>"])[: len(hypothesis.attention)]  # no </s> at the length limit
    assert len(panels) == len(words) == len(hypothesis.attention) >= 2
    for panel, word, weights in zip(panels, words, hypothesis.attention):
        shown, overlay = panel.images
        np.testing.assert_array_equal(shown.get_array(), images(1)["source"][0])  # the picture as read
        np.testing.assert_allclose(overlay.get_array(), cell_weights(weights, (4, 6), "rows"))
        assert overlay.get_extent() == [-0.5, 23.5, 15.5, -0.5]  # 4 x 6 cells of 4 pixels cover it
        assert panel.get_title().startswith(word)
    assert hypothesis.text in figure.get_suptitle()
    assert figure._repr_png_().startswith(b"\x89PNG")
    with pytest.raises(TypeError, match="PNG or JPEG bytes"):
        zoo.plot_attention(predictor, "a caption")


def test_training_logs_each_pictures_attention_word_by_word(tmp_path):
    """TensorBoard gets, per dev picture and epoch, the same word-by-word overlay as ``zoo.plot_attention``,
    and the predictions table names the pictures; ``pick_examples`` skips pictures the frontend refuses."""
    from test_attention_maps import png_pixels, summaries

    from zoo.plot import figure_rgb, image_hypothesis_figure
    from zoo.training.callbacks import AttentionMapLogger
    from zoo.training.train import pick_examples

    predictor = tiny_predictor()
    pictures = [png(images(1, seed)["source"][0]) for seed in range(3)]
    examples = pick_examples(predictor, [b"not a picture", *pictures], 2)
    assert examples == pictures[:2]
    logger = AttentionMapLogger(predictor, examples, tmp_path, beam_size=2,
                                references={pictures[0]: ["a b"], pictures[1]: ["c"]})
    logger.on_train_begin()
    logger.on_epoch_end(0)
    logger.on_train_end()
    logged = summaries(tmp_path)
    assert sorted(logged) == ["attention/00", "attention/01", "predictions"]
    table = logged["predictions"][1][0][1]
    assert table[0].tolist() == [b"source", b"prediction", b"log-prob", b"references"]
    assert table[1][0] == b"picture 00" and table[1][3] == b"a b" and table[2][3] == b"c"
    for index, picture in enumerate(examples):
        hypothesis = predictor.decode([picture], beam_size=2)[0][0]
        expected = figure_rgb(image_hypothesis_figure(predictor, picture, hypothesis, "beam 2, best"))
        np.testing.assert_array_equal(png_pixels(logged[f"attention/{index:02d}"][1][0][1]), expected)


def test_zoo_predict_reads_picture_files_and_draws_their_attention(tmp_path, capsys):
    """`zoo predict FOLDER a.png b.png --attention map.png` on an image model: each file's caption as the API
    gives it, one word-by-word overlay per picture; a file that cannot be read is an error naming it."""
    from zoo import hub
    from zoo.cli import main as zoo_main

    predictor = tiny_predictor()
    folder = hub.save(predictor, tmp_path / "tiny-captioner", {}, "# card\n")
    paths = []
    for seed in range(2):
        paths.append(tmp_path / f"picture{seed}.png")
        paths[-1].write_bytes(png(images(1, seed)["source"][0]))
    capsys.readouterr()
    assert zoo_main(["predict", str(folder), *map(str, paths), "--beam", "2", "--attention",
                     str(tmp_path / "map.png")]) == 0
    rows = [line.split("\t") for line in capsys.readouterr().out.strip().splitlines()]
    expected = predictor.decode([path.read_bytes() for path in paths], beam_size=2)
    assert [row[0] for row in rows] == list(map(str, paths))
    assert [row[1] for row in rows] == [n_best[0].text for n_best in expected]
    for index, n_best in enumerate(expected, start=1):
        drawn = (tmp_path / f"map-{index}.png").read_bytes()
        assert drawn.startswith(b"\x89PNG") and len(drawn) > 2000
    assert zoo_main(["predict", str(folder), str(tmp_path / "missing.png")]) == 2
    assert f"input '{tmp_path / 'missing.png'}': this model reads files" in capsys.readouterr().err
