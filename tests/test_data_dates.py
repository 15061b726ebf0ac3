"""The dates dataset: human-readable dates in 8 locales -> ISO 8601, fixed and honest splits."""
import collections
import datetime

import pytest

from zoo import data
from zoo.data import dates


def test_registered_with_its_extra_split():
    assert "dates" in data.DATASETS
    assert data.splits("dates") == ("train", "dev", "test", "test-formats")
    assert data.load("dates", "test") == dates.load("test")
    assert data.references("dates", "dev") == dates.references("dev")
    with pytest.raises(ValueError, match="split must be one of"):
        data.load("cmudict", "test-formats")  # only dates has it


def test_sizes_and_pinned_examples():
    assert {s: len(dates.load(s)) for s in dates.SPLITS} == dates.SIZES
    # pinned: the published figures depend on these splits never changing
    assert dates.load("test")[:3] == [("02 Nov 2024", "2024-11-02"), ("5 January 1978", "1978-01-05"),
                                      ("janeiro 1, 2005", "2005-01-01")]
    assert dates.load("test-formats")[0] == ("1960/09/06", "1960-09-06")


def test_generation_is_deterministic():
    first = dates.examples("dev")
    dates.examples.cache_clear()
    assert dates.examples("dev") == first


def test_targets_are_iso_dates_of_the_range():
    for split in dates.SPLITS:
        for source, target in dates.load(split):
            day = datetime.date.fromisoformat(target)
            assert day.isoformat() == target and dates.START <= day <= dates.END, (source, target)


def test_no_date_of_dev_or_test_appears_in_train_in_any_format():
    values = {split: {target for _, target in dates.load(split)} for split in dates.SPLITS}
    assert not values["train"] & values["dev"] and not values["train"] & values["test"]
    assert not values["dev"] & values["test"] and not values["train"] & values["test-formats"]
    for split in dates.SPLITS:  # a date's split is fixed by its hash
        bucket = "test" if split == "test-formats" else split
        assert all(dates.split_of(datetime.date.fromisoformat(t)) == bucket for t in values[split])
    sources = {split: {source for source, _ in dates.load(split)} for split in dates.SPLITS}
    assert all(len(sources[s]) == dates.SIZES[s] for s in dates.SPLITS)  # unique within a split


def test_held_out_formats_appear_only_in_their_split():
    used = {split: {(loc, pattern) for _, _, loc, pattern in dates.examples(split)} for split in dates.SPLITS}
    held_out = set(dates.HELDOUT_FORMATS)
    assert used["test-formats"] == held_out
    assert all(not used[s] & held_out for s in ("train", "dev", "test"))
    assert used["train"] == set(dates.seen_formats())  # 40,000 draws cover the 78 seen formats


def test_locales_and_formats_are_all_present():
    locales = collections.Counter(loc for _, _, loc, _ in dates.examples("train"))
    assert set(locales) == {*dates.LOCALES, dates.NUMERIC}
    assert min(locales.values()) > 3000
    sources = dict(dates.load("train"))
    month_names = ["September", "septembre", "September", "septiembre", "settembre", "setembro", "september"]
    for name in month_names:  # en, fr, de, es, it, pt, nl
        assert any(name in s for s in sources), name
    assert any("/" in s for s in sources) and any("." in s for s in sources) and any(s.isdigit() for s in sources)


def test_known_renderings():
    day = datetime.date(2021, 9, 29)
    assert dates.render(day, "fr_FR", "EEEE d MMMM y") == "mercredi 29 septembre 2021"
    assert dates.render(day, "de_DE", "d. MMMM y") == "29. September 2021"
    assert dates.render(day, dates.NUMERIC, "M/d/yy") == "9/29/21"
    assert dates.render(datetime.date(1950, 1, 2), dates.NUMERIC, "dd.MM.yy") == "02.01.50"


def test_every_source_has_one_answer():
    """No two dates render alike (case-folded) in any two formats: numeric formats on every date of
    the range, all formats on every 11th day (the full check, 2.1 M strings, takes ~35 s)."""
    def first_date_of(formats, days):
        seen = {}
        for day in days:
            for locale, pattern in formats:
                text = dates.render(day, locale, pattern).casefold()
                assert seen.setdefault(text, day) == day, (text, seen[text], day, locale, pattern)

    span = (dates.END - dates.START).days + 1
    every_day = [dates.START + datetime.timedelta(days=i) for i in range(span)]
    first_date_of([f for f in dates.formats() if f[0] == dates.NUMERIC], every_day)
    first_date_of(dates.formats(), every_day[::11])
    answers = collections.defaultdict(set)
    for split in dates.SPLITS:
        for source, target in dates.load(split):
            answers[source.casefold()].add(target)
    assert all(len(targets) == 1 for targets in answers.values())
