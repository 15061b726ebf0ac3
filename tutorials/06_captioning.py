# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 06 · Image captioning: Show, Attend and Tell, word by word
#
# A captioner reads a picture and writes a sentence about it. Xu et al. (2015), *Show, Attend and
# Tell*, gave it attention: a CNN turns the picture into a grid of feature vectors, and an LSTM writes
# the caption one word at a time, looking at a different part of the grid for each word. Drawn over
# the picture, that attention shows *where the model looked to write each word*.
#
# The zoo's `caption-scenes` does this on **emoji scenes**: 1 to 4 of 64 Noto Emoji on a coloured,
# striped, checked or noisy background, captioned in reading order with where each one is:
# *"a small rose above a large mushroom above a large frog left of a large hat"*. The pictures are
# generated (deterministically) from emoji that ship in a package, so nothing is downloaded.
#
# This notebook: the data and what its test holds out; captions from the pretrained model and from
# its no-attention baseline; the attention word by word; what is inside the model; a few training
# steps of the same recipe; and the model answering PNG bytes as the exported graph would.
#
# **Modes.** Run as it is, section 5 trains the recipe's model on 2,000 scenes for 2 epochs (a few
# minutes); `zoo train recipes/caption-scenes.json` is the full run (10 epochs of 20,000 scenes,
# about 35 minutes on 2 CPU cores). With `ZOO_TUTORIAL_FAST=1` (the test suite) it takes 256 scenes
# and 1 epoch: the same code in seconds.

# %%
import io
import json
import os

import keras
import numpy as np
import tensorflow as tf
from matplotlib.figure import Figure
from PIL import Image

import zoo
from zoo import data, models
from zoo.data import scenes
from zoo.data.pipeline import make_dataset
from zoo.text.tokenizer import Tokenizer
from zoo.training.losses import compile_trainer
from zoo.training.train import build_vocabulary, load_recipe, source_frontend

FAST = os.environ.get("ZOO_TUTORIAL_FAST") == "1"
RESULTS = {"fast": FAST}  # values the test suite checks; written to $ZOO_TUTORIAL_RESULTS at the end
tf.get_logger().setLevel("ERROR")  # batches of other sizes retrace the decoder: expected, not worth a warning

# %% [markdown]
# ## 1. The data, and what the test holds out
#
# `scenes.scenes(count, seed, split)` paints `count` scenes; the same seed gives the same pictures.
# Each comes with its caption and where each emoji is (`objects`: name, size, cell of the 3 × 3 grid,
# pixel box).

# %%
sample = scenes.scenes(6, seed=1, split="train")
figure = Figure(figsize=(12, 2.6))
for index, scene in enumerate(sample):
    axes = figure.add_subplot(1, 6, index + 1)
    axes.imshow(Image.open(io.BytesIO(scene.png)))
    axes.set_title("\n".join(scene.caption.replace(" left of", "\nleft of").replace(" above", "\nabove")
                             .split("\n")[:4]), fontsize=7)
    axes.set_axis_off()
figure

# %% [markdown]
# A captioner that has memorised which emoji go together, or which cells are usually filled, can
# look good on pictures like its training ones. So the test split is made of **compositions never
# seen in training**: 1/20 of the 2,016 pairs of emoji never appear together in a training picture,
# and 1/10 of the arrangements of occupied cells never occur there; every test scene has one of each.
# Every emoji, size and cell is seen in training, only not together. (Assigned by a SHA-256 of the
# names, so the split is stable and needs no list.)

# %%
# compositions only: what the pictures would show, without painting them
shown = 500 if FAST else 20000
test = scenes.compositions(200, seed=2, split="test")  # per scene: (name, size, cell) in reading order
train_pairs = {frozenset((a[0], b[0])) for objects in scenes.compositions(shown, seed=0, split="train")
               for a, b in zip(objects, objects[1:])}
held_out = [objects for objects in test if any(frozenset((a[0], b[0])) not in train_pairs
                                               for a, b in zip(objects, objects[1:]))]
print(f"{len(held_out)} of {len(test)} test scenes have a neighbouring pair absent from {shown:,} training scenes")
print("held-out pairs:", len(scenes.held_out_pairs("test")), "for test,", len(scenes.held_out_pairs("dev")), "for dev")
RESULTS["held_out_share"] = len(held_out) / len(test)

# %% [markdown]
# ## 2. Captions from the pretrained model, and from its baseline
#
# `zoo.load("caption-scenes")` gives a predictor that takes PNG or JPEG **bytes** (or a file path).
# The frontend decodes the picture inside the TensorFlow graph and fits it to the model's 96 × 96
# canvas; `predict` then runs beam search (3 beams, the card's setting). `caption-scenes-baseline` is
# the same recipe without attention: its decoder sees the mean of the grid at every step.

