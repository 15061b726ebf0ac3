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
# # 04 · Summarization: a pointer-generator that copies words it has never seen
#
# A summarizer reads a text and writes a shorter one. An attention model that can only write words of
# its vocabulary fails on what matters most in a summary: the names. See et al. (2017), *Get To The
# Point*, gave it a **pointer**: at each step a gate p_gen mixes *generating* a vocabulary word with
# *copying* a word of the source through the attention, so a package name, a file format or a
# library the model never saw in training can still be written. A **coverage** vector (the attention
# summed over the steps so far) lets it see what it has already said, against repetition.
#
# The zoo's `summarize-debian` does this on **Debian package descriptions**: a package's long
# description in, its one-line synopsis out, both written by people (Debian 12's package index,
# committed as a snapshot in `corpora/`, so nothing is downloaded).
#
# This notebook: the data, its split and the baselines to beat; summaries from the pretrained model; a
# made-up package whose names no vocabulary holds; the attention of a summary; inside the model;
# training steps of the same recipe; and the model answering raw text as the exported graph does.
#
# **Modes.** Run as it is, section 6 trains the recipe's model on 5,000 pairs for 1 epoch (a few
# minutes); `zoo train recipes/summarize-debian.json` is the full run (4 epochs, about 70 minutes on 2
# CPU cores). With
# `ZOO_TUTORIAL_FAST=1` (the test suite) it scores 200 test pairs and trains on 256: the same code in
# seconds.

# %%
import json
import os
import tempfile

import numpy as np
import tensorflow as tf

import zoo
from zoo import data, export, models
from zoo.data import summarization
from zoo.data.pipeline import make_dataset
from zoo.text.tokenizer import Tokenizer
from zoo.training.losses import compile_trainer
from zoo.training.train import build_vocabulary, load_recipe, source_frontend

FAST = os.environ.get("ZOO_TUTORIAL_FAST") == "1"
RESULTS = {"fast": FAST}  # values the test suite checks; written to $ZOO_TUTORIAL_RESULTS at the end
tf.get_logger().setLevel("ERROR")  # batches of other sizes retrace the decoder: expected, not worth a warning

# %% [markdown]
# ## 1. The data, its split, and the baselines
#
# Each pair is a package's description (median 45 words) and its synopsis (median 7). A split by
# package would leak: a library's many packages open their descriptions with the same words. So the
# pairs are split by *clusters* of source packages whose descriptions open with the same 15 words:
# no test description opens like a training one.

# %%
train, test = data.load("debian-descriptions", "train"), data.load("debian-descriptions", "test")
description, synopsis = test[3]
print(f"{len(train):,} training pairs, {len(test):,} test pairs\n")
print("description:", description, "\nsynopsis:   ", synopsis)
opens = {summarization.opening(d) for d, _ in train}
RESULTS["test_opening_like_train"] = sum(summarization.opening(d) in opens for d, _ in test)
print("test descriptions that open like a training one:", RESULTS["test_opening_like_train"])

# %% [markdown]
# A summary is scored with ROUGE (`rouge-score`, with stemming): the overlap of its words (ROUGE-1),
# word pairs (ROUGE-2) and longest common subsequence (ROUGE-L) with the reference, as F1 × 100. Three
# extracts made without a model set the bar: the description's **first sentence**, its **first 7
# words**, and the **oracle**: its one sentence closest to the reference (chosen by looking at the
# answer, so no extract can do better).

# %%
scored = test[:200] if FAST else test
simple = summarization.baselines(pairs=scored)
for name, figures in simple.items():
    print(f"{name:15} R1 {figures['rouge1']:.1f}  R2 {figures['rouge2']:.1f}  RL {figures['rougeL']:.1f}")
RESULTS["baselines"] = simple

# %% [markdown]
# ## 2. Summaries from the pretrained model
#
# `zoo.load("summarize-debian")` takes text and returns text; `predict` uses the card's beam search.
# Its vocabulary is the 9k words seen at least 3 times in training synopses; words marked
# `*like this*` below are outside it: the model wrote them by copying them from the description.

# %%
model = zoo.load("summarize-debian")
vocabulary = set(model.target_tokenizer.vocabulary.tokens)


def mark(summary: str) -> str:
    """The summary with its words outside the vocabulary as *word*."""
    tokens = model.target_tokenizer.tokenize(tf.constant([summary])).to_list()[0]
    return " ".join(f"*{t.decode()}*" if t.decode() not in vocabulary else t.decode() for t in tokens)


examples = test[:8] if FAST else test[:16]
summaries = model.predict([d for d, _ in examples])
for (_, reference), summary in zip(examples, summaries):
    print(f"reference  {reference}\nsummary    {mark(summary)}\n")
RESULTS["copied_in_examples"] = sum("*" in mark(summary) for summary in summaries)

# %% [markdown]
# Its card (`pretrained/summarize-debian/README.md`) gives the figures on the whole test split
# beside the baselines, and what the outputs are made of: how many words were copied from outside the
# vocabulary, how many of the reference's rare words were written, and how often a word comes three
# times in a row. `zoo evaluate summarize-debian` reproduces them.

# %%
metrics = json.loads((zoo.hub.resolve("summarize-debian") / "metrics.json").read_text())
beam = metrics["beam"]["test"]
print(f"test ROUGE-L, beam {metrics['beam']['strategy']['beam_size']}: {beam['rougeL']:.1f} "
      f"(first sentence {metrics['simple_baselines']['first_sentence']['rougeL']:.1f}, "
      f"oracle {metrics['simple_baselines']['oracle']['rougeL']:.1f})")
print("outputs:", beam["outputs"])
RESULTS["card_rougeL"] = beam["rougeL"]

