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
