"""Datasets by name. Each yields (source, target) pairs with a fixed train/dev/test split and, for
evaluation, every acceptable reference target of each source. A dataset may add evaluation-only
splits: ``dates`` has ``test-formats``, test dates in formats no other split uses. A dataset may also
be a folder of your own ``train.tsv``/``dev.tsv``/``test.tsv`` (``zoo.data.files``).

Every dataset is a ``Dataset`` declaration (``zoo.data.dataset``): its splits, references, metrics,
the metric that selects checkpoints and scoring views. The built-in ones (cmudict, dates, toy-reverse,
toy-sort) are registered here; a new module registers its own::

    from zoo import data
    from zoo.data.dataset import Dataset

    data.register(Dataset(name="my-speech", references=my_references, metrics={"wer": "wer", "cer": "cer"},
                          selection="wer"))

``get(name)`` returns a declaration: a registered one, or that of a folder of TSV files.
"""
from __future__ import annotations

from zoo.data import (cmudict, dates, files, scenes, speech, summarization, toy, toy_audio, toy_copy, toy_image,
                      translation)
from zoo.data.dataset import SPLITS, Dataset

# Derived from the declarations, for code written before them (kept up to date by ``register``):
# dataset -> its evaluation-only splits, and dataset -> {view name: normalize function}.
EXTRA_SPLITS: dict[str, tuple[str, ...]] = {}
SCORING_VIEWS: dict[str, dict] = {}
_REGISTERED: dict[str, Dataset] = {}
# The dataset of a pretrained folder whose config.json predates its "dataset" key (the first G2P models).
LEGACY_DATASET = "cmudict"


def register(dataset: Dataset) -> Dataset:
    """Makes a dataset known by its name to every ``zoo.data`` function (and so to recipes, evaluation
    and the CLI). A name is registered once."""
    if not isinstance(dataset, Dataset):
        raise TypeError(f"register takes a zoo.data.dataset.Dataset, got {type(dataset).__name__}")
    if dataset.name in _REGISTERED:
        raise ValueError(f"a dataset named {dataset.name!r} is already registered")
    _REGISTERED[dataset.name] = dataset
    if dataset.extra_splits:
        EXTRA_SPLITS[dataset.name] = dataset.extra_splits
    if dataset.views:
        SCORING_VIEWS[dataset.name] = {name: view.normalize for name, view in dataset.views.items()}
    return dataset


def names() -> tuple[str, ...]:
    """The registered datasets' names, in registration order."""
    return tuple(_REGISTERED)


def get(dataset: str) -> Dataset:
    """The declaration of a registered dataset, or of a folder holding the three TSV files."""
    if isinstance(dataset, str) and dataset in _REGISTERED:
        return _REGISTERED[dataset]
    if isinstance(dataset, str) and files.is_folder_dataset(dataset):
        return files.dataset(dataset)
    raise ValueError(f"Unknown dataset {dataset!r}: neither one of {names()} nor a folder with "
                     f"{', '.join(files.SPLIT_FILES.values())}")


def dataset_of(config: dict) -> str:
    """The dataset a pretrained folder's config.json names (``LEGACY_DATASET`` when it names none)."""
    return config.get("dataset", LEGACY_DATASET)


def _check(dataset: str, split: str) -> Dataset:
    declared = get(dataset)
    if split not in declared.splits:
        raise ValueError(f"split must be one of {declared.splits}, got {split!r}")
    return declared


def splits(dataset: str) -> tuple[str, ...]:
    """The splits of a dataset: train, dev, test and its evaluation-only ones."""
    return get(dataset).splits


def references(dataset: str, split: str) -> dict:
    """source -> every acceptable target, for one split."""
    return _check(dataset, split).references(split)


def sources(dataset: str) -> set:
    """Every source of every split of a dataset: what a transfer set must not hold."""
    return set().union(*(references(dataset, split) for split in splits(dataset)))


def load(dataset: str, split: str) -> list[tuple]:
    """(source, target) pairs of one split; a source with several targets appears once per target."""
    return [(s, t) for s, targets in references(dataset, split).items() for t in targets]


for _dataset in (cmudict.DATASET, dates.DATASET, *toy.DATASETS, toy_copy.DATASET, toy_audio.DATASET,
                 toy_image.DATASET, *translation.DATASETS, *scenes.DATASETS, summarization.DATASET,
                 speech.DATASET, *speech.PARTS):
    register(_dataset)
del _dataset
DATASETS = names()  # the built-in datasets; names() also lists those registered later
