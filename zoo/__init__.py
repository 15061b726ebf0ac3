"""seq2seq-zoo: recurrent sequence-to-sequence models for Keras 3 / TensorFlow.

    import zoo
    model = zoo.load("g2p-luong")
    model.predict(["hello"])
    zoo.plot_attention(model, "hello", beam_size=4)   # a matplotlib Figure of the attention
    zoo.ensemble(["g2p-luong", "g2p-bahdanau"]).predict(["hello"])   # several models decoding as one
    zoo.average(["runs/a/model", "runs/b/model"])   # one model: the mean of fine-tunes' weights
"""
import importlib

__all__ = ["load", "list_models", "ensemble", "average", "plot_attention"]
__version__ = "0.1.0"


# Imported on first use: ``import zoo`` loads neither TensorFlow nor matplotlib, so the backend-neutral
# model code (``zoo.models``, ``zoo.layers``, ``zoo.decoding``) also imports where only Keras and JAX or
# PyTorch are installed.
_LAZY = {"load": "zoo.hub", "list_models": "zoo.hub", "ensemble": "zoo.hub", "average": "zoo.packaging.averaging",
         "plot_attention": "zoo.plot"}


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    try:
        return importlib.import_module(f"zoo.{name}")  # a submodule, e.g. zoo.hub
    except ModuleNotFoundError as error:
        if error.name != f"zoo.{name}":
            raise
    raise AttributeError(f"module 'zoo' has no attribute {name!r}")
