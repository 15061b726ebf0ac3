"""The learning-rate schedule of a recipe (backend-neutral: ``zoo.training.train`` and
``zoo.training.arrays`` share it)."""
import keras

PLATEAU_KEYS = ("factor", "patience")


def check_plateau(plateau) -> None:
    """A recipe's optional ``plateau``: {"factor": 0 < float < 1, "patience": int >= 1}."""
    ok = (isinstance(plateau, dict) and set(plateau) == set(PLATEAU_KEYS)
          and isinstance(plateau["factor"], (int, float)) and 0 < plateau["factor"] < 1
          and isinstance(plateau["patience"], int) and not isinstance(plateau["patience"], bool)
          and plateau["patience"] >= 1)
    if not ok:
        raise ValueError(f"Recipe key 'plateau' must be {{'factor': a number in (0, 1), 'patience': an int >= 1}}, "
                         f"got {plateau!r}")


def lr_callback(recipe: dict, monitor=None) -> keras.callbacks.Callback:
    """The callback that sets the learning rate: with a ``plateau`` key, ``learning_rate`` multiplied
    by ``factor`` whenever ``monitor`` (a ``zoo.data.dataset.Monitor``: a dev metric logged by an earlier
    callback, and its direction; default, the recipe's dataset's selection metric, e.g. ``dev_wer``,
    lower is better) has not improved for ``patience`` epochs (for runs whose length is set by a time
    budget rather than an epoch count); else the epoch schedule of ``lr_schedule``."""
    if "plateau" in recipe:
        if monitor is None:
            from zoo import data

            monitor = data.get(recipe["dataset"]).monitor
        return keras.callbacks.ReduceLROnPlateau(monitor=monitor.name, mode=monitor.mode,
                                                 factor=recipe["plateau"]["factor"],
                                                 patience=recipe["plateau"]["patience"], min_delta=0.0, verbose=1)
    return keras.callbacks.LearningRateScheduler(lr_schedule(recipe))


def lr_schedule(recipe: dict):
    """Constant ``learning_rate``, then multiplied by ``decay_rate`` every epoch from ``decay_from_epoch``
    (epochs 1-based). Each of the optional ``restarts`` ({"epoch", "learning_rate", "decay_from_epoch"})
    starts the same shape again from its epoch on: a warm restart."""
    phases = [{"epoch": 1, "learning_rate": recipe["learning_rate"], "decay_from_epoch": recipe["decay_from_epoch"]},
              *recipe.get("restarts", [])]
    rate = recipe["decay_rate"]

    def schedule(epoch: int, lr=None) -> float:  # Keras passes a 0-based epoch
        phase = [p for p in phases if p["epoch"] <= epoch + 1][-1]
        decays = max(0, epoch + 1 - phase["decay_from_epoch"] + 1)
        return float(phase["learning_rate"] * rate**decays)

    return schedule
