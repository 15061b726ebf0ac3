"""Summarization: a Debian package's long description in, its one-line synopsis out, read from a snapshot
committed in ``corpora/``.

``debian-descriptions``: 59,789 pairs (train 53,715, dev 2,996, test 3,078) of human-written English from
the package index of Debian 12.15 (bookworm main, ``Translation-en``): descriptions median 45 words
(p95 129), synopses median 7 (p95 10). Descriptions under 10 words are dropped, and repeats of a
description (a library's ``-dev`` and ``-doc`` siblings) kept once. A description is one line of plain
text: the paragraph breaks and the layout of its indented lines are gone, list bullets stay as text.

Split by clusters of source packages whose descriptions open with the same 15 words (``opening``),
never by package: a split by package name puts 45.9 % of test descriptions beside a training one that
opens the same way, this split none. A cluster's split is the sha256 of its smallest source package
name (~90/5/5).

``corpora/build_summarization.py`` built the snapshot from the apt index, once; ``corpora/README.md``
holds its provenance, licence notes and cleaning rules. The snapshot is an xz-compressed TSV
(``split  id  description  synopsis``, id the binary package name) whose SHA-256 ``rows`` checks
against ``corpora/SHA256SUMS`` before anything else (``ChecksumError`` naming the file).

Scored with ROUGE-1, ROUGE-2 and ROUGE-L (``rouge-score`` F1 x 100 with Porter stemming, the mean over
examples; ROUGE-L selects checkpoints). The extractive baselines on test (``baselines``), R1/R2/RL:

- first sentence (``sentences``): 33.4 / 16.8 / 29.2
- first 7 words: 31.0 / 14.7 / 28.0
- oracle, the description's sentence closest to the reference by ROUGE-L: 38.1 / 20.4 / 34.3
"""
from __future__ import annotations

import functools
import os
import pathlib
import re
from typing import Sequence

from zoo.data import scorers
from zoo.data.corpora import CORPORA_DIR, read_tsv, verified_path
from zoo.data.dataset import SPLITS, Dataset

NAME = "debian-descriptions"
SNAPSHOT = "debian-descriptions.tsv.xz"
HEADER = ("split", "id", "description", "synopsis")
METRICS = {"rouge1": "rouge1_stem", "rouge2": "rouge2_stem", "rougeL": "rougeL_stem"}
MIN_WORDS = 10  # shorter descriptions are dropped (whitespace-separated words)
OPENING_WORDS = 15  # descriptions opening with the same words are kept in one split
LEAD_WORDS = 7  # the "first words" baseline, about a synopsis's median length

# A sentence ends at ., ! or ? (and any closing quotes or brackets) followed by white space and an
# upper-case letter, a digit or an opening quote or bracket; not after vs., cf. or a dotted abbreviation
# (e.g., i.e., A.D.).
_SENTENCE_END = re.compile(r"[.!?][\"')\]]*(?=\s+[\"'(\[]?[A-Z0-9])")
_ABBREVIATION = re.compile(r"(?:\b(?:vs|cf)|\.[A-Za-z])\.$", re.IGNORECASE)


def verify(folder: str | os.PathLike | None = None) -> pathlib.Path:
    """Checks the snapshot against ``SHA256SUMS`` in the same folder -> its path; raises ``ChecksumError``
    naming the file."""
    return verified_path(SNAPSHOT, "corpora/build_summarization.py", folder)


@functools.lru_cache(maxsize=None)
def _rows(folder: str) -> tuple[tuple[str, str, str, str], ...]:
    path = verify(folder)
    return read_tsv(path, HEADER, SPLITS, "summarization")


def rows(folder: str | os.PathLike | None = None) -> tuple[tuple[str, str, str, str], ...]:
    """Every (split, package, description, synopsis) of the snapshot, sorted by package, verified first."""
    return _rows(str(pathlib.Path(CORPORA_DIR if folder is None else folder).resolve()))


def load(split: str) -> list[tuple[str, str]]:
    """(description, synopsis) pairs of one split, in snapshot order."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    return [(description, synopsis) for s, _, description, synopsis in rows() if s == split]


def references(split: str) -> dict[str, list[str]]:
    """description -> [its synopsis] (descriptions are distinct)."""
    return {description: [synopsis] for description, synopsis in load(split)}


def opening(text: str, words: int = OPENING_WORDS) -> tuple[str, ...]:
    """The first ``words`` words of a text, lowercased, punctuation left out (runs of ``\\w``): what the
    split keeps together, and what the leak check compares."""
    return tuple(re.findall(r"\w+", text.lower())[:words])


def sentences(text: str) -> list[str]:
    """A description's sentences, by the rule of ``_SENTENCE_END``; the text when none ends."""
    out, start = [], 0
    for end in _SENTENCE_END.finditer(text):
        if not _ABBREVIATION.search(text[start:end.end()]):
            out.append(text[start:end.end()].strip())
            start = end.end()
    return [*out, text[start:].strip()] if text[start:].strip() else out


def oracle(text: str, reference: str) -> str:
    """The sentence of ``text`` closest to ``reference`` by stemmed ROUGE-L F1 (the first on a tie):
    the best a one-sentence extract can do, chosen by looking at the answer."""
    candidates = sentences(text)
    f1s = scorers.rouge_f1("rougeL", candidates, [[reference]] * len(candidates), stem=True)
    return candidates[max(range(len(candidates)), key=f1s.__getitem__)]


def baselines(split: str = "test", pairs: Sequence[tuple[str, str]] | None = None) -> dict[str, dict[str, float]]:
    """{baseline: {metric key: figure}} of the three extractive baselines on a split, or on ``pairs``
    ((description, synopsis)) when given: ``first_sentence``, ``first_7_words`` (``LEAD_WORDS``) and
    ``oracle``."""
    pairs = load(split) if pairs is None else pairs
    outputs = {"first_sentence": [sentences(text)[0] for text, _ in pairs],
               f"first_{LEAD_WORDS}_words": [" ".join(text.split()[:LEAD_WORDS]) for text, _ in pairs],
               "oracle": [oracle(text, synopsis) for text, synopsis in pairs]}
    wanted = [[synopsis] for _, synopsis in pairs]
    return {name: DATASET.score(hypotheses, wanted) for name, hypotheses in outputs.items()}


DATASET = Dataset(
    name=NAME, references=references, metrics=METRICS, selection="rougeL", shown=tuple(METRICS),
    simple_baselines=baselines, output_statistics=True,
    summary=": a Debian package's description in, its one-line synopsis out",
    about=("A committed snapshot in `corpora/` (built once by `corpora/build_summarization.py`; provenance, "
           "licence notes and cleaning rules in `corpora/README.md`, SHA-256 checked on load): the long "
           "descriptions and synopses of the Debian 12.15 (bookworm) main package index, as plain text. Each "
           "description is part of its package's metadata, written by its Debian maintainers or upstream "
           "authors and distributed by Debian with the package. Descriptions under 10 words dropped, repeats "
           "kept once; split by clusters of source packages whose descriptions open with the same 15 words."),
)
