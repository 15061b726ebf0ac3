"""The pretrained captioners (issue 30): `caption-scenes` (emoji scenes, Show, Attend and Tell), its
no-attention baseline `caption-scenes-baseline` and `caption-digits` (handwritten digit rows and grids),
checked against their cards and the issue's bars, on pictures no split holds, through the export, and
with every kind of bad picture in `predict` and in the SavedModel alike."""
import io
import json
import pathlib
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

import zoo
from zoo import hub
from zoo.data import scenes
from zoo.evaluation import evaluate

from toy_checks import check_export_answers_as_predict, saved_model_cli_run

FRESH_SCENES = scenes.scenes(16, seed=99, split="test")  # held-out compositions, pictures no split holds
FRESH_DIGITS = scenes.digit_grids(16, seed=99, split="test")
COMMITTED = pathlib.Path(__file__).resolve().parent / "data" / "captioning"  # the first 3 scenes and 2 grids


@pytest.fixture(scope="module")
def captioner():
    return zoo.load("caption-scenes")


def metrics_of(name: str) -> dict:
    return json.loads((hub.resolve(name) / "metrics.json").read_text())


def test_the_card_meets_the_issue_bars_and_attention_beats_its_baseline():
    metrics, baseline = metrics_of("caption-scenes"), metrics_of("caption-scenes-baseline")
    beam = metrics["beam"]
    print(f"\ncaption-scenes test exact match: greedy {metrics['test']['exact_match']:.1f}%, "
          f"beam {beam['test']['exact_match']:.1f}% (BLEU {beam['test']['bleu']:.1f}); baseline beam "
          f"{metrics['baseline']['emoji-scenes']['exact_match']:.1f}%")
    assert beam["strategy"]["beam_size"] == 3 and beam["test"]["count"] == 1000
    assert beam["test"]["exact_match"] >= 80.0  # the issue's target (its must: 60)
    assert metrics["baseline"]["name"] == "caption-scenes-baseline"
    assert metrics["baseline"]["emoji-scenes"]["exact_match"] + 10 <= beam["test"]["exact_match"]
    assert baseline["beam"]["test"]["exact_match"] + 10 <= beam["test"]["exact_match"]  # its own card says so too
    assert baseline["parameters"] <= metrics["parameters"] and baseline["epochs"] == metrics["epochs"]


def test_zoo_evaluate_reproduces_the_cards_greedy_test_figures(captioner):
    expected = metrics_of("caption-scenes")["test"]
    result = evaluate(captioner, "emoji-scenes", "test")
    assert result["count"] == expected["count"] == 1000
    assert result["exact_match"] == pytest.approx(expected["exact_match"], abs=0.3)
    assert result["bleu"] == pytest.approx(expected["bleu"], abs=0.3)


def test_fresh_held_out_scenes_are_captioned_and_each_object_is_looked_at_where_it_is(captioner):
    """On pictures of held-out compositions that no split holds, most captions are exact; in each exact
    one, every object's size word ("a SIZE NAME": the first word that depends on that object) attends most
    to a cell on or next to the object. (By its name the decoder's state already holds the object, and the
    name's attention is elsewhere: measured on 40 fresh scenes, 103 of 104 size words and 8 of 104 names.)"""
    pictures = [scene.png for scene in FRESH_SCENES]
    best = [n_best[0] for n_best in captioner.decode(pictures, beam_size=3)]
    right = [(scene, hypothesis) for scene, hypothesis in zip(FRESH_SCENES, best) if hypothesis.text == scene.caption]
    assert len(right) >= 9, [(s.caption, h.text) for s, h in zip(FRESH_SCENES, best)]
    front = captioner.model.source_front
    rows, columns = front.grid_shape
    scale = front.grid.stride * 128 / front.width  # canvas pixels per grid cell
    looked, missed = 0, []
    for scene, hypothesis in right:
        words = hypothesis.tokens
        position = 0
        for thing in scene.objects:
            position = words.index(thing.name.split()[0], position)  # "a" SIZE NAME ...
            assert words[position - 1] == thing.size
            row, column = divmod(int(np.argmax(hypothesis.attention[position - 1])), columns)
            x0, y0, x1, y1 = thing.box
            if (column * scale < x1 + scale / 2 and (column + 1) * scale > x0 - scale / 2
                    and row * scale < y1 + scale / 2 and (row + 1) * scale > y0 - scale / 2):
                looked += 1
            else:
                missed.append((scene.caption, thing.name, (row, column)))
            position += 1
    assert looked >= 0.9 * (looked + len(missed)) and looked >= 20, missed


# --- bad pictures ------------------------------------------------------------------------------------

def _encoded(image: Image.Image, fmt: str = "PNG") -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt)
    return buffer.getvalue()


