"""seq2seq-zoo: recurrent sequence-to-sequence models for Keras 3 / TensorFlow.

    import zoo
    model = zoo.load("g2p-luong")
    model.predict(["hello"])
"""
from zoo.hub import list_models, load

__all__ = ["load", "list_models"]
__version__ = "0.1.0"
