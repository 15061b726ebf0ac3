"""What a dataset declares: its splits, references, metrics, the metric that selects, scoring views.

Each dataset module builds a ``Dataset`` and ``zoo.data`` registers it by name; everything that scores
or selects (training callbacks, the learning-rate plateau, evaluation, model cards, ``zoo list``,
averaging, compression, ``zoo.training.arrays``) reads the declaration instead of assuming a metric.

The registry makes no assumption about sources: ``references(split)`` maps each source (text, or
bytes, or whatever a frontend reads) to its reference targets, which are text.
"""
from __future__ import annotations

import dataclasses
import types
from typing import Callable, Hashable, Mapping, NamedTuple, Sequence

from zoo.data import scorers

SPLITS = ("train", "dev", "test")
# The metrics of text pairs with nothing more specific to say (toy tasks, a folder of your TSVs): the
# G2P pair (whole outputs wrong, token edits), exact match, and character-level CER, BLEU and chrF.
TEXT_METRICS = {"wer": "wer_sequence", "per": "per", "exact_match": "exact_match", "cer": "cer", "bleu": "bleu",
                "chrf": "chrf"}


class Monitor(NamedTuple):
    """The training log entry that selects checkpoints (``dev_<metric key>``) and its Keras ``mode``."""
    name: str
    mode: str

    @classmethod
    def of(cls, metric: str, scorer: str) -> "Monitor":
        """The monitor of a metric key computed by a scorer (``zoo.data.scorers``) on dev."""
        return cls(dev_log(metric), scorers.get(scorer).direction)


def grouped(pairs) -> dict:
    """(source, target) pairs -> {source: its targets, in order}: a split's references."""
    references: dict = {}
    for source, target in pairs:
        references.setdefault(source, []).append(target)
    return references


DIGIT_METRICS = {"exact_match": "exact_match", "cer": "cer"}  # the toy audio and image tasks: digit strings


def dev_log(metric: str) -> str:
    """The name training logs give a metric's figure on dev: ``dev_<metric key>``."""
    return f"dev_{metric}"


@dataclasses.dataclass(frozen=True)
class ScoringView:
    """Another way to score a dataset: ``normalize`` applied to outputs and references alike, then
    ``metrics`` (keys of the dataset's metrics) computed again. ``description``: the model card's note."""
    normalize: Callable[[str], str]
    metrics: tuple[str, ...]
    description: str = ""


@dataclasses.dataclass(frozen=True)
class Clips:
    """A speech dataset's train and dev audio as NumPy arrays, for training without TensorFlow
    (``zoo.training.arrays``): what its WAV sources hold, read without decoding WAV bytes.

    sample_rate: the clips' rate, Hz (the sources' WAV files hold these samples at this rate, mono).
    transcripts: split -> each clip's transcript, in clip order; needs no audio.
    waveforms: split -> each clip's samples, (samples,) int16 arrays in the same order.
    build: splits -> None: makes those splits' waveforms where they are made, not shipped
        (synthesized once into a cache); None when they need nothing.
    """
    sample_rate: int
    transcripts: Callable[[str], Sequence[str]]
    waveforms: Callable[[str], Sequence]
    build: Callable[[Sequence[str]], object] | None = None


