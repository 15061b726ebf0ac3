"""Attention you can see: heatmaps (zoo.plot), TensorBoard image/text/scalar summaries written during
training and read back with TensorBoard's own reader, `zoo predict --attention`, and bad input that
never stops training."""
import io
import logging
import math
import subprocess
import sys

import keras
import numpy as np
import pytest
from PIL import Image
from tensorboard.backend.event_processing.event_accumulator import TENSORS, EventAccumulator

import zoo
from zoo import data
from zoo.cli import main as zoo_main
from zoo.data import scorers
from zoo.data.pipeline import make_dataset
from zoo.models import Luong
from zoo.plot import DPI, attention_figure, figure_rgb, figure_size, hypothesis_figure
from zoo.predictor import Predictor
from zoo.text.tokenizer import Tokenizer
from zoo.training.callbacks import AttentionMapLogger, Perplexity, SequenceMetrics
from zoo.training.losses import masked_accuracy, masked_loss, token_cross_entropy
from zoo.training.train import build_vocabulary, tensorboard_callbacks

from conftest import TOY_RECIPE

EXAMPLES = ["907", "31415", "2718281"]


class NoAttentionLuong(Luong):
    """Stands in for a future family without attention: the flag is all the logger may look at."""

    family = "no-attention"
    has_attention = False


def tiny_predictor(family=Luong) -> Predictor:
    """An untrained tiny model for toy-reverse, with its tokenizers."""
    pairs = data.load("toy-reverse", "train")
    source = Tokenizer(build_vocabulary([s for s, _ in pairs], {"split": "chars"}), split="chars")
    target = Tokenizer(build_vocabulary([t for _, t in pairs], {"split": "whitespace"}), split="whitespace")
    keras.utils.set_random_seed(3)
    model = family(len(source.vocabulary), len(target.vocabulary), embedding_dim=8, encoder_units=8, units=16)
    model.trainer.compile(optimizer=keras.optimizers.Adam(0.01), loss=masked_loss(),
                          weighted_metrics=[masked_accuracy(), token_cross_entropy()])
    return Predictor(model, source, target, max_source_length=16, max_target_length=10)


def fit(predictor: Predictor, epochs: int, callbacks) -> keras.callbacks.History:
    """A short fit on 256 toy-reverse pairs, validated on 64 dev pairs."""
    limits = dict(max_source_length=16, max_target_length=16)
    tokenizers = predictor.source_tokenizer, predictor.target_tokenizer
    train = make_dataset(data.load("toy-reverse", "train")[:256], *tokenizers, 64, seed=0, **limits)
    dev = make_dataset(data.load("toy-reverse", "dev")[:64], *tokenizers, 64, shuffle=False, **limits)
    return predictor.model.trainer.fit(train, validation_data=dev, epochs=epochs, callbacks=callbacks, verbose=0,
                                       shuffle=False)


def summaries(logdir) -> dict:
    """TensorBoard's own reader -> {tag: (plugin name, [(step, numpy value), ...])}."""
    import tensorflow as tf

    events = EventAccumulator(str(logdir), size_guidance={TENSORS: 0}).Reload()
    return {tag: (events.SummaryMetadata(tag).plugin_data.plugin_name,
                  [(e.step, tf.make_ndarray(e.tensor_proto)) for e in events.Tensors(tag)])
            for tag in events.Tags()["tensors"]}


def pixel_shapes(rows: list[str], columns: list[str]) -> list[tuple[int, int, int]]:
    """The (height, width, 3) a heatmap may have: its title takes 2 or 3 lines."""
    sizes = [figure_size(rows, columns, title_lines) for title_lines in (2, 3)]
    return [(round(height * DPI), round(width * DPI), 3) for width, height in sizes]


def png_pixels(image_summary: np.ndarray) -> np.ndarray:
    """An image summary's [width, height, png] -> (height, width, 3) uint8, checking the stated size."""
    width, height, png = int(image_summary[0]), int(image_summary[1]), image_summary[2]
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG" and image.size == (width, height)
    return np.asarray(image.convert("RGB"))


@pytest.fixture(scope="module")
def logged_fit(tmp_path_factory):
    """2 epochs of a tiny model with the metric callbacks, TensorBoard and two attention loggers."""
    logdir = tmp_path_factory.mktemp("logs")
    predictor = tiny_predictor()
    references = data.references("toy-reverse", "dev")
    callbacks = [
        SequenceMetrics(predictor, references, max_examples=50),
        Perplexity(),
        keras.callbacks.TensorBoard(str(logdir)),
        AttentionMapLogger(predictor, EXAMPLES, logdir / "attention", beam_size=3),
        AttentionMapLogger(predictor, EXAMPLES, logdir / "every-2", every_n_epochs=2),
    ]
    history = fit(predictor, 2, callbacks)
    return predictor, history, logdir


