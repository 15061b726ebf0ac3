"""The shipped dates-bahdanau model: unseen test dates right, concrete dates, honest metrics, small folder."""
import datetime
import json

import pytest

import zoo
from zoo import data, hub
from zoo.data import dates


@pytest.fixture(scope="module")
def model():
    return zoo.load("dates-bahdanau")


def test_listed_and_built_from_the_bahdanau_family(model):
    assert "dates-bahdanau" in zoo.list_models()
    assert model.model.family == "bahdanau" and model.model.has_attention
    config = json.loads((hub.resolve("dates-bahdanau") / "config.json").read_text())
    assert config["dataset"] == "dates" and config["source_tokenizer"] == {"split": "chars", "lowercase": True}


def test_held_out_test_dates_exact_match_at_least_99_percent(model):
    references = data.references("dates", "test")
    sources = list(references)[::5]  # 400 of the 2,000, spread over the split
    outputs = model.predict(sources)
    right = sum(output in references[source] for source, output in zip(sources, outputs))
    assert len(sources) == 400 and right / len(sources) >= 0.99, f"{right} / {len(sources)}"


@pytest.mark.parametrize("text, iso", [
    ("mercredi 29 septembre 2021", "2021-09-29"),
    ("9/29/21", "2021-09-29"),  # slashes and a 2-digit year: US month-first
    ("29/09/2021", "2021-09-29"),  # slashes and a 4-digit year: day-first
    ("Mittwoch, 29. September 2021", "2021-09-29"),
    ("quarta-feira, 29 de setembro de 2021", "2021-09-29"),
    ("1 janvier 1950", "1950-01-01"),
    ("31.12.49", "2049-12-31"),  # 2-digit years pivot at 50
    ("LUNEDÌ 29 FEBBRAIO 2044", "2044-02-29"),  # case-folded; a leap day
])
def test_concrete_dates(model, text, iso):
    assert model.predict([text]) == [iso]


def test_metrics_record_exact_match_on_the_whole_splits_and_the_held_out_formats():
    recorded = json.loads((hub.resolve("dates-bahdanau") / "metrics.json").read_text())
    assert recorded["test"]["count"] == dates.SIZES["test"] and recorded["test"]["exact_match"] >= 99.0
    assert recorded["test"]["exact_match"] == pytest.approx(100.0 - recorded["test"]["wer"])
    assert recorded["beam"]["test"]["exact_match"] >= 99.0
    held_out = recorded["extra"]["test-formats"]
    assert held_out["count"] == dates.SIZES["test-formats"] and 0.0 <= held_out["exact_match"] <= 100.0


def test_outputs_of_test_sources_are_valid_iso_dates(model):
    sources = list(data.references("dates", "test"))[:200]
    for output in model.predict(sources):
        assert datetime.date.fromisoformat(output).isoformat() == output


def test_folder_is_small_and_checksummed():
    folder = hub.resolve("dates-bahdanau")
    assert sum(p.stat().st_size for p in folder.iterdir()) < 2 * 2**20
    hub.verify(folder)
    listed = {line.split("  ")[1] for line in (folder / "checksums.sha256").read_text().splitlines()}
    assert listed == set(hub.FILES)
