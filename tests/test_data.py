import collections

import pytest

from zoo import data
from zoo.data import cmudict, toy


def test_cmudict_split_is_fixed_disjoint_and_about_90_5_5():
    splits = {s: cmudict.references(s) for s in ("train", "dev", "test")}
    sizes = {s: len(r) for s, r in splits.items()}
    total = sum(sizes.values())
    assert total == 126052  # every word of cmudict 1.1.3, once
    assert 0.89 < sizes["train"] / total < 0.91 and 0.04 < sizes["test"] / total < 0.06
    assert not set(splits["train"]) & set(splits["test"]) and not set(splits["dev"]) & set(splits["test"])
    # pinned: the split of a word must never change (published metrics depend on it)
    assert sizes == {"train": 113362, "dev": 6395, "test": 6295}
    assert list(splits["test"])[:5] == ["'round", "aasen", "abated", "abbey's", "abdication"]
    assert list(splits["dev"])[:5] == ["'cuse", "'m", "abbott's", "abdalla", "abdnor"]
    assert cmudict.split_of("phoneme") == "dev" and cmudict.split_of("hello") == "train"


def test_every_pronunciation_variant_trains_and_counts_at_evaluation():
    train = cmudict.load("train")
    variants = collections.Counter(word for word, _ in train)
    assert variants.most_common(1)[0][1] >= 3  # some words have several pronunciations
    refs = cmudict.references("train")
    assert len(train) == sum(len(v) for v in refs.values())
    assert "HH AH0 L OW1" in refs["hello"] and "HH EH0 L OW1" in refs["hello"]


def test_toy_tasks_and_unknown_names():
    assert toy.make("reverse", 2, seed=3) == toy.make("reverse", 2, seed=3)
    source, target = toy.make("sort", 1, seed=0)[0]
    assert target == " ".join(sorted(source))
    with pytest.raises(ValueError, match="Unknown dataset 'wmt'"):
        data.load("wmt", "train")
    with pytest.raises(ValueError, match="split must be one of"):
        data.load("cmudict", "validation")


def write_tsv_dataset(folder, rows_by_split):
    folder.mkdir(parents=True, exist_ok=True)
    for split, rows in rows_by_split.items():
        (folder / f"{split}.tsv").write_text(rows, encoding="utf-8")
    return str(folder)


def test_a_folder_of_tsv_files_is_a_dataset(tmp_path):
    folder = write_tsv_dataset(tmp_path / "lexicon", {
        "train": "zoë\tZ OW1 IY0\n\nread\tR IY1 D\nread\tR EH1 D\nread\tR IY1 D\n",
        "dev": "cat\tK AE1 T\n", "test": "dog\tD AO1 G\n"})
    assert data.load(folder, "train") == [("zoë", "Z OW1 IY0"), ("read", "R IY1 D"), ("read", "R EH1 D")]
    assert data.references(folder, "test") == {"dog": ["D AO1 G"]}
    with pytest.raises(ValueError, match="neither one of .* nor a folder with train.tsv, dev.tsv, test.tsv"):
        data.load(str(tmp_path), "train")  # no TSV files there


@pytest.mark.parametrize("rows, message", [
    ("cat\tK AE1 T\ndog D AO1 G\n", r"train.tsv:2: expected 'source<TAB>target' with both non-empty, got 'dog D AO1 G'"),
    ("cat\t\n", r"train.tsv:1: expected"),
    ("a\tb\tc\n", r"train.tsv:1: expected"),
    ("\n\n", r"train.tsv holds no 'source<TAB>target' pairs"),
])
def test_a_malformed_tsv_line_is_named_by_file_and_line(tmp_path, rows, message):
    folder = write_tsv_dataset(tmp_path / "bad", {"train": rows, "dev": "x\ty\n", "test": "x\ty\n"})
    with pytest.raises(ValueError, match=message):
        data.load(folder, "train")
    (tmp_path / "bad" / "train.tsv").write_bytes(b"caf\xe9\tK\n")
    with pytest.raises(ValueError, match="train.tsv: not UTF-8 text"):
        data.load(folder, "train")


def test_stress_can_be_stripped_for_the_benchmark_view():
    assert cmudict.strip_stress("HH AH0 L OW1") == "HH AH L OW"
    assert cmudict.strip_stress("W ER1 L D") == "W ER L D"
    assert cmudict.strip_stress("K AE2 T S") == "K AE T S" and cmudict.strip_stress("") == ""
    assert data.SCORING_VIEWS["cmudict"]["no_stress"] is cmudict.strip_stress
    assert "dates" not in data.SCORING_VIEWS  # exact answers: no other view


class StressSwapper:
    """Answers every dev word with its first reference, stress digits cycled (0->1->2->0)."""

    def predict(self, sources, beam_size=1, alpha=0.6):
        refs = data.references("cmudict", "dev")
        swap = str.maketrans("012", "120")
        return [refs[s][0].translate(swap) for s in sources]


def test_evaluation_reports_the_no_stress_view_beside_the_strict_scores():
    from zoo.evaluation import evaluate

    scores = evaluate(StressSwapper(), "cmudict", "dev", max_examples=300)
    # every output has a vowel with the wrong stress, unless another variant happens to match it
    assert scores["wer"] > 90.0 and scores["per"] > 20.0
    assert scores["no_stress"] == {"wer": 0.0, "per": 0.0, "count": 300}