# %% [markdown]
# ## 3. A package no split holds
#
# A made-up description, with a made-up program and file format. Neither name is in any vocabulary;
# the model writes the format's name anyway, spelled as in the source (case-folded: the recipe
# lowercases). A model without the copy mechanism could only write `<unk>` there.

# %%
made_up = ("Quibblefrost is a fast command-line converter for Zentrix spreadsheets. It reads Zentrix "
           "workbooks and writes them as CSV or OpenDocument files, keeping formulas and cell styles. "
           "This package contains the quibblefrost program.")
made_up_summary = model.predict([made_up])[0]
print(made_up_summary)
RESULTS["made_up_summary"] = made_up_summary
RESULTS["made_up_names_outside_vocabulary"] = not {"quibblefrost", "zentrix"} & vocabulary

# %% [markdown]
# ## 4. Where it looked
#
# `zoo.plot_attention` decodes one description and draws, for each word of the summary (rows), its
# attention over the description's words (columns). A copied word's row peaks on the word it copies;
# the coverage term keeps rows from piling onto the same columns.

# %%
fig = zoo.plot_attention(model, made_up, beam_size=4)
hypothesis = model.decode([made_up], beam_size=4)[0][0]
peaks = [hypothesis.source_tokens[i] for i in np.asarray(hypothesis.attention).argmax(axis=1)[:len(hypothesis.tokens)]]
print(list(zip(hypothesis.tokens, peaks)))
RESULTS["copied_word_attends_to_itself"] = all(
    peak == token for token, peak in zip(hypothesis.tokens, peaks) if token in ("quibblefrost", "zentrix"))
fig

# %% [markdown]
# ## 5. Inside the model
#
# - **Frontend** (`zoo.frontends.TextFrontend`): the text is normalized and case-folded, split into
#   words with punctuation apart (`"words"`: "files)." is "files", ")", "."), and cut to its first 100
#   words (`truncate_source`: a summary comes from a description's opening; longer texts are read
#   that far, not refused). Each source word also gets an **extended id**: its vocabulary id, or for a
#   word outside the vocabulary V + k, the k-th such word of this source.
# - **Encoder**: embeddings, a bidirectional LSTM.
# - **Decoder** (`zoo.models.PointerGenerator`): an LSTM; additive attention whose score also reads the
#   coverage c_i (the attention the source word i received so far); then
#   P(w) = p_gen P_vocab(w) + (1 − p_gen) Σ_{i: x_i = w} a_i over the extended vocabulary.
# - **Coverage loss**: λ Σ_i min(a_i, c_i) per step, the attention paid again to what was already
#   attended; trained with it from the start (λ = 1).

# %%
print(json.dumps(model.model.get_config(), indent=1))
print(f"{model.model.count_params():,} parameters")

# %% [markdown]
# ## 6. Training steps of the same recipe
#
# `recipes/summarize-debian.json` is what `zoo train` ran. Here the same model is built from it and
# trained with Keras `fit` on a slice of the training pairs, through the zoo's `tf.data` pipeline
# (targets shifted for teacher forcing, and for the copy model extended: a target word outside the
# vocabulary that the source holds is the source's extended id). The loss starts near
# log(vocabulary size) and falls.

# %%
recipe = load_recipe("summarize-debian")
count = 256 if FAST else 5000
pairs = train[:count]
source_tokenizer = Tokenizer(build_vocabulary([d for d, _ in pairs], recipe["source_tokenizer"]), **recipe["source_tokenizer"])
target_tokenizer = Tokenizer(build_vocabulary([s for _, s in pairs], recipe["target_tokenizer"]), **recipe["target_tokenizer"])
frontend = source_frontend(recipe, source_tokenizer, target_tokenizer)
train_data = make_dataset(pairs, frontend, target_tokenizer, recipe["batch_size"],
                          max_source_length=recipe["max_source_length"], max_target_length=recipe["max_target_length"],
                          seed=1)
fresh = models.build("pointer_generator", {**recipe["model"], "source_vocab_size": len(source_tokenizer.vocabulary),
                                           "target_vocab_size": len(target_tokenizer.vocabulary)})
compile_trainer(fresh, recipe)
history = fresh.trainer.fit(train_data, epochs=2 if FAST else 1, verbose=2)
print(f"log(V) = {np.log(len(target_tokenizer.vocabulary)):.2f}")
RESULTS["loss"] = [float(x) for x in history.history["token_cross_entropy"]]
RESULTS["log_vocab"] = float(np.log(len(target_tokenizer.vocabulary)))

# %% [markdown]
# ## 7. Text in, summary out: what the exported model answers
#
# `zoo export summarize-debian exports` writes a SavedModel for TF Serving (notebook 07 shows how to
# serve it): raw text in, summary and score out. The frontend, the extended vocabulary and the reading
# back of copied words all run inside the graph, so the served model copies the made-up names as
# `predict` does.

# %%
exports = tempfile.mkdtemp()
version = export.export("summarize-debian", exports, beam_size=4, n_best=1)
served = tf.saved_model.load(str(version)).signatures["serving_default"](text=tf.constant([made_up]))
served_summary = served["outputs"].numpy()[0][0].decode()
print("served:", served_summary, "| predict:", made_up_summary)
RESULTS["served_equals_predict"] = served_summary == made_up_summary

# %% [markdown]
# Where next: `zoo predict summarize-debian "description..." --attention map.png` does sections 2 and 4
# from the shell; `pretrained/summarize-debian/README.md` is the card.

# %%
if os.environ.get("ZOO_TUTORIAL_RESULTS"):
    with open(os.environ["ZOO_TUTORIAL_RESULTS"], "w") as f:
        json.dump(RESULTS, f, indent=2)
print(json.dumps(RESULTS, indent=1))
