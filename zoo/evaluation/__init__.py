"""Evaluation: a predictor decoded on a dataset split and scored as the dataset declares
(``zoo.data.dataset``, with the scorers of ``zoo.data.scorers``): ``evaluate``, a recipe's final
evaluation (``evaluate_recipe``), rescorer weights tuned on dev (``tune_rescorers``) and G2P's scores
of a list of outputs (``sequence_scores``). They live in ``zoo.evaluation.evaluate``."""
from zoo.evaluation.evaluate import by_alpha_key, evaluate, evaluate_recipe, sequence_scores, tune_rescorers

__all__ = ["evaluate", "evaluate_recipe", "tune_rescorers", "sequence_scores", "by_alpha_key"]
