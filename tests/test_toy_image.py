"""Image-to-text in miniature, end to end: PNG bytes of strips of 2-5 handwritten digits (scikit-learn's
bundled 8x8 scans, scaled and jittered on a canvas: zoo/data/toy_image.py) -> the digit string. The
frontend decodes and fits the PNG in the graph; the model reads it with a small CNN, a BiLSTM over
the grid's columns, and attends column by column.

Reading digits takes longer to learn than the other toys: ``recipes/toy-image.json`` trains for 20
epochs (about 6 minutes on 2 CPU cores), and ``tests/data/toy-image`` is what it wrote (float16).
These tests check that model's figures and behaviour, and that the recipe's first epochs learn."""
import io
import json
import pathlib

import numpy as np
import pytest
from PIL import Image

import zoo
from zoo.data import toy_image
from zoo.evaluation import evaluate
from zoo.training.train import load_recipe, train

from toy_checks import assert_attention_moves_forward, check_export_answers_as_predict, saved_model_cli_run

SHIPPED = pathlib.Path(__file__).resolve().parent / "data" / "toy-image"
FRESH = toy_image.make(8, seed=99, split="test")  # strips no split holds


@pytest.fixture(scope="module")
def predictor():
    return zoo.load(SHIPPED)


def test_the_recipe_model_reads_held_out_strips(predictor):
    metrics = json.loads((SHIPPED / "metrics.json").read_text())
    print(f"\ntoy image: test exact match greedy {metrics['test']['exact_match']:.1f}%, "
          f"beam {metrics['beam']['test']['exact_match']:.1f}%, CER {metrics['test']['cer']:.2f}%")
    assert metrics["test"]["exact_match"] >= 95.0 and metrics["beam"]["test"]["exact_match"] >= 95.0
    assert evaluate(predictor, "toy-image", "test")["exact_match"] == pytest.approx(metrics["test"]["exact_match"])
    strips, digits = [s for s, _ in FRESH], [d for _, d in FRESH]
    assert sum(p == d for p, d in zip(predictor.predict(strips), digits)) >= 7
    assert sum(p == d for p, d in zip(predictor.predict(strips, beam_size=4), digits)) >= 7
    n_best = predictor.decode(strips[:1], beam_size=4, n_best=3)[0]
    assert len({h.text for h in n_best}) == 3 and n_best[0].score >= n_best[1].score >= n_best[2].score


def test_the_recipe_learns_to_read_within_five_epochs(tmp_path):
    recipe = {**load_recipe("toy-image"), "epochs": 5, "weights_dtype": "float32"}
    _, metrics = train(recipe, tmp_path, verbose=0, attention_examples=0)
    print(f"\ntoy image after 5 epochs: dev CER {metrics['dev']['cer']:.1f}% (the recipe's run: 31.8%; "
          "an untrained model: about 90%)")
    # Epoch 5 is on the steep part of the curve, where the CPU's float kernels (oneDNN picks them by the
    # instruction set) move the figure: 62.0 % on an AVX2-only AMD EPYC (2026-12-07), under 60 on the
    # machines before it; epoch 4 stood at 80 there, and exact matches at 6.5 % (0 untrained).
    assert metrics["dev"]["cer"] < 70.0 and metrics["dev"]["exact_match"] > 2.0


def _as(png: bytes, mode: str, fmt: str) -> bytes:
    buffer = io.BytesIO()
    Image.open(io.BytesIO(png)).convert(mode).save(buffer, format=fmt, **({"quality": 95} if fmt == "JPEG" else {}))
    return buffer.getvalue()


def test_the_frontend_rules_hold_for_the_model(predictor, tmp_path):
    strip, _ = FRESH[0]
    expected = predictor.predict([strip])
    assert predictor.predict([_as(strip, "RGB", "PNG"), _as(strip, "RGBA", "PNG")]) == expected * 2  # same picture
    assert predictor.predict([_as(strip, "RGB", "JPEG")]) == expected
    path = tmp_path / "strip.png"
    path.write_bytes(strip)
    assert predictor.predict([str(path)]) == expected
    with pytest.raises(ValueError, match=r"inputs\[1\]: not a PNG or JPEG image"):
        predictor.predict([strip, b"GIF89a, no"])


def test_attention_moves_left_to_right_digit_by_digit(predictor):
    checked = 0
    for strip, digits in FRESH:
        best = predictor.decode([strip])[0][0]
        if best.text != digits:
            continue
        assert_attention_moves_forward(best.attention, digits)  # over the grid's columns
        checked += 1
    assert checked >= 7


def test_the_export_reads_image_bytes_and_answers_as_predict(tmp_path):
    strips = [strip for strip, _ in FRESH[:3]]
    check_export_answers_as_predict(SHIPPED, strips, tmp_path)
    version = tmp_path / "exports" / "toy-image" / "1"
    out = saved_model_cli_run(version, "image", [strips[0], b"not an image"], tmp_path / "bad")
    assert [e.decode() for e in out["error"]] == ["", "not a PNG or JPEG image"]
    assert [o.decode() for o in out["outputs"][1]] == [""] * 2 and out["outputs"][0][0].decode()