# %%
model = zoo.load("caption-scenes")
baseline = zoo.load("caption-scenes-baseline")
fresh = scenes.scenes(16, seed=99, split="test")  # held-out compositions, pictures no split holds
pictures = [scene.png for scene in fresh]
captions, baseline_captions = model.predict(pictures), baseline.predict(pictures)
for scene, caption, other in list(zip(fresh, captions, baseline_captions))[:6]:
    print(f"truth     {scene.caption}\nattention {caption}\nbaseline  {other}\n")
exact = [float(np.mean([c == s.caption for c, s in zip(outputs, fresh)])) for outputs in (captions, baseline_captions)]
print(f"exact on these 16: attention {exact[0]:.0%}, baseline {exact[1]:.0%}")
RESULTS["exact"], RESULTS["baseline_exact"] = exact

# %% [markdown]
# Their cards (`pretrained/caption-scenes/README.md`) give the figures on the 1,000 test scenes,
# `zoo evaluate caption-scenes` reproduces them:

# %%
metrics = json.loads((zoo.hub.resolve("caption-scenes") / "metrics.json").read_text())
print(f"test exact match, beam 3: {metrics['beam']['test']['exact_match']:.1f} % "
      f"(baseline {metrics['baseline']['emoji-scenes']['exact_match']:.1f} %); "
      f"BLEU {metrics['beam']['test']['bleu']:.1f}")

# %% [markdown]
# ## 3. Where it looked, word by word
#
# `zoo.plot_attention` decodes the picture and draws one panel per output word: the picture as the
# model read it, brightest where that word's attention was (the number is the panel's peak weight). The
# model's memory is a 6 × 6 grid of cells, each covering 16 × 16 pixels of the canvas, so the maps are
# coarse. Look at the **size** words: each one lights up the emoji it describes. The size is the first
# word that depends on which emoji comes next, so that is where the model looks; by the time it
# writes the name, the LSTM's state already holds the emoji, and the name's own attention wanders
# (often towards the next object, which the relation word needs).

# %%
scene = fresh[1]
fig = zoo.plot_attention(model, scene.png, beam_size=3)
fig

# %% [markdown]
# Measured rather than eyeballed: for each emoji of each correctly captioned picture, is the cell
# its size word attends to most on (or next to) the emoji's box? And its name's?

# %%
front = model.model.source_front
rows, columns = front.grid_shape
cell = front.grid.stride * 128 / front.width  # canvas pixels per grid cell


def looks_at(weights, thing) -> bool:
    """Whether the cell of the largest weight is on the emoji's box, or within half a cell of it."""
    row, column = divmod(int(np.argmax(weights)), columns)
    x0, y0, x1, y1 = thing.box
    return (column * cell < x1 + cell / 2 and (column + 1) * cell > x0 - cell / 2
            and row * cell < y1 + cell / 2 and (row + 1) * cell > y0 - cell / 2)


size_hits = name_hits = total = 0
for scene, hypothesis in zip(fresh, [n_best[0] for n_best in model.decode(pictures, beam_size=3)]):
    if hypothesis.text != scene.caption:
        continue
    position = 0
    for thing in scene.objects:
        position = hypothesis.tokens.index(thing.name.split()[0], position)  # "a SIZE NAME"
        size_hits += looks_at(hypothesis.attention[position - 1], thing)
        name_hits += looks_at(hypothesis.attention[position], thing)
        total += 1
        position += 1
print(f"of {total} emoji: the size word looks at its emoji for {size_hits}, the name for {name_hits}")
RESULTS.update(size_hits=size_hits, name_hits=name_hits, attention_objects=total)

# %% [markdown]
# ## 4. Inside the model
#
# - **Frontend** (`zoo.frontends.ImageFrontend`): PNG/JPEG bytes → a 96 × 96 RGB canvas, checked
#   before decoding (size, format, header), so a bad file is a clear error, never a crash.
# - **CNN** (`ConvGrid`, trained from scratch): each picture's channels standardised (a background of
#   any colour starts near 0), then 4 stages of 3 × 3 convolution, group normalisation, ReLU and
#   2 × 2 max-pooling → a 6 × 6 grid of 128 features. Without the normalisations the first run of
#   this recipe lost most of its units to dead ReLUs and captioned every picture alike.
# - **Decoder** (`zoo.models.ShowAttendTell`): an LSTM whose first state comes from the grid's mean;
#   at each step additive attention over the 36 cells from the previous state, a *gate*
#   β = σ(w·h) that scales the context (how much the word needs the picture: high for names, low
#   for "a" or "of"), and the deep output tanh(E y + L [h; z]).
# - **Doubly stochastic regularisation**: a training penalty λ Σ_cells (1 − Σ_words α)² that asks the
#   caption to look at every part of the picture once over its words (λ = 0.05 here).

# %%
print(json.dumps(model.model.get_config(), indent=1))
print(f"{model.model.count_params():,} parameters")