def test_training_logs_one_decodable_map_per_example_and_epoch(logged_fit):
    predictor, _, logdir = logged_fit
    logged = summaries(logdir / "attention")
    assert sorted(logged) == ["attention/00", "attention/01", "attention/02", "predictions"]
    assert logged["predictions"][0] == "text"
    predictions = dict(logged["predictions"][1])  # step -> (1 + examples, 3) table
    final = [n_best[0] for n_best in predictor.decode(EXAMPLES, beam_size=3)]
    for index, text in enumerate(EXAMPLES):
        plugin, images = logged[f"attention/{index:02d}"]
        assert plugin == "images" and [step for step, _ in images] == [0, 1]
        for step, image in images:
            table = predictions[step]
            assert table[0].tolist() == [b"source", b"prediction", b"log-prob"]
            assert table[index + 1][0].decode() == text
            rows = (table[index + 1][1].decode().split() + ["</s>"])[: predictor.max_target_length + 1]
            assert png_pixels(image).shape in pixel_shapes(rows, list(text))
        # The last epoch's picture is exactly the figure of the beam's best hypothesis now.
        expected = figure_rgb(hypothesis_figure(text, final[index], "beam 3, best"))
        np.testing.assert_array_equal(png_pixels(images[-1][1]), expected)


def test_every_n_epochs_skips_the_epochs_in_between(logged_fit):
    _, _, logdir = logged_fit
    logged = summaries(logdir / "every-2")
    assert [step for step, _ in logged["attention/00"][1]] == [1]
    assert [step for step, _ in logged["predictions"][1]] == [1]


def test_dev_metrics_and_perplexity_are_tensorboard_scalars(logged_fit):
    _, history, logdir = logged_fit
    train, validation = summaries(logdir / "train"), summaries(logdir / "validation")
    for name in ("dev_wer", "dev_per", "dev_cer", "dev_bleu", "dev_chrf", "perplexity", "loss", "token_accuracy"):
        assert train[f"epoch_{name}"][0] == "scalars"
        assert [step for step, _ in train[f"epoch_{name}"][1]] == [0, 1]
        np.testing.assert_allclose([float(v) for _, v in train[f"epoch_{name}"][1]], history.history[name], rtol=1e-6)
    for name in ("perplexity", "loss", "token_accuracy"):
        assert [step for step, _ in validation[f"epoch_{name}"][1]] == [0, 1]
    logs = history.history
    np.testing.assert_allclose(logs["val_perplexity"], np.exp(logs["val_token_cross_entropy"]), rtol=1e-6)
    assert all(0.0 <= v <= 100.0 for name in ("dev_cer", "dev_bleu", "dev_chrf") for v in logs[name])


def test_train_wires_maps_and_metrics_in_by_default(toy_run):
    _, _, workdir = toy_run
    logged = summaries(workdir / "logs" / "attention")
    images = [tag for tag in logged if tag.startswith("attention/")]
    assert len(images) == 4
    assert all([s for s, _ in logged[tag][1]] == list(range(TOY_RECIPE["epochs"])) for tag in images)
    assert "epoch_dev_bleu" in summaries(workdir / "logs" / "train")
    assert "epoch_perplexity" in summaries(workdir / "logs" / "validation")


def test_plotted_matrix_is_the_attention_rows_sum_to_one_labels_are_tokens(toy_run):
    predictor, _, _ = toy_run
    for beam_size in (1, 4):
        figure = zoo.plot_attention(predictor, "3141592", beam_size=beam_size)
        hypothesis = predictor.decode(["3141592"], beam_size=beam_size)[0][0]
        heatmap, colorbar = figure.axes
        matrix = np.asarray(heatmap.images[0].get_array())
        np.testing.assert_array_equal(matrix, hypothesis.attention)
        np.testing.assert_allclose(matrix.sum(axis=1), 1.0, atol=1e-5)
        assert [t.get_text() for t in heatmap.get_xticklabels()] == list("3141592")
        assert [t.get_text() for t in heatmap.get_yticklabels()] == hypothesis.tokens + ["</s>"]
        assert hypothesis.text == "2 9 5 1 4 1 3" and hypothesis.text in figure.get_suptitle()
        assert colorbar.get_ylabel() == "attention weight"
        assert figure._repr_png_().startswith(b"\x89PNG")  # how a notebook shows it, pyplot or not


def test_reverse_model_attends_to_the_mirrored_position(toy_run):
    predictor, _, _ = toy_run
    sources = list(data.references("toy-reverse", "test"))[:100]
    hits = steps = 0
    for text, n_best in zip(sources, predictor.decode(sources)):
        attention = n_best[0].attention  # (len(tokens) + 1, len(text))
        for t in range(len(text)):  # output token t is source token len - 1 - t
            hits += int(np.argmax(attention[t]) == len(text) - 1 - t)
            steps += 1
    print(f"\nmost weight on the mirrored source position: {100 * hits / steps:.1f}% of {steps} steps")
    assert hits / steps >= 0.9


