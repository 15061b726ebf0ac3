"""Image captioning on generated pictures: emoji scenes described in words, and handwritten digit grids.
Deterministic for a seed; nothing is downloaded and no picture is stored except the emoji snapshot.

**emoji-scenes**: 1-4 of 64 Noto Emoji (``corpora/emoji-google-64.png``, built by
``corpora/build_emoji.py`` from npm ``emoji-datasource-google`` 16.0.0; SHA-256 checked on load) on a
128x128 RGB canvas split into a 3x3 grid of cells, at most one emoji per cell. Each emoji is "small"
(18-21 pixels wide before rotation) or "large" (30-33), turned by up to 10 degrees either way, its
visible box centred within 5 pixels of its cell's centre and kept 2 pixels inside the cell: objects in
one row sit on one line (centres at most 11 pixels apart vertically), rows are 4 or more pixels apart,
and nothing overlaps. The background is a pale to mid colour, flat, a gradient, stripes or checks;
half of the pictures get Gaussian noise. The caption names the objects in reading order (cells row by
row, left to right) and relates each to the next::

    caption  := object (relation object)*        e.g. "a small cat left of a large pizza above a small bee"
    object   := "a" size name                     size: "small" | "large"; name: one of the 64, 1-2 words
    relation := "left of" | "above"

Each relation links the two objects around it: "left of" when they share a grid row (the first one's
box lies wholly left of the next one's), "above" when the next one is in a lower row (the first one's
box lies wholly above it, whatever their columns). One scene has one caption, at most 22 words.

Held-out compositions. Unordered pairs of emoji and sets of occupied cells ("layouts") are assigned to
a split by the SHA-256 of their names: ``pair_split`` holds out 1/20 of the 2,016 pairs for test and
1/20 for dev, ``layout_split`` 1/10 of the 246 layouts of 2-4 cells for each. A train scene has a
train layout and no held-out pair anywhere in it; a dev or test scene has 2-4 objects in one of its
split's layouts, and two neighbours in reading order form one of its split's pairs (in either order),
so its caption holds a pair, in a relation and an arrangement of cells, that train never shows. Every
emoji, size, cell and step between two cells is seen in train.

**digit-grids**: rows of 2-6 and grids of 2x2, 2x3 or 3x2 handwritten digits (scikit-learn's bundled
8x8 scans, through ``zoo.data.toy_image``: every split draws from all 1797 scans) in dark ink on the
same backgrounds, on the same canvas; the caption is the digits in reading order separated by spaces,
"4 0 7 1", so that word-level scorers count digits. Digit strings are assigned to a split by the
SHA-256 of the string (1/10 test, 1/10 dev): a test string never appears in train.

    >>> scene = scenes(1, seed=0, split="train")[0]    # Scene(png=b"\\x89PNG...", caption="a ...", objects=...)
"""
from __future__ import annotations

import colorsys
import functools
import hashlib
import io
import itertools
import json
import math
import os
from typing import NamedTuple

import numpy as np
from PIL import Image

from zoo.data import toy_image
from zoo.data.corpora import verified_path
from zoo.data.dataset import Dataset, grouped

SPRITE, INDEX = "emoji-google-64.png", "emoji-google-64.json"
CANVAS = 128  # pixels per side, RGB
GRID = 3  # cells per row and per column
EDGES = tuple(round(i * CANVAS / GRID) for i in range(GRID + 1))  # cell boundaries: (0, 43, 85, 128)
SIZES = {"small": (18, 21), "large": (30, 33)}  # emoji side before rotation, pixels, inclusive
MAX_ROTATION = 10.0  # degrees either way
JITTER = 5  # pixels a visible box's centre may sit from its cell's centre, on each axis
MARGIN = 2  # pixels between a visible box and its cell's edges
OBJECTS = (1, 4)  # objects per train scene, inclusive; dev and test scenes have 2-4
RELATIONS = ("left of", "above")
HELD_OUT = {"test": 0, "dev": 1}  # hash bucket of the pairs, layouts and digit strings each holds out
PAIR_BUCKETS, LAYOUT_BUCKETS, DIGIT_BUCKETS = 20, 10, 10
# Backgrounds: HSV saturation and value of the base colour, texture contrast (+- levels). Gaussian noise
# (sigma in levels) on a share of the pictures only: noise is what makes a PNG large (1.5 KB -> 30 KB).
BACKGROUNDS = ("flat", "gradient", "stripes", "checks")
SATURATION, VALUE = (0.05, 0.45), (0.6, 0.95)
CONTRAST = (6.0, 18.0)
NOISY, NOISE = 0.5, (1.0, 6.0)
# Digit grids: (rows, columns) in reading order, the most pixels between cell starts, dark ink.
DIGIT_SHAPES = ((1, 2), (1, 3), (1, 4), (1, 5), (1, 6), (2, 2), (2, 3), (3, 2))
DIGIT_PITCH = 32
INK_VALUE, INK_SATURATION, INK = (0.0, 0.3), (0.0, 0.8), (0.75, 1.0)  # HSV of the ink colour, its strength
# Suggested examples per split: name -> (count, seed), for each dataset.
SPLITS = {"train": (20000, 0), "dev": (500, 1), "test": (1000, 2)}
DIGIT_SPLITS = {"train": (10000, 10), "dev": (500, 11), "test": (1000, 12)}


