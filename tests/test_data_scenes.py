"""Emoji scenes and digit grids (``zoo.data.scenes``): the committed emoji snapshot and its checksum,
pictures that are the same for the same seed, canonical captions that parse back to what was drawn,
relations that follow from the positions, and held-out pairs and layouts that train never shows."""
import collections
import hashlib
import io
import itertools
import json
import pathlib
import re
import shutil

import pytest
from PIL import Image

from zoo import data
from zoo.data import scenes, toy_image
from zoo.data.corpora import ChecksumError

CORPORA = pathlib.Path(__file__).resolve().parents[1] / "corpora"
NAMES = scenes.emoji()[0]
_NAME = "|".join(sorted(map(re.escape, NAMES), key=len, reverse=True))
OBJECT = rf"a (small|large) ({_NAME})"
CAPTION = re.compile(rf"{OBJECT}((?: (?:left of|above) {OBJECT})*)")
STEP = re.compile(rf" (left of|above) {OBJECT}")
# Pinned: figures measured on the test split depend on it never changing (its first 100 captions).
TEST_CAPTIONS_SHA256 = "d2b127ac0bb5f25a7a5a1b4631a9a566228520d10932c0aabf4f67747c65a08b"


def parse(caption: str) -> tuple[list[tuple[str, str]], list[str]]:
    """A caption -> ([(size, name)] in order, [relation between each and the next]); fails unless it is
    exactly the grammar of the module docstring."""
    match = CAPTION.fullmatch(caption)
    assert match, caption
    objects, relations = [match.group(1, 2)], []
    for step in STEP.finditer(match.group(3)):
        relations.append(step.group(1))
        objects.append(step.group(2, 3))
    return objects, relations


def centre_y(box) -> float:
    return (box[1] + box[3]) / 2


def test_registered_with_exact_match_selecting():
    emoji_scenes, digit_grids = data.get("emoji-scenes"), data.get("digit-grids")
    assert dict(emoji_scenes.metrics) == {"exact_match": "exact_match", "bleu": "bleu"}
    assert dict(digit_grids.metrics) == {"exact_match": "exact_match", "digit_accuracy": "token_accuracy"}
    assert digit_grids.score(["4 0 7 1", "3 3"], [["4 0 7 7"], ["3 3 3"]])["digit_accuracy"] == pytest.approx(100 * 5 / 7)
    for declared in (emoji_scenes, digit_grids):
        assert declared.splits == ("train", "dev", "test") and declared.monitor == ("dev_exact_match", "max")
    assert emoji_scenes.references is scenes.references and digit_grids.references is scenes.digit_references
    assert "Apache-2.0" in emoji_scenes.about and "CC BY 4.0" in digit_grids.about


def test_the_snapshot_is_listed_verified_and_complete():
    listed = dict(line.split("  ")[::-1] for line in (CORPORA / "SHA256SUMS").read_text().splitlines())
    for name in (scenes.SPRITE, scenes.INDEX):
        assert hashlib.sha256((CORPORA / name).read_bytes()).hexdigest() == listed[name]
        assert scenes.verified(name) == (CORPORA / name).read_bytes()
    index = json.loads((CORPORA / scenes.INDEX).read_text())
    assert (index["package"], index["version"], index["side"]) == ("emoji-datasource-google", "16.0.0", 64)
    assert len(NAMES) == len(set(NAMES)) == 64 and all(re.fullmatch(r"[a-z]+( [a-z]+)?", n) for n in NAMES)
    assert not set(" ".join(NAMES).split()) & {"a", "small", "large", "left", "of", "above"}
    assert len({entry["category"] for entry in index["emoji"]}) == 6
    assert all(picture.size == (64, 64) and picture.mode == "RGBa" for picture in scenes.emoji()[1])
    assert (CORPORA / "LICENSE-emoji-datasource").is_file() and (CORPORA / "build_emoji.py").is_file()
    assert Image.open(CORPORA / scenes.SPRITE).info.keys() <= {"dpi"}  # no timestamps or text chunks


def test_a_corrupted_or_missing_snapshot_is_a_clear_error(tmp_path):
    for name in ("SHA256SUMS", scenes.INDEX):
        shutil.copy(CORPORA / name, tmp_path / name)
    assert scenes.verified(scenes.INDEX, tmp_path) == (CORPORA / scenes.INDEX).read_bytes()
    (tmp_path / scenes.INDEX).write_bytes((CORPORA / scenes.INDEX).read_bytes()[:-10])
    with pytest.raises(ChecksumError, match=r"emoji-google-64\.json is corrupted or truncated"):
        scenes.verified(scenes.INDEX, tmp_path)
    with pytest.raises(ChecksumError, match=r"emoji-google-64\.png is missing"):
        scenes.verified(scenes.SPRITE, tmp_path)
    with pytest.raises(ChecksumError, match="build_emoji.py is not listed"):
        scenes.verified("build_emoji.py", tmp_path)


def test_the_same_seed_gives_the_same_bytes():
    first, again = scenes.scenes(6, seed=5, split="dev"), scenes.scenes(6, seed=5, split="dev")
    assert first == again and scenes.make(6, 5, "dev") == [(s.png, s.caption) for s in first]
    assert [s.png for s in scenes.scenes(6, seed=6, split="dev")] != [s.png for s in first]
    assert scenes.digit_grids(4, seed=5, split="train") == scenes.digit_grids(4, seed=5, split="train")
    assert scenes.digit_grids(4, seed=5, split="train") != scenes.digit_grids(4, seed=6, split="train")
    test = scenes.compositions(100, scenes.SPLITS["test"][1], "test")
    digest = hashlib.sha256("\n".join(map(scenes.caption, test)).encode()).hexdigest()
    assert digest == TEST_CAPTIONS_SHA256
    with pytest.raises(ValueError, match="split must be one of"):
        scenes.scenes(1, seed=0, split="validation")
    with pytest.raises(ValueError, match="count must be"):
        scenes.digit_grids(-1, seed=0, split="train")


