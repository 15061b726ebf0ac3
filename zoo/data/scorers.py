"""Scorers: how a list of outputs is scored against every acceptable reference of each example.

A ``Scorer`` is a registered name, a function ``(hypotheses: list[str], references: list[list[str]])
-> float`` (one output per example; each example has one or more references), whether lower or
higher is better, and how the figure is shown. ``get(name)`` returns one; ``names()`` lists them;
``register(scorer)`` adds one.

Scorer names are not metric keys. A dataset (``zoo.data``) reports its metrics under keys of its
own, each key naming the scorer that computes it. CMUdict reports ``"wer"`` computed by
``wer_sequence`` (G2P's "word error rate": the share of words whose pronunciation is wrong) and
``"per"`` by ``per``; a speech dataset would report ``"wer"`` computed by ``wer`` (word edits over
reference words) and ``"cer"`` by ``cer``. So G2P's historical ``wer`` stays ``wer`` in its
metrics.json and cards while a new dataset can mean the usual word error rate.

Registered scorers, in percent or on a 0-100 scale:

=============  =====  ===========================================================================
name           best   figure
=============  =====  ===========================================================================
wer_sequence   min    % of outputs whose tokens (whitespace-separated) are none of the references'
exact_match    max    100 - wer_sequence: % of outputs exactly one of the references
per            min    token edits / reference tokens, to each example's closest reference (jiwer)
wer            min    the same rule on words: the usual word error rate (jiwer)
cer            min    character edits / reference characters, closest reference (jiwer)
bleu           max    sacrebleu's corpus BLEU (13a tokenization), every reference used
chrf           max    sacrebleu's corpus chrF, every reference used
rouge1/2/L     max    100 x mean F1 of ROUGE-1 / ROUGE-2 / ROUGE-L (``rouge-score``), best reference
rouge*_stem    max    the same with rouge-score's Porter stemmer (summarization papers' setting)
=============  =====  ===========================================================================

"Closest reference": the reference with the fewest edits (the first on a tie); its length is the
denominator. An empty hypothesis is all deletions. Packages are imported on first use.
"""
from __future__ import annotations

import dataclasses
from typing import Callable, Mapping, Sequence

Hypotheses = Sequence[str]
References = Sequence[Sequence[str]]


@dataclasses.dataclass(frozen=True)
class Scorer:
    """A corpus-level score of outputs against references.

    ``score(hypotheses, references)``: one hypothesis per example, each example's references (at least
    one). ``lower_is_better``: the direction that selection (checkpoints, beam length penalty,
    rescorer weights) follows. ``label``: how tables and the CLI name it. ``percent``: the figure is a
    percentage (printed with ``%``); else a score on a 0-100 scale. ``from_sequence_error``: for a scorer
    that only depends on which outputs are exactly a reference, the figure from the percentage that
    are not (``zoo.training.arrays`` scores dev that way, on token ids); None for every other scorer.
    """

    name: str
    score: Callable[[Hypotheses, References], float]
    lower_is_better: bool
    label: str
    description: str
    percent: bool = True
    from_sequence_error: Callable[[float], float] | None = None

    @property
    def direction(self) -> str:
        """``"min"`` or ``"max"``: what Keras' checkpoint and plateau callbacks call ``mode``."""
        return "min" if self.lower_is_better else "max"

    def better(self, value: float, than: float) -> bool:
        """True when ``value`` is strictly better than ``than``."""
        return value < than if self.lower_is_better else value > than

    def format(self, value: float) -> str:
        """``"34.15%"``, or ``"27.30"`` for a score that is not a percentage."""
        return f"{value:.2f}" + ("%" if self.percent else "")

    def __call__(self, hypotheses: Hypotheses, references: References) -> float:
        _check(hypotheses, references)
        return float(self.score(hypotheses, references))


_SCORERS: dict[str, Scorer] = {}


def register(scorer: Scorer) -> Scorer:
    """Adds a scorer under its name; a name is registered once."""
    if scorer.name in _SCORERS:
        raise ValueError(f"a scorer named {scorer.name!r} is already registered")
    _SCORERS[scorer.name] = scorer
    return scorer


def get(name: str) -> Scorer:
    """The scorer registered as ``name``; an unknown name is a ValueError listing the known ones."""
    try:
        return _SCORERS[name]
    except (KeyError, TypeError):
        raise ValueError(f"Unknown scorer {name!r}: the registered scorers are {', '.join(names())}") from None