class Thing(NamedTuple):
    """One emoji in a scene."""
    name: str  # its caption name, e.g. "ice cream"
    size: str  # "small" or "large"
    cell: int  # 0-8, row by row
    box: tuple[int, int, int, int]  # its visible pixels (alpha > 0): x0, y0, x1, y1 (exclusive)
    angle: float  # degrees, counter-clockwise


class Scene(NamedTuple):
    png: bytes  # (128, 128) RGB PNG
    caption: str
    objects: tuple[Thing, ...]  # in reading order


class DigitGrid(NamedTuple):
    png: bytes  # (128, 128) RGB PNG
    caption: str  # the digits in reading order, space-separated: "4 0 7 1"
    scans: tuple[int, ...]  # the load_digits index of each digit, in reading order
    shape: tuple[int, int]  # (rows, columns)
    boxes: tuple[tuple[int, int, int, int], ...]  # each digit's square: x0, y0, x1, y1 (exclusive)


# --- the emoji snapshot and the held-out sets ------------------------------------------------------

def verified(name: str, folder: str | os.PathLike | None = None) -> bytes:
    """The bytes of a snapshot file of ``corpora/`` (or ``folder``), checked against its ``SHA256SUMS``."""
    return verified_path(name, "corpora/build_emoji.py", folder).read_bytes()


