"""An ensemble of pretrained models packaged as a pretrained folder: evaluated, with its card.

The folder (``"family": "ensemble"``) holds no weights: ``zoo.hub.load`` loads each member it names
and decodes with their step-wise mixture (``zoo.hub.ensemble``, ``zoo.models.ensemble``)."""
from __future__ import annotations

import json
import os
import pathlib

from zoo import data, hub
from zoo.evaluation import evaluate_recipe
from zoo.packaging.card import ensemble_card


def package_ensemble(members, folder: str | os.PathLike, weights=None, dataset: str | None = None) -> pathlib.Path:
    """Evaluates the ensemble of pretrained ``members`` (greedy and beam search on dev and test, as a
    training recipe's final evaluation does) and writes it as a pretrained folder named after ``folder``.
    ``dataset``: default, the first member's."""
    folder = pathlib.Path(folder)
    predictor = hub.ensemble(members, weights, name=folder.name)
    dataset = dataset or data.dataset_of(json.loads((hub.resolve(members[0]) / "config.json").read_text()))
    metrics = evaluate_recipe(predictor, {"name": folder.name, "dataset": dataset})
    weights = predictor.model.weights  # normalised to sum to 1
    metrics = {**metrics, "members": list(members), "weights": weights}
    with hub.writing_folder(folder) as tmp:
        config = {"name": folder.name, "family": "ensemble", "members": list(members), "weights": weights,
                  "dataset": dataset, "beam": metrics["beam"]["strategy"]}
        (tmp / "config.json").write_text(json.dumps(config, indent=2) + "\n")
        (tmp / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
        (tmp / "README.md").write_text(ensemble_card(folder.name, dataset, metrics))
    return folder