def names() -> tuple[str, ...]:
    """Every registered scorer name, sorted."""
    return tuple(sorted(_SCORERS))


def metric_table(metrics: Mapping[str, str] | Sequence[str]) -> dict[str, str]:
    """A dataset's metrics -> {metric key: scorer name}, in order. ``metrics`` is that mapping, or
    scorer names, each reported under its own name; every scorer name must be registered."""
    if isinstance(metrics, str):
        raise TypeError(f"metrics must be a mapping or a list of scorer names, got the string {metrics!r}")
    table = dict(metrics) if isinstance(metrics, Mapping) else {name: name for name in metrics}
    if not table:
        raise ValueError("metrics must name at least one scorer")
    for key, name in table.items():
        if not isinstance(key, str) or not key:
            raise ValueError(f"metric keys must be non-empty strings, got {key!r}")
        get(name)
    return table


def score(metrics: Mapping[str, str] | Sequence[str], hypotheses: Hypotheses,
          references: References) -> dict[str, float]:
    """{metric key: its scorer's figure} for every metric of ``metrics`` (see ``metric_table``)."""
    return {key: get(name)(hypotheses, references) for key, name in metric_table(metrics).items()}


def _check(hypotheses: Hypotheses, references: References) -> None:
    if len(hypotheses) != len(references):
        raise ValueError(f"{len(hypotheses)} hypotheses but {len(references)} reference lists")
    if not hypotheses:
        raise ValueError("no examples to score")
    if not all(references):
        raise ValueError("an example has no reference")


# --- tokens and whole outputs -------------------------------------------------------------------

def closest_token_edits(hypothesis: str, references: Sequence[str]) -> tuple[int, int]:
    """(token edits, reference tokens) to the closest reference (fewest edits; the first on a tie).
    Tokens are whitespace-separated; edits are substitutions, deletions and insertions (jiwer)."""
    import jiwer

    best = None
    for reference in references:
        n_reference = len(reference.split())
        if not hypothesis.strip():
            errors = n_reference  # everything deleted
        elif not n_reference:
            errors = len(hypothesis.split())  # everything inserted
        else:
            out = jiwer.process_words(reference, hypothesis)
            errors = out.substitutions + out.deletions + out.insertions
        if best is None or errors < best[0]:
            best = (errors, n_reference)
    return best


def sequence_error(hypotheses: Hypotheses, references: References) -> float:
    """% of outputs whose tokens are not exactly those of one of their references (G2P's "WER")."""
    wrong = sum(closest_token_edits(h, refs)[0] > 0 for h, refs in zip(hypotheses, references))
    return 100.0 * wrong / len(hypotheses)


def _exact_from_error(error: float) -> float:
    return 100.0 - error


def exact_match(hypotheses: Hypotheses, references: References) -> float:
    """% of outputs that are exactly one of their references: 100 - ``sequence_error``."""
    return _exact_from_error(sequence_error(hypotheses, references))


def token_error_rate(hypotheses: Hypotheses, references: References) -> float:
    """Token edits / reference tokens, in %, summed over examples, each to its closest reference:
    phoneme error rate on phonemes, word error rate on words."""
    edits, tokens = 0, 0
    for hypothesis, refs in zip(hypotheses, references):
        errors, n_reference = closest_token_edits(hypothesis, refs)
        edits += errors
        tokens += n_reference
    return 100.0 * edits / max(tokens, 1)


def token_accuracy(hypotheses: Hypotheses, references: References) -> float:
    """100 - ``token_error_rate``: the % of reference tokens an output gets right, counted by edits
    (a digit row's digit accuracy; below 0 when outputs add more tokens than they get right)."""
    return 100.0 - token_error_rate(hypotheses, references)


# --- characters ----------------------------------------------------------------------------------

def character_edits(reference: str, hypothesis: str) -> int:
    """Levenshtein distance in characters (jiwer), empty strings included."""
    import jiwer

    if not hypothesis or not reference:
        return max(len(reference), len(hypothesis))
    out = jiwer.process_characters(reference, hypothesis)
    return out.substitutions + out.deletions + out.insertions


