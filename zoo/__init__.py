"""seq2seq-zoo: recurrent sequence-to-sequence models for Keras 3 / TensorFlow.

    import zoo
    model = zoo.load("g2p-luong")
    model.predict(["hello"])
    zoo.plot_attention(model, "hello", beam_size=4)   # a matplotlib Figure of the attention
    zoo.ensemble(["g2p-luong", "g2p-bahdanau"]).predict(["hello"])   # several models decoding as one
    zoo.average(["runs/a/model", "runs/b/model"])   # one model: the mean of fine-tunes' weights
"""
from zoo.averaging import average
from zoo.hub import ensemble, list_models, load

__all__ = ["load", "list_models", "ensemble", "average", "plot_attention"]
__version__ = "0.1.0"


def __getattr__(name: str):
    """``plot_attention`` is imported on first use, so ``import zoo`` never loads matplotlib."""
    if name == "plot_attention":
        from zoo.plot import plot_attention

        return plot_attention
    raise AttributeError(f"module 'zoo' has no attribute {name!r}")