# %% [markdown]
# ## 5. Training steps of the same recipe
#
# `recipes/caption-scenes.json` is what `zoo train` ran. Here the same model is built from it and
# trained with plain Keras `fit` on a few scenes, through the zoo's `tf.data` pipeline: the frontend
# decodes every picture once, targets are shifted for teacher forcing and batches are bucketed by
# caption length. `compile_trainer` compiles the model's trainer as `zoo train` does (Adam with the
# recipe's learning rate and clipping, the masked loss with its label smoothing, token metrics). The
# loss starts near log(vocabulary size) and falls.

# %%
recipe = load_recipe("caption-scenes")
count, epochs = (256, 1) if FAST else (2000, 2)
train_pairs = scenes.make(count, seed=5, split="train")
target_tokenizer = Tokenizer(build_vocabulary([c for _, c in train_pairs], recipe["target_tokenizer"]),
                             **recipe["target_tokenizer"])
frontend = source_frontend(recipe, None, target_tokenizer)  # the recipe's image frontend
train_data = make_dataset(train_pairs, frontend, target_tokenizer, recipe["batch_size"], max_source_length=None,
                          max_target_length=recipe["max_target_length"], seed=1)
keras.utils.set_random_seed(recipe["seed"])
fresh_model = models.build("show_attend_tell", {**recipe["model"], "source_vocab_size": None,
                                                "target_vocab_size": len(target_tokenizer.vocabulary)})
compile_trainer(fresh_model, recipe)  # as zoo train does: Adam, clipping, the masked loss, token metrics
history = fresh_model.trainer.fit(train_data, epochs=epochs, verbose=2)
print(f"log(V) = {np.log(len(target_tokenizer.vocabulary)):.2f}")
RESULTS["loss"] = [float(x) for x in history.history["token_cross_entropy"]]
RESULTS["log_vocab"] = float(np.log(len(target_tokenizer.vocabulary)))

# %% [markdown]
# ## 6. Bytes in, caption out: what the exported model answers
#
# `zoo export caption-scenes exports` writes a SavedModel that TF Serving loads as it is: PNG/JPEG
# bytes in, caption and score out, and an `attention` signature with the words and their weights
# over the 36 cells (notebook 07 shows how to serve and call it). The graph applies the same
# frontend as `predict`, so bad pictures get the same answers: a JPEG or a grayscale copy is read, a
# truncated file or something that is not a picture is refused with the reason, per row.

# %%
buffer = io.BytesIO()
Image.open(io.BytesIO(fresh[0].png)).convert("RGB").save(buffer, format="JPEG", quality=95)
as_jpeg = buffer.getvalue()
print("JPEG:", model.predict([as_jpeg])[0], "| PNG:", captions[0])
for name, bad in (("truncated PNG", fresh[0].png[:300]), ("not a picture", b"GIF89a...")):
    try:
        model.predict([bad])
    except ValueError as error:
        print(f"{name}: {error}")
RESULTS["jpeg_same"] = model.predict([as_jpeg])[0] == captions[0]

# %% [markdown]
# ## 7. Small things, read in order: `caption-digits`
#
# `caption-digits` is the same family on rows and grids of 2-6 handwritten digits (scikit-learn's
# scans); its caption is the digits in reading order. A digit covers a few of the 144 cells, and the
# recipe that captions scenes does not learn it: the caption loss reaches a CNN trained from scratch
# only through means over its cells, which hide a few small digits (13 % of digits right after 3
# epochs, chance 10 %). Its recipe (`recipes/caption-digits.json`) adds three options: the CNN first
# learns which digits a picture holds (`pretrain_source`, through the *max* over its cells, as the
# paper's CNN came pretrained), each cell gets a vector started as 2D sinusoids of its row and column
# (`positions`: "the next digit to the right" is then one linear step), and the LSTM starts from the
# max over the cells. Test digit accuracy: 99.1 %.

# %%
digits_model = zoo.load("caption-digits")
grids = scenes.digit_grids(4, seed=99, split="test")  # test digit strings, pictures no split holds
read = digits_model.predict([grid.png for grid in grids], beam_size=3)
for grid, reading in zip(grids, read):
    print(f"{grid.shape[0]} x {grid.shape[1]}: truth {grid.caption} | read {reading}")
RESULTS["digits_right"] = sum(grid.caption == reading for grid, reading in zip(grids, read))
zoo.plot_attention(digits_model, grids[1].png, beam_size=3)

# %% [markdown]
# Where next: `zoo predict caption-scenes picture.png --attention map.png` does sections 2 and 3 from
# the shell, and `zoo predict caption-digits grid.png --attention map.png` section 7.

# %%
if os.environ.get("ZOO_TUTORIAL_RESULTS"):
    with open(os.environ["ZOO_TUTORIAL_RESULTS"], "w") as f:
        json.dump(RESULTS, f, indent=2)
print(json.dumps(RESULTS, indent=1))
