"""Builds ``recipes/transfer/web2-words.txt.gz``: English words that CMUdict lacks, a transfer set.

A distillation recipe's teacher labels these unlabelled words (``distill.extra_sources``), so its
student learns the teacher's letter-to-sound mapping on more spellings than the dictionary has.

Source: the ``web2`` list (Webster's Second New International Dictionary, 1934; public domain, as in
FreeBSD's ``/usr/share/dict/web2``) shipped in the PyPI package ``english-words`` 2.0.2 (MIT), read
with its own ``alpha`` and ``lower`` options. Every word of CMUdict (any split) is removed, so no dev
or test word can leak in; words of 2 to 32 letters are kept and written one per line, shuffled with a
fixed seed, so that ``max_extra_sources: N`` takes a random sample of N.

Run once (it needs ``pip install english-words==2.0.2``, which the lock does not hold):
    python recipes/transfer/build_web2_words.py
It prints the file's SHA-256, which ``recipes/transfer/README.md`` records.
"""
from __future__ import annotations

import gzip
import pathlib
import random

from english_words import get_english_words_set

from zoo import data
from zoo.io import atomic_path, sha256_of

OUTPUT = pathlib.Path(__file__).with_name("web2-words.txt.gz")
SEED = 1234


def transfer_words() -> list[str]:
    """web2's lowercased letters-only words of 2-32 letters that are no CMUdict word, shuffled."""
    dictionary = data.sources("cmudict")
    words = sorted(w for w in get_english_words_set(["web2"], alpha=True, lower=True)
                   if 2 <= len(w) <= 32 and w.isascii() and w.isalpha() and w not in dictionary)
    random.Random(SEED).shuffle(words)
    return words


def main() -> None:
    words = transfer_words()
    with atomic_path(OUTPUT) as tmp:
        with open(tmp, "wb") as raw, gzip.GzipFile(filename="", fileobj=raw, mode="wb", mtime=0) as f:
            f.write("".join(w + "\n" for w in words).encode("ascii"))  # no name, no time: same bytes each run
    print(f"{OUTPUT}: {len(words)} words, sha256 {sha256_of(OUTPUT)}")


if __name__ == "__main__":
    main()