@dataclasses.dataclass(frozen=True)
class Dataset:
    """A dataset's declaration.

    name: what recipes and ``zoo.data`` functions call it.
    references: split -> {source: every acceptable target}, for each of ``splits``.
    metrics: {metric key: scorer name} (``zoo.data.scorers``) in the order reports show them, or scorer names
        reported under their own names. Evaluation reports each key; training logs ``dev_<key>``.
    selection: the metric key that picks the best checkpoint, the beam's length penalty and rescorer
        weights, in its scorer's direction (for the length penalty, ties go to the other metrics in order).
    splits: train, dev, test, then any evaluation-only splits (dates' ``test-formats``).
    views: {view name: ScoringView}: extra scorings reported beside the metrics (CMUdict's ``no_stress``).
    shown: the metric keys that one-line summaries and card tables show (default: the first two).
    summary: words that end the model card's first sentence (", a date in, its ISO form out").
    examples: sources the model card's usage example predicts (default: the first dev source).
    about: the model card's "Data and licence" section.
    parts: datasets (names) whose test splits together make this one's, each reported on its own by the
        final evaluation and the card (the combined translation corpora: Bible, LibreOffice help).
    baseline: a ``zoo.evaluation.BASELINES`` name the final evaluation scores on the test split of this
        dataset (or of each part) beside the model: ``"model1"``, translation's word-by-word IBM Model 1.
    simple_baselines: split -> {name: figures with the metric keys} of outputs made without a model
        (summarization's first sentence, first words, extractive oracle), recorded and tabled beside the
        model's test figures.
    output_statistics: the evaluation also reports what the outputs are made of
        (``zoo.evaluation.outputs``: tokens copied, reference words outside the vocabulary written,
        stuttering), under ``"outputs"``.
    clips: a speech dataset's train and dev audio as arrays (``Clips``), so ``zoo.training.arrays`` can
        train on it where TensorFlow cannot read WAV files.
    """

    name: str
    references: Callable[[str], Mapping[Hashable, list[str]]]
    metrics: Mapping[str, str] | Sequence[str]
    selection: str
    splits: tuple[str, ...] = SPLITS
    views: Mapping[str, ScoringView] = dataclasses.field(default_factory=dict)
    shown: tuple[str, ...] | None = None
    summary: str = ""
    examples: tuple = ()
    about: str = ""
    parts: tuple[str, ...] = ()
    baseline: str | None = None
    simple_baselines: Callable[[str], Mapping[str, Mapping[str, float]]] | None = None
    output_statistics: bool = False
    clips: Clips | None = None

    def __post_init__(self):
        if not isinstance(self.name, str) or not self.name:
            raise ValueError(f"a dataset's name must be a non-empty string, got {self.name!r}")
        table = scorers.metric_table(self.metrics)
        object.__setattr__(self, "metrics", types.MappingProxyType(table))
        object.__setattr__(self, "splits", tuple(self.splits))
        object.__setattr__(self, "parts", tuple(self.parts))
        object.__setattr__(self, "views", types.MappingProxyType(dict(self.views)))
        object.__setattr__(self, "shown", tuple(self.shown) if self.shown is not None else tuple(table)[:2])
        where = f"dataset {self.name!r}"
        if self.selection not in table:
            raise ValueError(f"{where}: selection {self.selection!r} is not one of its metrics {list(table)}")
        if self.splits[:3] != SPLITS or len(set(self.splits)) != len(self.splits):
            raise ValueError(f"{where}: splits must be {SPLITS} then evaluation-only ones, got {self.splits}")
        for view, declared in self.views.items():
            unknown = [key for key in declared.metrics if key not in table]
            if not declared.metrics or unknown:
                raise ValueError(f"{where}: view {view!r} must score some of its metrics {list(table)}, got "
                                 f"{list(declared.metrics)}")
        unknown = [key for key in self.shown if key not in table]
        if not self.shown or unknown:
            raise ValueError(f"{where}: shown must be some of its metrics {list(table)}, got {list(self.shown)}")

    @property
    def extra_splits(self) -> tuple[str, ...]:
        """The evaluation-only splits (every split after train, dev and test)."""
        return self.splits[len(SPLITS):]

    def scorer(self, key: str) -> scorers.Scorer:
        """The scorer of one of the dataset's metric keys."""
        if key not in self.metrics:
            raise ValueError(f"dataset {self.name!r} has no metric {key!r}: its metrics are {list(self.metrics)}")
        return scorers.get(self.metrics[key])

    @property
    def monitor(self) -> Monitor:
        """What checkpoint and learning-rate callbacks watch: ``dev_<selection>``, in its direction."""
        return Monitor.of(self.selection, self.metrics[self.selection])

    def score(self, hypotheses: Sequence[str], references: Sequence[Sequence[str]]) -> dict[str, float]:
        """{metric key: figure} of every metric, in order."""
        return scorers.score(self.metrics, hypotheses, references)

    def score_views(self, hypotheses: Sequence[str], references: Sequence[Sequence[str]]) -> dict[str, dict]:
        """{view name: {its metric keys: figure, "count"}} of every scoring view."""
        out = {}
        for name, view in self.views.items():
            outputs = [view.normalize(h) for h in hypotheses]
            wanted = [[view.normalize(r) for r in refs] for refs in references]
            out[name] = {**scorers.score({key: self.metrics[key] for key in view.metrics}, outputs, wanted),
                         "count": len(hypotheses)}
        return out

    def ranking(self, scores: Mapping[str, float]) -> tuple[float, ...]:
        """A sort key of a result's scores, smaller when better: the selection metric, then the other
        metrics in order, each in its scorer's direction (``min(..., key=dataset.ranking)`` picks)."""
        keys = [self.selection, *(key for key in self.metrics if key != self.selection)]
        return tuple(scores[key] if self.scorer(key).lower_is_better else -scores[key] for key in keys)

    def describe(self, scores: Mapping[str, float], keys: Sequence[str] | None = None, separator: str = "  ") -> str:
        """``"WER 34.15%  PER 9.33%"``: ``keys`` (default: every metric) of ``scores``, labelled; a
        key missing from ``scores`` shows as nan."""
        keys = tuple(self.metrics) if keys is None else keys
        return separator.join(f"{self.scorer(key).label} {self.scorer(key).format(scores.get(key, float('nan')))}"
                              for key in keys)