def _huge_png(width: int = 10_000, height: int = 10_000) -> bytes:
    """A real 10,000 x 10,000 grayscale PNG (white; 100 megapixels, a few hundred kilobytes compressed)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = zlib.compress((b"\x00" + b"\xff" * width) * height, 1)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", rows) + chunk(b"IEND", b""))


def bad_pictures() -> dict[str, tuple[bytes, str]]:
    """name -> (bytes, the frontend's verdict: "" when it reads the picture, else its error)."""
    scene = Image.open(io.BytesIO(FRESH_SCENES[0].png))
    png = FRESH_SCENES[0].png
    return {
        "empty": (b"", "empty: no image bytes"),
        "not an image": (b"GIF89a and more", "not a PNG or JPEG image"),
        "1x1": (_encoded(Image.new("RGB", (1, 1), (200, 30, 30))), ""),
        "10000x10000": (_huge_png(), "10000x10000 pixels, more than the 16777216 pixel limit"),
        "grayscale": (_encoded(scene.convert("L")), ""),
        "RGBA": (_encoded(scene.convert("RGBA")), ""),
        "JPEG": (_encoded(scene.convert("RGB"), "JPEG"), ""),
        "truncated PNG": (png[: len(png) // 2], "damaged PNG (truncated)"),
    }


def test_bad_pictures_in_predict_are_captioned_or_clear_errors(captioner):
    for name, (picture, verdict) in bad_pictures().items():
        if verdict:
            with pytest.raises(ValueError, match=r"inputs\[1\]") as raised:
                captioner.predict([FRESH_SCENES[1].png, picture])
            assert verdict in str(raised.value), name
        else:
            caption, = captioner.predict([picture])
            assert isinstance(caption, str), name
    same = bad_pictures()
    reference = captioner.predict([FRESH_SCENES[0].png])
    assert captioner.predict([same["RGBA"][0]]) == reference  # an opaque RGBA picture is the same picture


def test_the_committed_pictures_are_the_generators_and_zoo_predict_captions_them(captioner, capsys):
    from zoo.cli import main as zoo_main

    files = sorted(COMMITTED.glob("scene-*.png"))
    for path, scene in zip(files, FRESH_SCENES):
        np.testing.assert_array_equal(np.asarray(Image.open(path)), np.asarray(Image.open(io.BytesIO(scene.png))))
    for path, grid in zip(sorted(COMMITTED.glob("digits-*.png")), FRESH_DIGITS):
        np.testing.assert_array_equal(np.asarray(Image.open(path)), np.asarray(Image.open(io.BytesIO(grid.png))))
    capsys.readouterr()
    assert zoo_main(["predict", "caption-scenes", *map(str, files)]) == 0
    rows = [line.split("\t") for line in capsys.readouterr().out.strip().splitlines()]
    assert [row[1] for row in rows] == captioner.predict([str(path) for path in files])
    assert [row[1] for row in rows] == [scene.caption for scene in FRESH_SCENES[:3]]


def test_the_export_captions_as_predict_and_answers_every_bad_picture_in_its_row(tmp_path, captioner):
    pictures = [path.read_bytes() for path in sorted(COMMITTED.glob("scene-*.png"))]
    # Same captions; scores within 0.01: the session loader's graph rewrites (oneDNN's fused convolutions)
    # round the CNN's 4 normalized stages differently, up to 0.004 on a runner-up's log-probability.
    check_export_answers_as_predict(hub.resolve("caption-scenes"), pictures, tmp_path, atol=0.01)
    version = tmp_path / "exports" / "caption-scenes" / "1"
    bad = bad_pictures()
    out = saved_model_cli_run(version, "image", [pictures[0]] + [picture for picture, _ in bad.values()],
                              tmp_path / "bad")
    assert [e.decode() for e in out["error"]] == [""] + [verdict for _, verdict in bad.values()]
    good = [0] + [i + 1 for i, (_, verdict) in enumerate(bad.values()) if not verdict]
    assert all(out["outputs"][i][0].decode() for i in good)
    assert all(out["outputs"][i][0].decode() == "" for i in range(len(bad) + 1) if i not in good)
    # the attention signature: the best caption's words and their weights over the 6 x 6 grid, as predict's
    attention = saved_model_cli_run(version, "image", pictures[:1], tmp_path / "attention", signature="attention")
    hypothesis = captioner.decode(pictures[:1], beam_size=3, alpha=hub.decoding_config("caption-scenes").alpha)[0][0]
    length = len(hypothesis.attention)
    assert [t.decode() for t in attention["output_tokens"][0][:length]] == (hypothesis.tokens + ["</s>"])[:length]
    np.testing.assert_allclose(attention["weights"][0][:length], hypothesis.attention, atol=1e-4)


# --- caption-digits: handwritten digit rows and grids ---------------------------------------------------

@pytest.fixture(scope="module")
def digit_reader():
    return zoo.load("caption-digits")


def test_the_digits_card_meets_the_issue_bar_and_zoo_evaluate_reproduces_it(digit_reader):
    metrics = metrics_of("caption-digits")
    beam = metrics["beam"]
    print(f"\ncaption-digits test digit accuracy: greedy {metrics['test']['digit_accuracy']:.2f}%, "
          f"beam {beam['test']['digit_accuracy']:.2f}% (exact {beam['test']['exact_match']:.1f}%)")
    assert beam["strategy"]["beam_size"] == 3 and beam["test"]["count"] == 1000
    assert beam["test"]["digit_accuracy"] >= 95.0  # the issue's must
    result = evaluate(digit_reader, "digit-grids", "test")
    for key in ("exact_match", "digit_accuracy"):
        assert result[key] == pytest.approx(metrics["test"][key], abs=0.3), key


def test_digit_rows_are_read_left_to_right(digit_reader):
    """On fresh rows of test digit strings, most readings are exact, and in each exact one the attention
    peaks move right digit by digit (the grid's columns, as ``zoo.plot`` maps cells to pixels)."""
    rows = [grid for grid in scenes.digit_grids(60, seed=98, split="test") if grid.shape[0] == 1]
    best = [n_best[0] for n_best in digit_reader.decode([grid.png for grid in rows], beam_size=3)]
    right = [(grid, hypothesis) for grid, hypothesis in zip(rows, best) if hypothesis.text == grid.caption]
    assert len(rows) >= 20 and len(right) >= 0.8 * len(rows)
    _, columns = digit_reader.model.source_front.grid_shape
    for grid, hypothesis in right:
        peaks = [int(np.argmax(weights)) % columns for weights in hypothesis.attention[: len(grid.scans)]]
        assert peaks == sorted(peaks) and len(set(peaks)) == len(peaks), (grid.caption, peaks)
