"""Model cards for pretrained folders."""
from __future__ import annotations

import json
import textwrap

from zoo import data


def model_card(recipe: dict, metrics: dict) -> str:
    """The card of a trained recipe's folder. The dataset's declaration (``zoo.data``) says what the
    results table shows, what selected the weights and where the data comes from."""
    declared = data.get(recipe["dataset"])
    return f"""# {recipe['name']}

A `{recipe['family']}` sequence-to-sequence model trained by the seq2seq-zoo recipe
`recipes/{recipe['name']}.json` on the `{recipe['dataset']}` dataset{declared.summary}.

{_use_and_results(recipe['name'], declared, metrics)}
{_model_and_training(recipe, metrics, declared.scorer(declared.selection).label)}"""


def ensemble_card(name: str, dataset: str, metrics: dict) -> str:
    """The card of an ensemble folder (``zoo.packaging.ensemble.package_ensemble``): members, weights, results."""
    members = "".join(f"| `{member}` | {weight:.3f} |\n" for member, weight in zip(metrics["members"], metrics["weights"]))
    command = " ".join(["zoo ensemble", *metrics["members"], "--output", f"pretrained/{name}"]
                       + (["--weights", *(f"{w:g}" for w in metrics["weights"])]
                          if len(set(metrics["weights"])) > 1 else []))
    return f"""# {name}

An ensemble of seq2seq-zoo pretrained models on the `{dataset}` dataset, decoding as one model: at
every output step each member runs its decoder for one token (carrying its own state), and the next
token's distribution is the weighted mixture of the members' distributions
(`zoo/models/ensemble.py`). Greedy, beam search, sampling, rescoring and export all work on it.

{_use_and_results(name, data.get(dataset), metrics)}
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
{data.get(dataset).about}
"""


def averaged_card(name: str, dataset: str, family: str, model_config: dict, metrics: dict) -> str:
    """The card of a weight-averaged folder (``zoo.packaging.averaging.package_average``): its models, results."""
    declared = data.get(dataset)
    headline = declared.shown[0]  # each averaged model's own figure, from its metrics.json
    column = _header(declared, headline)

    def figure(result: dict, split: str) -> str:
        return f"{result[split][headline]:.2f}" if headline in result.get(split, {}) else "-"

    rows = "".join(f"| `{m['model']}` | `{m['recipe']}` | {figure(m, 'dev')} | {figure(m, 'test')} |\n"
                   for m in metrics["averaged"])
    command = " ".join(["zoo average", *(m["model"] for m in metrics["averaged"]), "--output", f"pretrained/{name}"])
    return f"""# {name}

A `{family}` sequence-to-sequence model on the `{dataset}` dataset whose every
weight is the mean of the same weight in {len(metrics['averaged'])} trained models of one architecture
(weight averaging, `zoo/packaging/averaging.py`). It decodes at one model's cost.

{_use_and_results(name, declared, metrics)}
## Averaged models
| model | its recipe | its dev {column} (greedy) | its test {column} (greedy) |
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
{declared.about}
"""


def _use_and_results(name: str, declared, metrics: dict) -> str:
    """The Use and Results sections: greedy and beam rows of dev, test and the evaluation-only splits,
    the dataset's ``shown`` metrics and its scoring views' metrics as columns (``zoo.data.dataset``)."""
    from zoo.evaluation import by_alpha_key

    beam = metrics.get("beam")
    label = f"beam {beam['strategy']['beam_size']}, alpha {beam['strategy']['alpha']}" if beam else ""
    rows = [("dev", "greedy", metrics["dev"]), ("test", "greedy", metrics["test"])]
    if beam:
        rows += [("dev", label, beam["dev"]), ("test", label, beam["test"])]
    for split, scores in metrics.get("extra", {}).items():
        rows.append((split, "greedy", scores))
        if split in (beam or {}).get("extra", {}):
            rows.append((split, label, beam["extra"][split]))
    columns = [(None, key) for key in declared.shown] + [
        (view, key) for view, scoring in declared.views.items() if view in metrics["test"] for key in scoring.metrics]
    header = " | ".join(_header(declared, key) + (f" {view.replace('_', ' ')}" if view else "")
                        for view, key in columns)
    table = f"| split, decoding | examples | {header} |\n|---|---|" + "---|" * len(columns) + "\n" + "".join(
        f"| {split}, {decoding} | {m['count']} | "
        + " | ".join(f"{(m[view] if view else m)[key]:.2f}" for view, key in columns) + " |\n"
        for split, decoding, m in rows)
    notes = "".join(f"- {declared.scorer(key).label} (`{key}`): {declared.scorer(key).description}.\n"
                    for key in declared.shown)
    views = "".join(f"\n{textwrap.fill(scoring.description, 100)}\n" for view, scoring in declared.views.items()
                    if view in metrics["test"] and scoring.description)
    alphas = list(beam[by_alpha_key(declared)]) if beam else []
    examples = list(declared.examples) or [next(iter(declared.references("dev")))]
    if all(isinstance(example, str) for example in examples):
        shown = json.dumps(examples, ensure_ascii=False)
    else:  # media (bytes) sources: where to find some rather than their bytes
        shown = f'[source for source, _ in zoo.data.load("{declared.name}", "test")[:2]]'
    return f"""## Use
```python
import zoo
model = zoo.load("{name}")
model.predict({shown})
```

## Results (any reference of a source counts)
{table}
{notes}
The beam's length penalty alpha was chosen on dev by {declared.scorer(declared.selection).label} among {alphas}.
`zoo evaluate {name} --split test` reproduces the test rows.
{views}{_parts_and_baseline(declared, metrics)}{_simple_baselines(declared, metrics)}{_outputs(metrics)}"""


