"""English <-> Spanish translation: two real parallel corpora, read from snapshots committed in ``corpora/``.

- ``bible``: the King James Version and the Reina-Valera 1909 (both public domain), aligned verse by
  verse; chapters whose Spanish verses are shifted against the English are dropped. 30,822 pairs.
  Split by whole books (neighbouring verses would leak): test Joshua, Ruth, Joel, Mark, 1 John; dev
  Judges, Micah, Romans, Philippians, James; every other book trains.
- ``libreoffice``: the LibreOffice 7.4 help (MPL-2.0), aligned paragraph by paragraph through the
  element ids of the same help page. 30,317 pairs of modern technical text. Split by help page
  (sha256 of its path, ~90/5/5), never by paragraph; a pair found on several pages is kept once.

``corpora/build_translation.py`` built both from Debian packages, once; ``corpora/README.md`` holds
their provenance, licences and cleaning rules. Nothing here needs those packages: a snapshot is an
xz-compressed TSV (``split  id  en  es``) whose SHA-256 ``read`` checks against ``corpora/SHA256SUMS``
before anything else, and raises ``ChecksumError`` naming the file when it differs.

Registered datasets, scored with sacrebleu's BLEU (which selects checkpoints) and chrF:
``bible-en-es``, ``bible-es-en``, ``libreoffice-en-es``, ``libreoffice-es-en``, and the pair the
models train on, ``translation-en-es`` and ``translation-es-en``: both corpora, each split the union
of theirs. References map each source sentence to its distinct translations in the split (a verse
such as "And the LORD spake unto Moses, saying," has several).
"""
from __future__ import annotations

import functools
import os
import pathlib

from zoo.data.corpora import CORPORA_DIR, read_tsv, verified_path
from zoo.data.dataset import SPLITS, Dataset

SNAPSHOTS = {"bible": "bible-en-es.tsv.xz", "libreoffice": "libreoffice-en-es.tsv.xz"}
CORPORA = tuple(SNAPSHOTS)
COMBINED = "translation"  # both corpora together
DIRECTIONS = ("en-es", "es-en")
HEADER = ("split", "id", "en", "es")
METRICS = {"bleu": "bleu", "chrf": "chrf"}


def verify(corpus: str, folder: str | os.PathLike | None = None) -> pathlib.Path:
    """Checks a corpus's snapshot against ``SHA256SUMS`` in the same folder -> its path; raises
    ``ChecksumError`` naming the file."""
    return verified_path(_snapshot(corpus), "corpora/build_translation.py", folder)


@functools.lru_cache(maxsize=None)
def _rows(corpus: str, folder: str) -> tuple[tuple[str, str, str, str], ...]:
    path = verify(corpus, folder)
    return read_tsv(path, HEADER, SPLITS, "translation")


def rows(corpus: str, folder: str | os.PathLike | None = None) -> tuple[tuple[str, str, str, str], ...]:
    """Every (split, id, English, Spanish) of a corpus's snapshot, in its order, verified first. Ids are
    ``Book.chapter.verse`` (``2Sam.20.25-26`` for two merged English verses) or ``page#element id``."""
    return _rows(corpus, str(pathlib.Path(CORPORA_DIR if folder is None else folder).resolve()))


def _snapshot(corpus: str) -> str:
    if corpus not in SNAPSHOTS:
        raise ValueError(f"corpus must be one of {CORPORA}, got {corpus!r}")
    return SNAPSHOTS[corpus]


def _check(corpus: str, direction: str, split: str) -> tuple[str, ...]:
    if direction not in DIRECTIONS:
        raise ValueError(f"direction must be one of {DIRECTIONS}, got {direction!r}")
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    if corpus == COMBINED:
        return CORPORA
    _snapshot(corpus)
    return (corpus,)


def load(corpus: str, split: str, direction: str = "en-es") -> list[tuple[str, str]]:
    """(source, target) pairs of one split, in snapshot order; ``corpus`` is ``bible``,
    ``libreoffice`` or ``translation`` (both, Bible first)."""
    pairs = []
    for name in _check(corpus, direction, split):
        pairs += [(en, es) if direction == "en-es" else (es, en) for s, _, en, es in rows(name) if s == split]
    return pairs


def references(corpus: str, direction: str, split: str) -> dict[str, list[str]]:
    """source -> its distinct targets in the split, in snapshot order."""
    refs: dict[str, list[str]] = {}
    for source, target in load(corpus, split, direction):
        targets = refs.setdefault(source, [])
        if target not in targets:
            targets.append(target)
    return refs


def name(corpus: str, direction: str) -> str:
    """The registered dataset name: ``bible-en-es``, ``translation-es-en``, ..."""
    return f"{corpus}-{direction}"


_LANGUAGES = {"en": "English", "es": "Spanish"}
_ABOUT = {
    "bible": ("the King James Version (Debian `sword-text-kjv` 14.3) and the Reina-Valera 1909 (`sword-text-sparv` "
              "2.60), both public domain, read with pysword and aligned verse by verse: 30,822 pairs after "
              "stripping markup and footnotes, recasing the Spanish chapter openings, and dropping the 10 chapters "
              "whose Spanish verses are shifted against the English (found by their Strong's numbers) and 20 "
              "misaligned or empty verses. Split by whole books: test Joshua, Ruth, Joel, Mark, 1 John (1,599); "
              "dev Judges, Micah, Romans, Philippians, James (1,366); train the rest (27,857). Archaic language: "
              "1611/1769 English, 1909 Spanish spelling (`á`, `fué`)"),
    "libreoffice": ("the LibreOffice 7.4 help (Debian `libreoffice-help-en-us` and `libreoffice-help-es` "
                    "4:7.4.7-1+deb12u14; MPL-2.0, `corpora/LICENSE-MPL-2.0`), aligned paragraph by paragraph through "
                    "the element ids of the same help page: 30,317 pairs after dropping paragraphs identical in both "
                    "languages, markup and code fragments, and repeats. Split by help page (sha256 of its path, "
                    "~90/5/5): train 27,920, dev 1,403, test 994. Modern technical text; short UI labels and Calc "
                    "function names are frequent"),
}


def _about(corpus: str) -> str:
    parts = [_ABOUT[c] for c in (CORPORA if corpus == COMBINED else (corpus,))]
    joined = "; and ".join(parts)
    return (f"Committed snapshots in `corpora/` (built once by `corpora/build_translation.py`; provenance, licences "
            f"and cleaning rules in `corpora/README.md`, SHA-256 checked on load): {joined}.")


def dataset(corpus: str, direction: str) -> Dataset:
    """The declaration of one corpus (or ``translation``, both) in one direction."""
    source, target = (_LANGUAGES[code] for code in direction.split("-"))
    return Dataset(
        name=name(corpus, direction), references=functools.partial(references, corpus, direction),
        metrics=METRICS, selection="bleu",
        summary=f": {source} text in, its {target} translation out",
        about=_about(corpus), parts=tuple(name(c, direction) for c in CORPORA) if corpus == COMBINED else (),
        baseline="model1",
    )


DATASETS = tuple(dataset(corpus, direction) for corpus in (*CORPORA, COMBINED) for direction in DIRECTIONS)
