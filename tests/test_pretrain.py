"""Pretraining an image source front on which words its targets hold (``zoo.training.pretrain``, the
recipe key ``pretrain_source``): the tagger trains the model's own front and nothing else of it, a
tiny one learns the colours of the squares' pictures, a recipe runs it once before a fresh run, and bad
settings are clear errors."""
import json

import keras
import numpy as np
import pytest

from zoo import data
from zoo.data.dataset import Dataset
from zoo.models import build
from zoo.training.pretrain import check_pretrain_source, pretrain_source, source_tagger
from zoo.training.train import load_recipe, train

from test_show_attend_tell import COLOURS, coloured_squares, png


def tiny_captioner():
    keras.utils.set_random_seed(0)
    return build("show_attend_tell", {
        "source_vocab_size": None, "target_vocab_size": 4 + len(COLOURS), "embedding_dim": 8, "units": 16,
        "source": {"kind": "image", "height": 24, "width": 24, "filters": [8, 16], "groups": 4}})


def presence(count: int, seed: int):
    """Coloured squares' pictures -> (inputs, which of the 5 colours each holds (count, 5) in {0, 1})."""
    inputs, _, _, captions = coloured_squares(count, seed)
    present = np.zeros((count, len(COLOURS)), "float32")
    for row, caption in enumerate(captions):
        present[row, [token - 4 for token in caption]] = 1.0
    return inputs, present


def test_the_tagger_trains_the_models_own_front_and_learns_the_colours():
    model = tiny_captioner()
    before = [np.array(w) for w in model.trainer.get_weights()]
    front = {id(w) for w in model.source_front.weights}
    train_inputs, train_present = presence(1000, seed=0)
    dev_inputs, dev_present = presence(200, seed=1)
    figures = pretrain_source(model, (train_inputs, train_present), (dev_inputs, dev_present),
                              len(COLOURS), epochs=6, learning_rate=0.01, verbose=0)
    print(f"\ncolours tagged right on dev after 6 epochs: {figures['dev_word_accuracy']:.1%} "
          f"(answering 'absent' everywhere: {1 - dev_present.mean():.1%})")
    assert figures["dev_word_accuracy"] >= 0.9 > 1 - dev_present.mean()
    after = model.trainer.get_weights()
    assert len(after) == len(before)  # the tagger's dense layer is not the model's
    for weight, old, new in zip(model.trainer.weights, before, after):
        assert np.array_equal(old, new) != (id(weight) in front), weight.path  # the front's weights alone moved


NAMES = ("red", "green", "blue", "yellow", "white")  # COLOURS' words


def squares_split(split: str) -> dict[bytes, list[str]]:
    """A split of the coloured squares as a dataset holds it: {PNG bytes: [the colours in reading order]}."""
    count, seed = {"train": (640, 0), "dev": (60, 1), "test": (20, 2)}[split]
    inputs, _, _, captions = coloured_squares(count, seed)
    return {png(pixels): [" ".join(NAMES[token - 4] for token in caption)]
            for pixels, caption in zip(inputs["source"], captions)}


def test_a_recipe_pretrains_the_front_once_before_a_fresh_run(tmp_path):
    if "pretrain-squares" not in data.names():
        data.register(Dataset("pretrain-squares", squares_split, {"exact_match": "exact_match"}, "exact_match"))
    image = {"kind": "image", "height": 24, "width": 24}
    recipe = {"name": "pretrain-squares", "dataset": "pretrain-squares", "family": "show_attend_tell",
              "frontend": image, "model": {"embedding_dim": 8, "units": 16, "attention_penalty": 0.0,
                                           "source": {**image, "filters": [8, 16], "groups": 4}},
              "target_tokenizer": {"split": "whitespace"}, "max_target_length": 5, "batch_size": 32,
              "epochs": 1, "learning_rate": 0.01, "decay_from_epoch": 1, "decay_rate": 1.0, "clipnorm": 5.0,
              "seed": 0, "dev_examples": 20, "pretrain_source": {"epochs": 5}}
    train(recipe, tmp_path, verbose=0, attention_examples=0)
    written = tmp_path / "pretrain_source.json"
    figures = json.loads(written.read_text())
    assert figures["epochs"] == 5 and set(figures) >= {"loss", "word_accuracy", "dev_loss", "dev_word_accuracy"}
    absent = 1 - np.mean([len(set(caption.split())) / len(NAMES) for [caption] in squares_split("dev").values()])
    print(f"\ncolours tagged right on dev by the recipe's pretraining: {figures['dev_word_accuracy']:.1%} "
          f"(answering 'absent' everywhere: {absent:.1%})")
    assert figures["dev_word_accuracy"] >= 0.9 > absent
    written.unlink()
    train(recipe, tmp_path, epochs=0, verbose=0, attention_examples=0)  # only evaluates: its weights are trained
    assert not written.exists()


def test_bad_settings_are_clear_errors():
    check_pretrain_source({"epochs": 2, "learning_rate": 0.001})
    for config, message in (({}, r"takes \['epochs', 'learning_rate'\] \('epochs' required\), got \[\]"),
                            ({"epochs": 2, "steps": 5}, r"got \['epochs', 'steps'\]"),
                            ({"epochs": 0}, "epochs must be an integer >= 1, got 0"),
                            ({"epochs": 1, "learning_rate": -1}, "learning_rate must be a number > 0, got -1")):
        with pytest.raises(ValueError, match=message):
            check_pretrain_source(config)
    with pytest.raises(ValueError, match="Recipe key 'pretrain_source' must be dict, got 3"):
        load_recipe({**load_recipe("toy-image"), "pretrain_source": 3})
    text = build("luong", {"source_vocab_size": 9, "target_vocab_size": 9, "embedding_dim": 4,
                           "encoder_units": 4, "units": 4})
    with pytest.raises(ValueError, match="pretrain_source pretrains an audio or image source front; the luong "
                                         "model reads token ids"):
        source_tagger(text, 5)
