"""Human-readable dates -> ISO 8601: ``("mercredi 29 septembre 2021", "2021-09-29")``.

Everything is generated, deterministically, from installed packages (nothing downloads): ``faker``
draws the dates (seeded, 1950-01-01 to 2049-12-31) and ``babel`` renders them with the CLDR data it
ships, in 8 locales and 83 formats:

- per locale (en_US, en_GB, fr_FR, de_DE, es_ES, it_IT, pt_BR, nl_NL): babel's ``short``,
  ``medium``, ``long`` and ``full`` formats plus the explicit patterns ``TEXT_PATTERNS`` (``d MMM y``,
  ``EEEE d MMMM y``, ``MMM d, y``, ...), with the locale's month and weekday names;
- numeric patterns, the same in every locale (``NUMERIC_PATTERNS``: ``dd.MM.yy``, ``M/d/yy``,
  ``y-MM-dd``, ``yyyyMMdd``, ...).

Every source must have exactly one answer, even case-folded, so the format set follows two
conventions (checked for every format over every date of the range, 2.1 million strings, when the
set was chosen; ``tests/test_data_dates.py`` repeats it for the numeric formats and a sample):

- **Slashes**: a 2-digit year is US month-first (``9/29/21``, en_US short), a 4-digit year is
  day-first (``29/09/2021``, en_GB / fr_FR / pt_BR short). The day-first 2-digit short formats of
  es_ES (``d/M/yy``) and it_IT (``dd/MM/yy``) would collide with en_US's, so they are left out.
- **Two-digit years** pivot at 50: ``49`` is 2049, ``50`` is 1950 (the date range makes it exact).

Splits (fixed: they depend only on this file and the pinned babel and faker releases):

- A date *value* belongs to one split by a hash of its ISO string (``split_of``), 80/10/10, so no
  date of dev or test appears in train, in any format. ``train`` has 40,000 examples (21,960
  distinct dates), ``dev`` 1,000 and ``test`` 2,000 (1,525 dates), each rendered in a format drawn
  from the 78 *seen* formats: ``test`` measures generalisation to unseen dates.
- ``test-formats``: 1,000 test-bucket dates rendered only in the ``HELDOUT_FORMATS`` (5 formats no
  other split uses, e.g. Spanish ``d MMMM y`` or ``y/MM/dd``): generalisation to unseen formats
  whose pieces (month names, orders, separators) appear elsewhere. Reported separately.

Sources are unique within a split (a repeated rendering is redrawn); each has one target.
"""
from __future__ import annotations

import datetime
import functools
import hashlib

from zoo.data.dataset import Dataset

SPLITS = ("train", "dev", "test", "test-formats")
SIZES = {"train": 40_000, "dev": 1_000, "test": 2_000, "test-formats": 1_000}
SEEDS = {"train": 11, "dev": 12, "test": 13, "test-formats": 14}
START, END = datetime.date(1950, 1, 1), datetime.date(2049, 12, 31)

LOCALES = ("en_US", "en_GB", "fr_FR", "de_DE", "es_ES", "it_IT", "pt_BR", "nl_NL")
NAMED_FORMATS = ("short", "medium", "long", "full")
TEXT_PATTERNS = ("d MMM y", "d MMMM y", "dd MMM y", "d MMM yy", "EEE, d MMM y", "EEEE d MMMM y",
                 "MMMM d, y", "MMM d, y")
NUMERIC_PATTERNS = ("y-MM-dd", "yyyyMMdd", "dd.MM.y", "d.M.y", "dd.MM.yy", "dd/MM/y", "d/M/y",
                    "M/d/yy", "dd-MM-y", "y/MM/dd")
NUMERIC = "numeric"  # the "locale" of NUMERIC_PATTERNS: digits and separators only
# Named formats left out because another locale's short format renders the same strings.
AMBIGUOUS = {("es_ES", "short"), ("it_IT", "short")}
# Formats only the "test-formats" split uses: (locale, pattern); "d. MMMM y" is de_DE's long format.
HELDOUT_FORMATS = (("es_ES", "d MMMM y"), ("it_IT", "MMMM d, y"), ("de_DE", "d. MMMM y"),
                   ("pt_BR", "d MMM y"), (NUMERIC, "y/MM/dd"))


def split_of(date: datetime.date) -> str:
    """The split a date value belongs to: sha256 of its ISO string mod 100 -> <80 train, <90 dev, else test."""
    bucket = int.from_bytes(hashlib.sha256(date.isoformat().encode()).digest()[:8], "big") % 100
    return "train" if bucket < 80 else "dev" if bucket < 90 else "test"