@pytest.mark.parametrize("split, seed", [("train", 41), ("dev", 42), ("test", 43)])
def test_captions_parse_back_to_the_drawn_scene(split, seed):
    drawn = scenes.scenes(30, seed=seed, split=split)
    assert [tuple(thing[:3] for thing in scene.objects) for scene in drawn] == scenes.compositions(30, seed, split)
    for scene in drawn:
        objects, relations = parse(scene.caption)
        assert objects == [(thing.size, thing.name) for thing in scene.objects]
        assert len(scene.caption.split()) <= 22
        picture = Image.open(io.BytesIO(scene.png))
        assert (picture.format, picture.mode, picture.size) == ("PNG", "RGB", (128, 128))
        things = scene.objects
        for a, b in itertools.combinations(things, 2):  # nothing overlaps: 4 or more pixels apart
            assert (a.box[2] + 4 <= b.box[0] or b.box[2] + 4 <= a.box[0] or a.box[3] + 4 <= b.box[1]
                    or b.box[3] + 4 <= a.box[1]), scene.caption
        for a, b, said in zip(things, things[1:], relations):
            # From the positions alone: one row (centres at most 2 * JITTER + 1 apart vertically), or the
            # next is wholly lower (centres at least a row height minus that apart).
            dy = centre_y(b.box) - centre_y(a.box)
            if abs(dy) <= 2 * scenes.JITTER + 1:
                assert said == "left of" and a.box[2] + 4 <= b.box[0], scene.caption
            else:
                assert said == "above" and a.box[3] + 4 <= b.box[1] and dy >= 42 - 2 * scenes.JITTER - 1, scene.caption
        sides = [max(t.box[2] - t.box[0], t.box[3] - t.box[1]) for t in things]
        for thing, side in zip(things, sides):  # the two sizes do not meet, even turned
            assert (17 <= side <= 25) if thing.size == "small" else (28 <= side <= 38), (thing, side)


def test_train_never_shows_a_held_out_pair_or_layout():
    held_out = {split: set(scenes.held_out_pairs(split)) for split in ("dev", "test")}
    assert not held_out["dev"] & held_out["test"] and all(80 <= len(p) <= 130 for p in held_out.values())
    train = scenes.compositions(3000, scenes.SPLITS["train"][1], "train")
    seen_names, seen_pairs = set(), set()
    for objects in train:
        names = [name for name, _, _ in objects]
        pairs = {tuple(sorted(p)) for p in itertools.combinations(names, 2)}
        assert not pairs & (held_out["dev"] | held_out["test"]), names
        assert scenes.layout_split([cell for _, _, cell in objects]) == "train"
        seen_names.update(names)
        seen_pairs |= pairs
    assert seen_names == set(NAMES) and len(seen_pairs) > 1000
    assert collections.Counter(len(objects) for objects in train).keys() == {1, 2, 3, 4}


def test_dev_and_test_scenes_hold_a_pair_and_a_layout_train_never_shows():
    def steps(layout):
        return set(zip(layout, layout[1:]))

    train_steps = set().union(*(steps(layout) for group in scenes.layouts("train").values() for layout in group))
    for split, seed in (("dev", 7), ("test", 8)):
        groups = scenes.layouts(split)
        assert sorted(groups) == [2, 3, 4] and all(groups.values())
        assert not set(itertools.chain(*groups.values())) & set(itertools.chain(*scenes.layouts("train").values()))
        assert all(steps(layout) <= train_steps for group in groups.values() for layout in group)
        held_out = set(scenes.held_out_pairs(split))
        for objects in scenes.compositions(300, seed, split):
            names, cells = [name for name, _, _ in objects], [cell for _, _, cell in objects]
            assert 2 <= len(objects) <= 4 and scenes.layout_split(cells) == split
            assert any(tuple(sorted(pair)) in held_out for pair in zip(names, names[1:])), names


def test_digit_grids_are_captioned_in_reading_order():
    _, targets = toy_image.scans()
    for split, seed in (("train", 1), ("dev", 2), ("test", 3)):
        for grid in scenes.digit_grids(12, seed=seed, split=split):
            rows, columns = grid.shape
            assert grid.shape in scenes.DIGIT_SHAPES and 2 <= rows * columns <= 6
            assert grid.caption == " ".join(str(targets[i]) for i in grid.scans)
            assert scenes.digit_split(grid.caption.replace(" ", "")) == split
            boxes = [grid.boxes[r * columns:(r + 1) * columns] for r in range(rows)]
            for row in boxes:  # left to right within a row
                assert all(a[2] <= b[0] for a, b in zip(row, row[1:]))
            for upper, lower in zip(boxes, boxes[1:]):  # every digit of a row above every digit of the next
                assert max(box[3] for box in upper) <= min(box[1] for box in lower)
            picture = Image.open(io.BytesIO(grid.png))
            assert (picture.mode, picture.size) == ("RGB", (128, 128))
    strings = {"".join(str(targets[i]) for i in indices)
               for _, indices in scenes.digit_compositions(2000, scenes.DIGIT_SPLITS["train"][1], "train")}
    assert all(scenes.digit_split(s) == "train" for s in strings) and len(strings) > 1500
