"""Datasets by name. Each yields (source, target) text pairs with a fixed train/dev/test split and,
for evaluation, every acceptable reference target of each source. A dataset may add evaluation-only
splits (``EXTRA_SPLITS``): ``dates`` has ``test-formats``, test dates in formats no other split uses.
A dataset may also be a folder of your own ``train.tsv``/``dev.tsv``/``test.tsv`` (``zoo.data.files``)."""
from __future__ import annotations

from zoo.data import cmudict, dates, files, toy

SPLITS = ("train", "dev", "test")
EXTRA_SPLITS = {"dates": ("test-formats",)}
# Extra ways to score a dataset: name -> a function applied to hypotheses and references alike before
# scoring. CMUdict's "no_stress" view is the usual G2P benchmark's (phonemes without stress digits).
SCORING_VIEWS = {"cmudict": {"no_stress": cmudict.strip_stress}}
_TOY_SIZES = {"train": 4000, "dev": 300, "test": 300}
_TOY_SEEDS = {"train": 0, "dev": 1, "test": 2}


def _check(dataset: str, split: str) -> None:
    if dataset not in DATASETS and not files.is_folder_dataset(dataset):
        raise ValueError(f"Unknown dataset {dataset!r}: neither one of {DATASETS} nor a folder with "
                         f"{', '.join(files.SPLIT_FILES.values())}")
    if split not in splits(dataset):
        raise ValueError(f"split must be one of {splits(dataset)}, got {split!r}")


def splits(dataset: str) -> tuple[str, ...]:
    """The splits of a dataset: train, dev, test and its evaluation-only ``EXTRA_SPLITS``."""
    return SPLITS + EXTRA_SPLITS.get(dataset, ())


def references(dataset: str, split: str) -> dict[str, list[str]]:
    """source -> every acceptable target, for one split."""
    _check(dataset, split)
    if dataset == "cmudict":
        return cmudict.references(split)
    if dataset == "dates":
        return dates.references(split)
    if files.is_folder_dataset(dataset):
        return files.references(dataset, split)
    refs: dict[str, list[str]] = {}
    for source, target in toy.make(dataset.removeprefix("toy-"), _TOY_SIZES[split], seed=_TOY_SEEDS[split]):
        refs.setdefault(source, []).append(target)
    return refs


def sources(dataset: str) -> set[str]:
    """Every source of every split of a dataset: what a transfer set must not hold."""
    return set().union(*(references(dataset, split) for split in splits(dataset)))


def load(dataset: str, split: str) -> list[tuple[str, str]]:
    """(source, target) pairs of one split; a source with several targets appears once per target."""
    return [(s, t) for s, targets in references(dataset, split).items() for t in targets]


DATASETS = ("cmudict", "dates", "toy-reverse", "toy-sort")