@functools.lru_cache(maxsize=None)
def formats() -> tuple[tuple[str, str], ...]:
    """Every (locale, CLDR pattern), held-out ones included, sorted. babel's named formats are
    resolved to their patterns, so none appears twice (en_US ``medium`` is ``MMM d, y``), and a
    numeric one joins ``NUMERIC`` (de_DE ``medium`` is ``dd.MM.y``)."""
    from babel.dates import get_date_format

    found = {(NUMERIC, pattern) for pattern in NUMERIC_PATTERNS}
    for locale in LOCALES:
        for name in NAMED_FORMATS:
            if (locale, name) not in AMBIGUOUS:
                pattern = get_date_format(name, locale=locale).pattern
                found.add((NUMERIC, pattern) if is_numeric(pattern) else (locale, pattern))
        found.update((locale, pattern) for pattern in TEXT_PATTERNS)
    return tuple(sorted(found))


def is_numeric(pattern: str) -> bool:
    """True when a pattern renders digits and separators only (no month or weekday names)."""
    return "MMM" not in pattern and "LLL" not in pattern and "E" not in pattern


def seen_formats() -> tuple[tuple[str, str], ...]:
    """The formats of train, dev and test (every format but ``HELDOUT_FORMATS``)."""
    return tuple(f for f in formats() if f not in HELDOUT_FORMATS)


def render(date: datetime.date, locale: str, pattern: str) -> str:
    """One date in one format (a CLDR pattern, with the locale's month and weekday names)."""
    from babel.dates import format_date

    return format_date(date, pattern, locale="en_US" if locale == NUMERIC else locale)


@functools.lru_cache(maxsize=None)
def examples(split: str) -> tuple[tuple[str, str, str, str], ...]:
    """(source, iso target, locale, pattern) of one split, in generation order (see the docstring)."""
    from faker import Faker

    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    fake = Faker(use_weighting=False)
    fake.seed_instance(SEEDS[split])
    choices = HELDOUT_FORMATS if split == "test-formats" else seen_formats()
    bucket = "test" if split == "test-formats" else split
    out, sources = [], set()
    while len(out) < SIZES[split]:
        date = fake.date_between_dates(date_start=START, date_end=END)
        if split_of(date) != bucket:
            continue
        locale, pattern = fake.random.choice(choices)
        source = render(date, locale, pattern)
        if source not in sources:
            sources.add(source)
            out.append((source, date.isoformat(), locale, pattern))
    return tuple(out)


def references(split: str) -> dict[str, list[str]]:
    """source -> [its ISO 8601 date], for one split."""
    return {source: [target] for source, target, _, _ in examples(split)}


def load(split: str) -> list[tuple[str, str]]:
    """(source, ISO 8601 date) pairs of one split, in generation order."""
    return [(source, target) for source, target, _, _ in examples(split)]


# One right answer per source: exact match first; "wer" (= 100 - exact match; "per" is the same figure,
# a date being one token) selects, as for every model before datasets declared their metrics.
DATASET = Dataset(
    name="dates", references=references, splits=SPLITS,
    metrics={"exact_match": "exact_match", "wer": "wer_sequence", "per": "per"}, selection="wer",
    summary=(": a human-readable date in one of 8 locales and 78 formats in (5 more held out for testing), "
             "its ISO 8601 form (`YYYY-MM-DD`) out, character by character"),
    examples=("mercredi 29 septembre 2021", "9/29/21"),
    about=("Generated by `zoo/data/dates.py` from installed packages, nothing downloaded: dates from "
           "1950-01-01 to 2049-12-31 drawn with `faker` (seeded), rendered with `babel` (CLDR data, "
           "Unicode licence) in en_US, en_GB, fr_FR, de_DE, es_ES, it_IT, pt_BR and nl_NL, with babel's "
           "short/medium/long/full formats, 8 textual and 10 numeric patterns. A date value belongs to "
           "train, dev or test by a hash of its ISO string (80/10/10), so test dates are unseen in every "
           "format; 40,000 train, 1,000 dev, 2,000 test and 1,000 `test-formats` examples, the last "
           "rendering test dates in 5 formats that no other split uses. Conventions "
           "that make every input unambiguous: slashes with a 2-digit year are US month-first "
           "(`9/29/21`), with a 4-digit year day-first (`29/09/2021`); 2-digit years pivot at 50 "
           "(`49` is 2049, `50` is 1950). Limits: only these locales and formats, years 1950-2049; "
           "input outside them (other languages, times, relative dates such as 'tomorrow') still "
           "gets an output, with no warning."),
)