def _parts_and_baseline(declared, metrics: dict) -> str:
    """The test figures of each part of the dataset (or of the dataset), greedy and with the beam, beside
    its baseline's, when the evaluation computed them ("" otherwise)."""
    if "parts" not in metrics and "baseline" not in metrics:
        return ""
    parts = metrics.get("parts") or {declared.name: {"test": metrics["test"], "beam": metrics["beam"]["test"]}}
    baseline = metrics.get("baseline", {})
    columns = [(label, key) for key in declared.shown for label in ("greedy", "beam", baseline.get("name"))
               if label]
    header = " | ".join(f"{_header(declared, key)} {label}" for label, key in columns)
    rows = "".join(
        f"| {part} | {figures['test']['count']} | " + " | ".join(
            f"{(figures['test'] if label == 'greedy' else figures['beam'] if label == 'beam' else baseline[part])[key]:.2f}"
            for label, key in columns) + " |\n"
        for part, figures in parts.items())
    if baseline.get("trained"):
        note = (f"\n{baseline['name']}: the recipe's trained baseline, decoded with the same beam on the same test "
                f"sources (`zoo evaluate {baseline['name']}` gives its own card's figures).\n")
    else:
        note = (f"\n{baseline['name']}: the dataset's baseline, scored on the same test sources by the same evaluation"
                + (" (`python -m zoo.evaluation.baseline_model1 DATASET`: IBM Model 1 word by word, trained on the "
                   "part's own train split)" if baseline.get("name") == "model1" else "") + ".\n") if baseline else ""
    return f"""
### Test, {"per part" if "parts" in metrics else "against the baseline"}
| dataset | examples | {header} |
|---|---|{"---|" * len(columns)}
{rows}{note}"""


def _simple_baselines(declared, metrics: dict) -> str:
    """The model's test rows beside the dataset's ``simple_baselines`` (outputs made without a model)."""
    if "simple_baselines" not in metrics:
        return ""
    beam = metrics["beam"]["strategy"]
    rows = [("this model, greedy", metrics["test"]),
            (f"this model, beam {beam['beam_size']}, alpha {beam['alpha']}", metrics["beam"]["test"]),
            *((name.replace("_", " "), figures) for name, figures in metrics["simple_baselines"].items())]
    return f"""
### Test, against outputs made without a model
| output | {" | ".join(_header(declared, key) for key in declared.shown)} |
|---|{"---|" * len(declared.shown)}
""" + "".join(f"| {name} | " + " | ".join(f"{figures[key]:.2f}" for key in declared.shown) + " |\n"
              for name, figures in rows)


def _outputs(metrics: dict) -> str:
    """What the outputs are made of (``zoo.evaluation.outputs``), when the evaluation measured it."""
    if "outputs" not in metrics["test"]:
        return ""
    rows = [("test, greedy", metrics["test"]["outputs"])]
    if "outputs" in metrics.get("beam", {}).get("test", {}):
        rows.append(("test, beam", metrics["beam"]["test"]["outputs"]))
    baseline = metrics.get("baseline", {})
    rows += [(f"{baseline['name']}: {part}, beam", figures["outputs"]) for part, figures in baseline.items()
             if isinstance(figures, dict) and "outputs" in figures]
    return """
### What the outputs are made of
| split, decoding | tokens copied from outside the vocabulary % | reference words outside the vocabulary written % | `<unk>` written, of all tokens % | outputs repeating a token 3 times in a row % |
|---|---|---|---|---|
""" + "".join(f"| {name} | {o['copied']:.2f} | {o['reference_oov_produced']:.2f} (of {o['reference_oov']}) | "
              f"{o['unknown']:.2f} | {o['repeat_3']:.2f} |\n" for name, o in rows)


def _header(declared, key: str) -> str:
    """A table column's name: ``"WER %"``, or ``"BLEU"`` for a score that is not a percentage."""
    scorer = declared.scorer(key)
    return scorer.label + (" %" if scorer.percent else "")


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
{data.get(recipe['dataset']).about}
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
    return (f"Distilled (sequence-level knowledge distillation, `zoo/training/distill.py`): the targets it trained "
            f"on are {teacher}'s {decoding} outputs on the {summary['train_sources']:,} training sources{extra}, "
            f"not the dataset's; on the training sources the teacher's output is one of the references "
            f"{summary['train_agreement']:.2f} % of the time. Dev selection and the results above use the dataset's "
            "references.\n")


def _precision_note(recipe: dict) -> str:
    precision = recipe.get("precision", "float32")
    if precision == "float32":
        return ""
    return (f"Trained in `{precision}` ({precision.removeprefix('mixed_')} compute, float32 weights); the "
            "figures above come from the float32 model that `zoo.load` builds from these weights.\n")