def character_error_rate(hypotheses: Hypotheses, references: References) -> float:
    """Character edits (spaces included) to the closest reference / its characters, in %, summed."""
    edits, characters = 0, 0
    for hypothesis, refs in zip(hypotheses, references):
        errors = [character_edits(reference, hypothesis) for reference in refs]
        best = min(range(len(refs)), key=errors.__getitem__)
        edits += errors[best]
        characters += len(refs[best])
    return 100.0 * edits / max(characters, 1)


# --- sacrebleu and rouge-score ---------------------------------------------------------------------

def _reference_streams(references: References) -> list[list[str | None]]:
    """sacrebleu's layout: one stream per reference position, None where an example has fewer."""
    width = max(map(len, references))
    return [[refs[i] if i < len(refs) else None for refs in references] for i in range(width)]


def bleu(hypotheses: Hypotheses, references: References) -> float:
    import sacrebleu

    return sacrebleu.corpus_bleu(list(hypotheses), _reference_streams(references)).score


def chrf(hypotheses: Hypotheses, references: References) -> float:
    import sacrebleu

    return sacrebleu.corpus_chrf(list(hypotheses), _reference_streams(references)).score


def rouge_f1(kind: str, hypotheses: Hypotheses, references: References, stem: bool = False) -> list[float]:
    """Each example's F1 (0 to 1) of one ROUGE kind (``"rouge1"``, ``"rouge2"``, ``"rougeL"``) to its best
    reference. rouge-score's own tokenizer: lowercased, ASCII letters and digits only (other characters
    separate tokens); ``stem``: its Porter stemmer on tokens of more than 3 letters."""
    try:
        from rouge_score import rouge_scorer
    except ImportError:
        raise ImportError(f"the {kind!r} scorer needs the rouge-score package: pip install rouge-score") from None
    scorer = rouge_scorer.RougeScorer([kind], use_stemmer=stem)
    return [scorer.score_multi(list(refs), hypothesis)[kind].fmeasure
            for hypothesis, refs in zip(hypotheses, references)]


def rouge(kind: str, stem: bool = False) -> Callable[[Hypotheses, References], float]:
    """The scorer function of one ROUGE kind: 100 x the mean over examples of ``rouge_f1``."""

    def score(hypotheses: Hypotheses, references: References) -> float:
        return 100.0 * sum(rouge_f1(kind, hypotheses, references, stem)) / len(hypotheses)

    score.__name__ = f"{kind}_stem" if stem else kind
    return score


for _scorer in (
    Scorer("wer_sequence", sequence_error, True, "WER",
           "the share of outputs that are not exactly one of their references (token by token)",
           from_sequence_error=lambda error: error),
    Scorer("exact_match", exact_match, False, "exact match",
           "the share of outputs that are exactly one of their references (token by token)",
           from_sequence_error=_exact_from_error),
    Scorer("per", token_error_rate, True, "PER",
           "token (phoneme) edits over reference tokens, to each example's closest reference (`jiwer`)"),
    Scorer("wer", token_error_rate, True, "WER",
           "word edits over reference words, to each example's closest reference (`jiwer`)"),
    Scorer("token_accuracy", token_accuracy, False, "token accuracy",
           "100 minus token edits over reference tokens, to each example's closest reference (`jiwer`)"),
    Scorer("cer", character_error_rate, True, "CER",
           "character edits over reference characters, to each example's closest reference (`jiwer`)"),
    Scorer("bleu", bleu, False, "BLEU", "`sacrebleu`'s corpus BLEU against every reference", percent=False),
    Scorer("chrf", chrf, False, "chrF", "`sacrebleu`'s corpus chrF against every reference", percent=False),
    *(Scorer(kind, rouge(kind), False, f"ROUGE-{kind.removeprefix('rouge')}",
             f"mean {kind} F1 to the best reference (`rouge-score`, ASCII letters and digits only)", percent=False)
      for kind in ("rouge1", "rouge2", "rougeL")),
    *(Scorer(f"{kind}_stem", rouge(kind, stem=True), False, f"ROUGE-{kind.removeprefix('rouge')}",
             f"mean {kind} F1 to the best reference (`rouge-score`, ASCII letters and digits only, Porter-stemmed)",
             percent=False)
      for kind in ("rouge1", "rouge2", "rougeL")),
):
    register(_scorer)
del _scorer
