"""Toy captioning: strips of 2-5 handwritten digits, generated (deterministic for a seed) from the
1797 8x8 scans that ship inside scikit-learn (``sklearn.datasets.load_digits``: no download).

Each digit is a scan scaled (bilinear) to a random 12-20 pixel square, drawn as dark ink on a white
32-pixel-high canvas with random vertical jitter, 1-4 pixel gaps between digits and 1-4 pixel
margins: at most 5 * 20 + 4 * 4 + 2 * 4 = 124 pixels wide, so ``ImageFrontend(32, 128)`` (its
defaults) shows a strip at its own size. Strips are grayscale PNGs; targets are the digits, e.g. "4071".

Every split draws its strips from all 1797 scans (with its own seed): a test strip is a new
composition, with new sizes, jitter and gaps, of scans the training strips also use. The toy tests
the reading of a strip (segmenting, attending left to right, spelling), not generalisation to new
handwriting: with disjoint scans (the last 180 held out, roughly new writers) the same tiny model
stalled near 68 % dev exact match after 12 CPU epochs, the limit of learning digits from 1437 8x8
scans, not of the image path. ``SPLIT_SCANS`` is where to hold scans out again.

    >>> png, digits = make(1, seed=0, split="train")[0]
"""
from __future__ import annotations

import functools
import io
from typing import NamedTuple

import numpy as np
from PIL import Image

from zoo.data.dataset import DIGIT_METRICS, Dataset, grouped

SPLIT_SCANS = {"train": (0, 1797), "dev": (0, 1797), "test": (0, 1797)}  # [start, end) scan indices  # [start, end) scan indices
HEIGHT = 32
DIGITS_PER_STRIP = (2, 5)  # inclusive
DIGIT_PIXELS = (12, 20)  # inclusive
GAP_PIXELS = (1, 4)  # between digits and at both ends, inclusive
INK = (0.75, 1.0)  # darkest ink level, per strip
# Suggested strips per split: name -> (count, seed).
SPLITS = {"train": (6000, 0), "dev": (200, 1), "test": (200, 2)}


class Strip(NamedTuple):
    png: bytes  # grayscale PNG
    digits: str  # the target, e.g. "4071"
    scans: tuple[int, ...]  # the load_digits index of each digit, left to right


@functools.lru_cache(maxsize=1)
def scans() -> tuple[np.ndarray, np.ndarray]:
    """All 1797 scans: ((1797, 8, 8) float64 ink in [0, 1], (1797,) int64 digits)."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    return digits.images / 16.0, digits.target


def scan_indices(split: str) -> np.ndarray:
    """The scans a split draws from: (n,) int64 indices into ``scans()``."""
    if split not in SPLIT_SCANS:
        raise ValueError(f"split must be one of {tuple(SPLIT_SCANS)}, got {split!r}")
    return np.arange(*SPLIT_SCANS[split])


def glyph(ink: np.ndarray, size: int) -> np.ndarray:
    """(8, 8) ink in [0, 1] -> (size, size) ink, bilinear."""
    image = Image.fromarray((ink * 255).astype(np.uint8)).resize((size, size), Image.Resampling.BILINEAR)
    return np.asarray(image, dtype=np.float64) / 255.0


def render(indices, rng: np.random.Generator) -> bytes:
    """The strip of the given scans, with random size, jitter and gaps: grayscale PNG bytes."""
    images, _ = scans()
    sizes = rng.integers(DIGIT_PIXELS[0], DIGIT_PIXELS[1] + 1, len(indices))
    gaps = rng.integers(GAP_PIXELS[0], GAP_PIXELS[1] + 1, len(indices) + 1)  # margins included
    canvas = np.zeros((HEIGHT, int(sizes.sum() + gaps.sum())))  # (32, width) ink
    x = int(gaps[0])
    for index, size, gap in zip(indices, sizes, gaps[1:]):
        y = int(rng.integers(0, HEIGHT - size + 1))
        canvas[y:y + size, x:x + size] = glyph(images[index], int(size))
        x += int(size + gap)
    gray = 255.0 * (1.0 - rng.uniform(*INK) * canvas)  # dark ink on white
    buffer = io.BytesIO()
    Image.fromarray(np.round(gray).astype(np.uint8)).save(buffer, format="PNG")
    return buffer.getvalue()


def strips(count: int, seed: int, split: str) -> list[Strip]:
    """``count`` strips from ``split``'s scans, the same for the same seed."""
    if isinstance(count, bool) or not isinstance(count, int) or count < 0:
        raise ValueError(f"count must be a non-negative integer, got {count!r}")
    pool = scan_indices(split)
    _, targets = scans()
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(count):
        length = int(rng.integers(DIGITS_PER_STRIP[0], DIGITS_PER_STRIP[1] + 1))
        indices = tuple(int(i) for i in rng.choice(pool, length))
        out.append(Strip(render(indices, rng), "".join(str(targets[i]) for i in indices), indices))
    return out


def make(count: int, seed: int, split: str) -> list[tuple[bytes, str]]:
    """``count`` (PNG bytes, digit string) pairs from ``split``'s scans, the same for the same seed."""
    return [(strip.png, strip.digits) for strip in strips(count, seed, split)]


def load(split: str) -> list[tuple[bytes, str]]:
    """One of the suggested ``SPLITS`` (each from its own scans)."""
    scan_indices(split)  # a ValueError for an unknown split
    return make(*SPLITS[split], split)


@functools.lru_cache(maxsize=None)
def references(split: str) -> dict[bytes, list[str]]:
    """{PNG bytes: [its digits]} of one split, generated once per process."""
    return grouped(load(split))


DATASET = Dataset(name="toy-image", references=references, metrics=DIGIT_METRICS,
                  selection="exact_match", summary=", a PNG strip of handwritten digits in, its digits out",
                  about="Generated by `zoo/data/toy_image.py` (toy-image) from scikit-learn's bundled `digits` scans (the UCI optical recognition of handwritten digits data, CC BY 4.0).")