@functools.lru_cache(maxsize=1)
def emoji() -> tuple[tuple[str, ...], tuple[Image.Image, ...]]:
    """The snapshot, verified: (64 caption names, their 64x64 premultiplied "RGBa" pictures), same order."""
    index = json.loads(verified(INDEX))
    sheet = Image.open(io.BytesIO(verified(SPRITE))).convert("RGBA")
    side, columns = index["side"], index["columns"]
    pictures = tuple(sheet.crop(((i % columns) * side, (i // columns) * side,
                                 (i % columns + 1) * side, (i // columns + 1) * side)).convert("RGBa")
                     for i in range(len(index["emoji"])))
    return tuple(entry["name"] for entry in index["emoji"]), pictures


def _bucket(key: str, buckets: int) -> int:
    return int.from_bytes(hashlib.sha256(key.encode("utf-8")).digest()[:8], "big") % buckets


def _split_of(bucket: int) -> str:
    return next((split for split, held in HELD_OUT.items() if bucket == held), "train")


@functools.lru_cache(maxsize=None)
def pair_split(a: str, b: str) -> str:
    """The split that may show emoji ``a`` and ``b`` together: "train", "dev" or "test" (order-free)."""
    return _split_of(_bucket("+".join(sorted((a, b))), PAIR_BUCKETS))


def layout_split(cells) -> str:
    """The split of a layout (its occupied cells): single cells are "train"; 2-4 cells go by hash."""
    cells = tuple(sorted(cells))
    return "train" if len(cells) == 1 else _split_of(_bucket("-".join(map(str, cells)), LAYOUT_BUCKETS))


def _check(split: str) -> None:
    if split not in SPLITS:
        raise ValueError(f"split must be one of {tuple(SPLITS)}, got {split!r}")


@functools.lru_cache(maxsize=None)
def layouts(split: str) -> dict[int, tuple[tuple[int, ...], ...]]:
    """{object count: the split's layouts with that many cells, each sorted}: train 1-4, dev and test 2-4."""
    _check(split)
    counts = range(OBJECTS[0], OBJECTS[1] + 1) if split == "train" else range(2, OBJECTS[1] + 1)
    return {n: tuple(c for c in itertools.combinations(range(GRID * GRID), n) if layout_split(c) == split)
            for n in counts}


@functools.lru_cache(maxsize=None)
def held_out_pairs(split: str) -> tuple[tuple[str, str], ...]:
    """The emoji pairs ``split`` holds out (dev or test), each sorted: train never shows them together."""
    names = sorted(emoji()[0])
    return tuple((a, b) for a, b in itertools.combinations(names, 2) if pair_split(a, b) == split)


# --- captions --------------------------------------------------------------------------------------

def relation(first: int, second: int) -> str:
    """The relation of the object in cell ``first`` to the next one in reading order, in cell ``second``."""
    if second <= first:
        raise ValueError(f"cell {second} does not follow cell {first} in reading order")
    return RELATIONS[0] if first // GRID == second // GRID else RELATIONS[1]


def caption(objects) -> str:
    """The canonical caption of objects (``Thing``s, or (name, size, cell, ...) tuples) in reading order."""
    words = [f"a {objects[0][1]} {objects[0][0]}"]
    for before, after in zip(objects, objects[1:]):
        words.append(f"{relation(before[2], after[2])} a {after[1]} {after[0]}")
    return " ".join(words)


# --- pictures --------------------------------------------------------------------------------------

def _colour(rng: np.random.Generator, value=VALUE, saturation=SATURATION) -> np.ndarray:
    """A random colour, (3,) float64 levels in [0, 255]."""
    hue, sat, val = rng.uniform(), rng.uniform(*saturation), rng.uniform(*value)
    return 255.0 * np.array(colorsys.hsv_to_rgb(hue, sat, val))


def background(rng: np.random.Generator) -> np.ndarray:
    """A random background: (128, 128, 3) float64 levels, flat, a gradient, stripes or checks."""
    kind = BACKGROUNDS[int(rng.integers(len(BACKGROUNDS)))]
    base, other = _colour(rng), _colour(rng)
    angle, contrast, period = rng.uniform(0, math.pi), rng.uniform(*CONTRAST), int(rng.integers(4, 13))
    y, x = np.mgrid[0:CANVAS, 0:CANVAS].astype(np.float64)
    along = x * math.cos(angle) + y * math.sin(angle)  # (128, 128) pixels along the texture's direction
    if kind == "flat":
        shade = np.zeros_like(along)
    elif kind == "gradient":
        t = ((along - along.min()) / np.ptp(along))[..., None]  # (128, 128, 1) in [0, 1]
        return base * (1.0 - t) + other * t
    elif kind == "stripes":
        shade = contrast * np.sin(2.0 * math.pi * along / period)
    else:
        shade = contrast * (((x // period + y // period) % 2) * 2.0 - 1.0)
    return np.clip(base + shade[..., None], 0.0, 255.0)


def _png(canvas: np.ndarray, rng: np.random.Generator) -> bytes:
    """(128, 128, 3) float levels, with Gaussian noise on a share ``NOISY`` -> RGB PNG bytes (no metadata)."""
    sigma = rng.uniform(*NOISE) if rng.uniform() < NOISY else 0.0
    noisy = canvas + rng.normal(0.0, sigma, canvas.shape) if sigma else canvas
    buffer = io.BytesIO()
    Image.fromarray(np.clip(np.round(noisy), 0, 255).astype(np.uint8), "RGB").save(buffer, format="PNG")
    return buffer.getvalue()


def _sprite(index: int, side: int, angle: float) -> Image.Image:
    """Emoji ``index`` at ``side`` pixels, turned by ``angle`` degrees, cropped to its visible pixels: RGBA."""
    picture = emoji()[1][index].resize((side, side), Image.Resampling.LANCZOS)
    turned = picture.rotate(angle, resample=Image.Resampling.BICUBIC, expand=True).convert("RGBA")
    return turned.crop(turned.getchannel("A").getbbox())


def _place(width: int, height: int, cell: int, rng: np.random.Generator) -> tuple[int, int]:
    """The top-left corner of a ``width`` x ``height`` box in ``cell``: centre jittered, kept inside."""
    row, column = divmod(cell, GRID)
    corner = []
    for size, low, high in ((width, EDGES[column], EDGES[column + 1]), (height, EDGES[row], EDGES[row + 1])):
        if size > high - low - 2 * MARGIN:
            raise ValueError(f"a {size}-pixel box does not fit a cell of {high - low} pixels")
        start = round((low + high - size) / 2) + int(rng.integers(-JITTER, JITTER + 1))
        corner.append(min(max(start, low + MARGIN), high - MARGIN - size))
    return corner[0], corner[1]


def render(objects, rng: np.random.Generator) -> tuple[bytes, tuple[Thing, ...]]:
    """(name, size, cell) triples in reading order -> (RGB PNG bytes, the placed ``Thing``s)."""
    names = emoji()[0]
    canvas = Image.fromarray(np.round(background(rng)).astype(np.uint8), "RGB").convert("RGBA")
    placed = []
    for name, size, cell in objects:
        side, angle = int(rng.integers(SIZES[size][0], SIZES[size][1] + 1)), float(rng.uniform(-1, 1) * MAX_ROTATION)
        sprite = _sprite(names.index(name), side, angle)
        x, y = _place(sprite.width, sprite.height, cell, rng)
        canvas.alpha_composite(sprite, (x, y))
        placed.append(Thing(name, size, cell, (x, y, x + sprite.width, y + sprite.height), round(angle, 3)))
    return _png(np.asarray(canvas.convert("RGB"), dtype=np.float64), rng), tuple(placed)


# --- scenes ----------------------------------------------------------------------------------------

def _pick_objects(split: str, count: int, rng: np.random.Generator) -> list[str]:
    """``count`` distinct emoji names for a scene of ``split``, in reading order (see the module doc)."""
    names = emoji()[0]
    if split == "train":
        chosen: list[str] = []
        for _ in range(count):
            allowed = [n for n in names if n not in chosen and all(pair_split(n, c) == "train" for c in chosen)]
            chosen.append(allowed[int(rng.integers(len(allowed)))])
        return chosen
    pairs = held_out_pairs(split)
    pair = list(pairs[int(rng.integers(len(pairs)))])
    if rng.integers(2):
        pair.reverse()
    others = [n for n in names if n not in pair]
    chosen = [others[i] for i in rng.choice(len(others), count - 2, replace=False)]
    slot = int(rng.integers(count - 1))  # the pair's first position
    return chosen[:slot] + pair + chosen[slot:]


def _streams(count: int, seed: int, split: str) -> tuple[np.random.Generator, np.random.Generator]:
    """Checks the arguments -> (the generator that composes, the one that paints), both from ``seed``: what
    is in a picture does not depend on how the pictures before it were painted."""
    _check(split)
    if isinstance(count, bool) or not isinstance(count, int) or count < 0:
        raise ValueError(f"count must be a non-negative integer, got {count!r}")
    compose, paint = np.random.SeedSequence(seed).spawn(2)
    return np.random.default_rng(compose), np.random.default_rng(paint)


def compositions(count: int, seed: int, split: str) -> list[tuple[tuple[str, str, int], ...]]:
    """What ``scenes(count, seed, split)`` shows, without painting it: per scene, its (name, size, cell)
    triples in reading order. One layout of ``layouts(split)`` (object count uniform, then the layout);
    names by ``_pick_objects``; sizes uniform."""
    rng, _ = _streams(count, seed, split)
    by_count = layouts(split)
    out = []
    for _ in range(count):
        n = list(by_count)[int(rng.integers(len(by_count)))]
        cells = by_count[n][int(rng.integers(len(by_count[n])))]
        names = _pick_objects(split, n, rng)
        sizes = [tuple(SIZES)[int(i)] for i in rng.integers(len(SIZES), size=n)]
        out.append(tuple(zip(names, sizes, cells)))
    return out


def scenes(count: int, seed: int, split: str) -> list[Scene]:
    """``count`` scenes of ``split`` (its objects, pairs and layouts), the same for the same seed."""
    _, rng = _streams(count, seed, split)
    out = []
    for objects in compositions(count, seed, split):
        png, placed = render(objects, rng)
        out.append(Scene(png, caption(placed), placed))
    return out


def make(count: int, seed: int, split: str) -> list[tuple[bytes, str]]:
    """``count`` (PNG bytes, caption) pairs of ``split``, the same for the same seed."""
    return [(scene.png, scene.caption) for scene in scenes(count, seed, split)]


def load(split: str) -> list[tuple[bytes, str]]:
    """One of the suggested ``SPLITS``."""
    _check(split)
    return make(*SPLITS[split], split)


@functools.lru_cache(maxsize=None)
def references(split: str) -> dict[bytes, list[str]]:
    """{PNG bytes: [its caption]} of one split, generated once per process."""
    return grouped(load(split))


# --- digit grids -----------------------------------------------------------------------------------

def digit_split(digits: str) -> str:
    """The split of a digit string ("4071"), by its hash: a dev or test string is never in train."""
    return _split_of(_bucket(digits, DIGIT_BUCKETS))


def render_digits(indices, shape: tuple[int, int], rng: np.random.Generator) -> tuple[bytes, tuple]:
    """The scans ``indices`` in a ``shape`` grid, reading order, on a random background -> (RGB PNG
    bytes, each digit's (x0, y0, x1, y1) square). The grid's cells are ``pitch`` pixels apart (at most
    ``DIGIT_PITCH``, so that it fits); a digit is 60-95 % of that, anywhere in its cell."""
    images, _ = toy_image.scans()
    rows, columns = shape
    pitch = min(DIGIT_PITCH, (CANVAS - 8) // columns, (CANVAS - 8) // rows)  # pixels between cell starts
    left = int(rng.integers(4, CANVAS - 4 - columns * pitch + 1))
    top = int(rng.integers(4, CANVAS - 4 - rows * pitch + 1))
    ink = np.zeros((CANVAS, CANVAS))  # (128, 128) in [0, 1]
    boxes = []
    for k, index in enumerate(indices):
        row, column = divmod(k, columns)
        size = int(rng.integers(math.ceil(0.6 * pitch), pitch - 1))
        x = left + column * pitch + int(rng.integers(0, pitch - size + 1))
        y = top + row * pitch + int(rng.integers(0, pitch - size + 1))
        ink[y:y + size, x:x + size] = toy_image.glyph(images[index], size)
        boxes.append((x, y, x + size, y + size))
    alpha = (rng.uniform(*INK) * ink)[..., None]  # (128, 128, 1)
    colour = _colour(rng, value=INK_VALUE, saturation=INK_SATURATION)
    return _png(background(rng) * (1.0 - alpha) + colour * alpha, rng), tuple(boxes)


def digit_compositions(count: int, seed: int, split: str) -> list[tuple[tuple[int, int], tuple[int, ...]]]:
    """What ``digit_grids(count, seed, split)`` shows, without painting it: per grid, its (rows, columns)
    and scan indices in reading order. A shape of ``DIGIT_SHAPES`` and scans uniform, redrawn until the
    digit string belongs to ``split``."""
    rng, _ = _streams(count, seed, split)
    _, targets = toy_image.scans()
    pool = toy_image.scan_indices(split)
    out = []
    while len(out) < count:
        shape = DIGIT_SHAPES[int(rng.integers(len(DIGIT_SHAPES)))]
        indices = tuple(int(i) for i in rng.choice(pool, shape[0] * shape[1]))
        if digit_split("".join(str(targets[i]) for i in indices)) == split:
            out.append((shape, indices))
    return out


def digit_grids(count: int, seed: int, split: str) -> list[DigitGrid]:
    """``count`` digit grids of ``split`` (its digit strings), the same for the same seed."""
    _, rng = _streams(count, seed, split)
    _, targets = toy_image.scans()
    out = []
    for shape, indices in digit_compositions(count, seed, split):
        png, boxes = render_digits(indices, shape, rng)
        out.append(DigitGrid(png, " ".join(str(targets[i]) for i in indices), indices, shape, boxes))
    return out


def make_digits(count: int, seed: int, split: str) -> list[tuple[bytes, str]]:
    """``count`` (PNG bytes, "4 0 7 1") pairs of ``split``, the same for the same seed."""
    return [(grid.png, grid.caption) for grid in digit_grids(count, seed, split)]


@functools.lru_cache(maxsize=None)
def digit_references(split: str) -> dict[bytes, list[str]]:
    """{PNG bytes: [its digits]} of one of the suggested ``DIGIT_SPLITS``, generated once per process."""
    _check(split)
    return grouped(make_digits(*DIGIT_SPLITS[split], split))


_EMOJI_ABOUT = ("64 Noto Emoji pictures (Google, Apache-2.0) with names from npm `emoji-datasource-google` 16.0.0 "
                "(data MIT), committed as `corpora/emoji-google-64.png` and `.json` (provenance in "
                "`corpora/README.md`, licences in `corpora/LICENSE-emoji-datasource`)")
DATASET = Dataset(
    name="emoji-scenes", references=references, metrics={"exact_match": "exact_match", "bleu": "bleu"},
    selection="exact_match", summary=", a PNG scene of 1-4 emoji in, a sentence naming them and where they are out",
    about=f"Generated by `zoo/data/scenes.py` (emoji-scenes) from {_EMOJI_ABOUT}. Dev and test scenes hold emoji "
          "pairs and arrangements of cells that train never shows.")
DIGITS_DATASET = Dataset(
    name="digit-grids", references=digit_references,
    metrics={"exact_match": "exact_match", "digit_accuracy": "token_accuracy"},
    selection="exact_match", summary=", a PNG row or grid of 2-6 handwritten digits in, its digits out",
    about="Generated by `zoo/data/scenes.py` (digit-grids) from scikit-learn's bundled `digits` scans (the UCI "
          "optical recognition of handwritten digits data, CC BY 4.0); dev and test digit strings never occur in "
          "train. `digit_accuracy` is 100 minus digit edits over reference digits (the digits are space-separated "
          "words).")
DATASETS = (DATASET, DIGITS_DATASET)