def test_zoo_predict_writes_the_attention_png(toy_run, tmp_path, capsys):
    _, _, workdir = toy_run
    out = tmp_path / "map.png"
    assert zoo_main(["predict", str(workdir / "pretrained"), "12345", "--beam", "3", "--attention", str(out)]) == 0
    image = Image.open(out)
    assert image.format == "PNG"
    assert (image.height, image.width, 3) in pixel_shapes(list("54321") + ["</s>"], list("12345"))
    assert zoo_main(["predict", str(workdir / "pretrained"), "12", "345", "--attention", str(out)]) == 0
    assert (tmp_path / "map-1.png").is_file() and (tmp_path / "map-2.png").is_file()
    capsys.readouterr()
    assert zoo_main(["predict", str(workdir / "pretrained"), "12", "--attention", str(tmp_path / "no" / "x.png")]) == 2
    assert "--attention: cannot write" in capsys.readouterr().err


def test_empty_examples_unwritable_logdir_and_no_attention_warn_and_training_goes_on(tmp_path, caplog):
    predictor, no_attention = tiny_predictor(), tiny_predictor(NoAttentionLuong)
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    callbacks = [
        AttentionMapLogger(predictor, [], tmp_path / "empty"),
        AttentionMapLogger(predictor, EXAMPLES, blocker / "logs"),
        AttentionMapLogger(no_attention, EXAMPLES, tmp_path / "no-attention"),
    ]
    with caplog.at_level(logging.WARNING, logger="zoo.training.callbacks"):
        history = fit(predictor, 1, callbacks)
    assert history.epoch == [0]
    assert "AttentionMapLogger: examples is empty: no attention maps" in caplog.text
    assert f"cannot write to logdir {str(blocker / 'logs')!r}" in caplog.text
    assert "family 'no-attention' has no attention, so there are no attention maps" in caplog.text
    assert not (tmp_path / "empty").exists()
    assert sorted(summaries(tmp_path / "no-attention")) == ["predictions"]
    with caplog.at_level(logging.WARNING, logger="zoo.training.train"):
        assert tensorboard_callbacks(predictor, {"123": ["3 2 1"]}, blocker / "logs", 4, 1) == []
    assert "training goes on without TensorBoard logs" in caplog.text
    with pytest.raises(ValueError, match="has no attention: there is no attention map to plot"):
        zoo.plot_attention(no_attention, "123")


def test_bad_arguments_are_clear_errors():
    predictor = tiny_predictor()
    with pytest.raises(ValueError, match="every_n_epochs must be an integer >= 1, got 0"):
        AttentionMapLogger(predictor, EXAMPLES, "logs", every_n_epochs=0)
    with pytest.raises(TypeError, match="examples must be a list of sources, got a single str: .123."):
        AttentionMapLogger(predictor, "123", "logs")
    with pytest.raises(ValueError, match=r"texts\[1\] is empty"):
        AttentionMapLogger(predictor, ["123", " "], "logs")
    with pytest.raises(TypeError, match="text must be one str"):
        zoo.plot_attention(predictor, ["123"])
    with pytest.raises(ValueError, match=r"= \(2, 3\), both > 0; got \(3, 2\)"):
        attention_figure(np.ones((3, 2)) / 2, ["a", "b", "c"], ["x", "</s>"])


def test_text_scores_and_perplexity_by_hand():
    def text_scores(hypotheses, references):
        return scorers.score(("cer", "bleu", "chrf"), hypotheses, references)

    # "a b c d" vs "a b x d": 1 character edit in 7; "x y" is exact -> CER 1/10.
    scores = text_scores(["a b c d", "x y"], [["q", "a b x d"], ["x y"]])
    assert scores["cer"] == pytest.approx(10.0)
    assert text_scores(["a b c d"], [["a b c d"]]) == {"cer": 0.0, "bleu": pytest.approx(100.0), "chrf": pytest.approx(100.0)}
    assert 0.0 < scores["bleu"] < 100.0 and 0.0 < scores["chrf"] < 100.0
    logs = {"token_cross_entropy": math.log(5.0), "val_token_cross_entropy": 0.0}
    Perplexity().on_epoch_end(0, logs)
    assert logs["perplexity"] == pytest.approx(5.0) and logs["val_perplexity"] == 1.0


def test_import_zoo_loads_matplotlib_only_when_plotting():
    code = ("import sys, zoo; assert 'matplotlib' not in sys.modules; "
            "zoo.plot_attention; assert 'matplotlib' in sys.modules")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
