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
# # 02 · Attention from scratch: dates in any format → ISO 8601
#
# We train a Bahdanau attention model that reads a date the way people write it, in 8 languages and
# 78 formats, and writes it in ISO 8601:
#
# | input | output |
# |---|---|
# | `mercredi 29 septembre 2021` | `2021-09-29` |
# | `9/29/21` | `2021-09-29` |
# | `Mittwoch, 29. September 2021` | `2021-09-29` |
#
# Why dates? The task is small enough to train in a few minutes on a CPU, yet it needs what makes
# attention useful: the day, month and year sit at different places in each format (`d/M/y`,
# `M/d/yy`, `y-MM-dd`, weekday first or not), months are words in 8 languages, and every output
# character depends on one specific part of the input. That makes the attention map easy to read:
# a good model looks at the year to write the year.
#
# Along the way: the `tf.data` pipeline and teacher forcing, the loss sanity check every seq2seq run
# should start with, TensorBoard, an honest exact-match evaluation, and the attention map.
#
# **Modes.** Run as it is, this notebook trains with `recipes/dates-bahdanau.json`, the recipe of
# the shipped `dates-bahdanau` model (about 7 minutes on 2 CPU cores). With `ZOO_TUTORIAL_FAST=1`
# (the test suite) it uses 1,500 training examples, a tiny model and 2 epochs: the same code path in
# a minute, to a model that has only begun to learn; the shipped model stands in where a trained
# one is needed.

# %%
import collections
import datetime
import json
import math
import os
import pathlib
import random
import tempfile

import keras
import numpy as np
import tensorflow as tf

import zoo
from zoo import data, models
from zoo.data import dates
from zoo.data.pipeline import make_dataset
from zoo.evaluation import sequence_scores
from zoo.predictor import Predictor
from zoo.text.tokenizer import Tokenizer
from zoo.training.callbacks import AttentionMapLogger, SequenceMetrics
from zoo.training.losses import masked_accuracy, masked_loss, token_cross_entropy
from zoo.training.schedule import lr_schedule
from zoo.training.train import build_vocabulary, load_recipe

FAST = os.environ.get("ZOO_TUTORIAL_FAST") == "1"
RESULTS = {"fast": FAST}  # values the test suite checks; written to $ZOO_TUTORIAL_RESULTS at the end
tf.get_logger().setLevel("ERROR")  # batches of other lengths retrace the decoder: expected, not worth a warning

recipe = load_recipe("dates-bahdanau")  # recipes/dates-bahdanau.json
if FAST:  # tiny model, few examples and steps: the same code, a minute instead of seven
    recipe.update(model={**recipe["model"], "embedding_dim": 16, "encoder_units": 16, "units": 32,
                         "attention_units": 16}, epochs=2, batch_size=64, dev_examples=100)
train_size = 1500 if FAST else None  # None: all 40,000
keras.utils.set_random_seed(recipe["seed"])
print(json.dumps(recipe, indent=1))

# %% [markdown]
# ## 1. The data
#
# `zoo.data.dates` generates the examples, deterministically, from two installed packages: `faker`
# draws the dates (1950–2049) and `babel` writes them with the Unicode CLDR data in en_US, en_GB,
# fr_FR, de_DE, es_ES, it_IT, pt_BR and nl_NL, with babel's short/medium/long/full formats and a
# few explicit patterns. Nothing is downloaded. Here is one date in a sample of the formats:

# %%
day = datetime.date(2021, 9, 29)
formats = dates.seen_formats()
for locale, pattern in random.Random(0).sample(formats, 12):
    print(f"{locale:8} {pattern:26} {dates.render(day, locale, pattern)}")
print(f"... {len(formats)} formats in train/dev/test, {len(dates.HELDOUT_FORMATS)} more held out")

# %% [markdown]
# **What the test measures.** A model can score well on a test set by remembering it, so the split
# is made on *date values*: a hash of the ISO date sends each date to train, dev or test, and no
# test date appears in training in any format. The `test` split (2,000 examples) renders unseen
# dates in the formats seen in training; `test-formats` (1,000) renders them in 5 formats no other
# split uses (Spanish `d MMMM y`, Italian `MMMM d, y`, German `d. MMMM y`, Portuguese `d MMM y`,
# `y/MM/dd`), whose pieces appear elsewhere. The two measure different things and are reported
# separately. Two conventions keep every input unambiguous: with slashes, a 2-digit year is US
# month-first (`9/29/21`) and a 4-digit year day-first (`29/09/2021`); 2-digit years pivot at 50.

# %%
train_pairs = data.load("dates", "train")[:train_size]
dev_refs = data.references("dates", "dev")
test_refs = data.references("dates", "test")
for source, target, locale, pattern in dates.examples("train")[:8]:
    print(f"{source:36} -> {target}   ({locale}, {pattern})")
train_dates = {t for _, t in data.load("dates", "train")}
print(f"\ntrain {len(train_pairs)} examples; dev {len(dev_refs)}; test {len(test_refs)}; "
      f"test dates also in train: {len(set(sum(test_refs.values(), [])) & train_dates)}")

# %% [markdown]
# ## 2. Tokenizers: characters in, characters out
#
# Both sides are split into characters. A word vocabulary would need every month name and
# abbreviation in every language and could not spell a number it never saw; characters cover all of
# it with about 50 symbols in and 11 out (digits and `-`), plus 4 reserved ids: `<pad>`=0,
# `<s>`=1, `</s>`=2, `<unk>`=3. The source side is case-folded (`Sept` and `sept` mean the same).
# The vocabularies are built from the training split only, as anything else would leak test data.

# %%
source_vocab = build_vocabulary([s for s, _ in train_pairs], recipe["source_tokenizer"])
target_vocab = build_vocabulary([t for _, t in train_pairs], recipe["target_tokenizer"])
source_tokenizer = Tokenizer(source_vocab, **recipe["source_tokenizer"])
target_tokenizer = Tokenizer(target_vocab, **recipe["target_tokenizer"])
print(f"source vocabulary: {len(source_vocab)} tokens:", "".join(source_vocab.tokens[4:]))
print(f"target vocabulary: {len(target_vocab)} tokens:", " ".join(target_vocab.tokens))
print(source_tokenizer.encode(["Mittwoch, 29. Sept. 2021"]).to_list())

# %% [markdown]
# ## 3. The `tf.data` pipeline and teacher forcing
#
# `make_dataset` tokenizes everything in one vectorised call, drops empty or over-long examples
# (and logs how many), shuffles, groups examples of similar length into buckets so that batches
# carry little padding, pads on the right (what cuDNN kernels require), and shuffles the batches.
#
# It also prepares **teacher forcing**. The decoder is trained to predict token *t* given the
# source and the *true* tokens before *t*, not its own guesses. So the target is shifted:
# `decoder_input` = `<s>` + target and `decoder_target` = target + `</s>`. Position *t* of the input
# is the answer of position *t − 1*, and every position trains in parallel in one pass. `weights`
# are 1 on real target tokens and 0 on padding, so padding never counts in the loss.

# %%
limits = dict(max_source_length=recipe["max_source_length"], max_target_length=recipe["max_target_length"])
train_data = make_dataset(train_pairs, source_tokenizer, target_tokenizer, recipe["batch_size"],
                          seed=recipe["seed"], **limits)
dev_data = make_dataset(data.load("dates", "dev")[: recipe["dev_examples"]], source_tokenizer, target_tokenizer,
                        recipe["batch_size"], shuffle=False, **limits)
inputs, decoder_target, weights = next(iter(train_data))
print({k: v.shape for k, v in inputs.items()}, "decoder_target", decoder_target.shape)
row = 0
print("source        ", source_vocab.tokens_of(inputs["source"][row].numpy()))
print("decoder_input ", [target_vocab.tokens[i] for i in inputs["decoder_input"][row].numpy()])
print("decoder_target", [target_vocab.tokens[i] for i in decoder_target[row].numpy()])
print("weights       ", weights[row].numpy())
shifted = bool(np.array_equal(inputs["decoder_input"][:, 1:].numpy(), decoder_target[:, :-1].numpy()))
print("decoder_input[t + 1] == decoder_target[t]:", shifted)
RESULTS.update(teacher_forcing_shift=shifted,
               starts_with_start=bool((inputs["decoder_input"][:, 0].numpy() == 1).all()),
               target_ends_with_end=bool((decoder_target[:, -1].numpy() == 2).all()))

# %% [markdown]
# Every ISO date has 10 characters, so the targets of a batch are never padded; the sources are,
# with id 0 up to the longest source of the batch, and masked in the encoder and in the attention. At *inference* there is no true previous token: the decoder feeds on its own outputs,
# one step at a time. Token accuracy under teacher forcing is therefore an optimistic figure; the
# real test is decoding (section 7).
#
# ## 4. The model: Bahdanau attention
#
# `zoo.models.Bahdanau` follows Bahdanau, Cho and Bengio (2015):
#
# - the **encoder**, a bidirectional GRU, turns each source character into a vector `h_j` that
#   knows about its neighbours on both sides (so the `9` of `29` knows it belongs to a day);
# - at each output step the **attention** scores every `h_j` against the decoder's previous state
#   `s_{t-1}` with a small network, `e_tj = vᵀ tanh(W s_{t-1} + U h_j)` ("additive" attention), turns
#   the scores into weights with a softmax over the real (unpadded) positions, and averages the
#   `h_j` into a context vector;
# - the **decoder** GRU takes the previous output character and the context, and a deep output
#   layer predicts the next character.
#
# The family exposes three Keras models that share their layers: `trainer` (teacher-forced, for
# `fit`), `encoder` and `step` (one decoder step, for the decoding loop and for export).

# %%
model = models.build("bahdanau", {**recipe["model"], "source_vocab_size": len(source_vocab),
                                  "target_vocab_size": len(target_vocab)})
print(f"{model.count_params():,} parameters")
model.trainer.summary(line_length=110)

# %% [markdown]
# ## 5. The loss sanity check: before training, loss ≈ log(vocabulary size)
#
# A freshly initialised network outputs small, nearly equal logits, so its predicted distribution
# over the next character is close to uniform, and the cross-entropy of a uniform guess over *V*
# tokens is exactly log *V*. Measuring this before training catches two classic bugs:
#
# - loss well **above** log *V*: the initialisation is too large, or labels and logits are misaligned;
# - loss well **below** log *V* (or one that collapses to 0 in a few steps): the model can see what it
#   should predict, typically a missing shift between `decoder_input` and `decoder_target`.

# %%
model.trainer.compile(optimizer=keras.optimizers.Adam(recipe["learning_rate"], clipnorm=recipe["clipnorm"]),
                      loss=masked_loss(), weighted_metrics=[masked_accuracy(), token_cross_entropy()])
initial = model.trainer.evaluate(train_data.take(4), return_dict=True, verbose=0)
log_vocab = math.log(len(target_vocab))
print(f"initial cross-entropy per token {initial['token_cross_entropy']:.4f}, "
      f"log(V) = log({len(target_vocab)}) = {log_vocab:.4f}, ratio {initial['token_cross_entropy'] / log_vocab:.3f}")
RESULTS.update(initial_loss=initial["token_cross_entropy"], log_vocab=log_vocab)

# %% [markdown]
# ## 6. Training, with TensorBoard
#
# Plain Keras `fit` on the pipeline. The callbacks are the zoo's own, the ones `zoo train` uses:
#
# - `SequenceMetrics` decodes the dev sources after every epoch and logs `dev_wer`, the share of
#   dev dates not exactly right (100 − exact match), with CER, BLEU and chrF;
# - `AttentionMapLogger` decodes four fixed dev examples after every epoch and writes their attention
#   maps to TensorBoard as images, so you can watch the alignment appear epoch by epoch;
# - `TensorBoard` writes the loss and metrics; `LearningRateScheduler` halves the rate from the
#   recipe's `decay_from_epoch`.
#
# Open TensorBoard on the log folder printed below, in a terminal (`tensorboard --logdir <folder>`)
# or in the notebook (`%load_ext tensorboard` then `%tensorboard --logdir <folder>`): the *Scalars*
# tab shows the curves, *Images* the attention maps, *Text* the predictions.

# %%
if FAST:
    workdir = pathlib.Path(tempfile.mkdtemp(prefix="tutorial-dates-"))
else:  # runs/ in the repository (ignored by git), where TensorBoard is easy to point at
    runs = pathlib.Path(zoo.__file__).resolve().parents[1] / "runs"
    runs.mkdir(exist_ok=True)
    workdir = pathlib.Path(tempfile.mkdtemp(prefix="tutorial-dates-", dir=runs))
logdir = workdir / "logs"
predictor = Predictor(model, source_tokenizer, target_tokenizer, name="dates-tutorial", **limits)
examples = ["9/29/21", "29 sept. 2021", "mercredi 29 septembre 2021", "quarta-feira, 29 de setembro de 2021"]
callbacks = [
    SequenceMetrics(predictor, dev_refs, max_examples=recipe["dev_examples"]),
    keras.callbacks.LearningRateScheduler(lr_schedule(recipe)),
    keras.callbacks.TensorBoard(str(logdir)),
    AttentionMapLogger(predictor, examples, logdir / "attention", beam_size=1),
]
print("TensorBoard log folder:", logdir)
history = model.trainer.fit(train_data, validation_data=dev_data, epochs=recipe["epochs"], callbacks=callbacks,
                            verbose=2 if FAST else 1, shuffle=False)  # the pipeline shuffles, before bucketing
RESULTS["loss"] = [float(x) for x in history.history["loss"]]
RESULTS["val_token_accuracy"] = [float(x) for x in history.history["val_token_accuracy"]]
RESULTS["dev_wer"] = [float(x) for x in history.history["dev_wer"]]

# %% [markdown]
# What went into TensorBoard, read back from the event files:

# %%
tags = collections.defaultdict(set)
for event_file in sorted(logdir.rglob("events.out.tfevents.*")):
    for event in tf.compat.v1.train.summary_iterator(str(event_file)):
        for value in event.summary.value:
            tags[event_file.parent.name].add(value.tag)
for run, names in sorted(tags.items()):
    print(f"{run:11} {sorted(names)}")
RESULTS["tensorboard_tags"] = {run: sorted(names) for run, names in tags.items()}

# %% [markdown]
# ## 7. Exact match on unseen dates
#
# Token accuracy flatters a model: 9 right characters out of 10 is still a wrong date. The figure
# that matters is **exact match**: the share of test inputs whose decoded output is exactly the
# reference. Decoding is greedy here (the model's most probable character at each step); the shipped
# model's card also reports beam search, which changes little on this task.

# %%
def exact_match(predictor, references, limit=None):
    sources = list(references)[:limit]
    hypotheses = predictor.predict(sources)
    wrong = [(s, h, references[s][0]) for s, h in zip(sources, hypotheses) if h not in references[s]]
    score = 100.0 - sequence_scores(hypotheses, [references[s] for s in sources])["wer"]
    return score, wrong


limit = 300 if FAST else None
formats_refs = data.references("dates", "test-formats")
test_em, test_wrong = exact_match(predictor, test_refs, limit)
formats_em, _ = exact_match(predictor, formats_refs, limit)
print(f"this run, exact match: test {test_em:.2f} %, test-formats {formats_em:.2f} %")
for source, hypothesis, reference in test_wrong[:8]:
    print(f"   {source:36} -> {hypothesis:12} (reference {reference})")
RESULTS.update(test_exact_match=test_em, test_formats_exact_match=formats_em)

# %% [markdown]
# The shipped `dates-bahdanau` was trained by this recipe with `zoo train`, which adds resumable
# checkpoints, keeps the epoch with the best dev score and writes the model card. A full run of this
# notebook should land close to it. On the same examples:

# %%
shipped = zoo.load("dates-bahdanau")
shipped_em, shipped_wrong = exact_match(shipped, test_refs, limit)
shipped_formats_em, _ = exact_match(shipped, formats_refs, limit)
print(f"shipped dates-bahdanau, exact match: test {shipped_em:.2f} %, test-formats {shipped_formats_em:.2f} %")
for source, hypothesis, reference in shipped_wrong[:8]:
    print(f"   {source:36} -> {hypothesis:12} (reference {reference})")
RESULTS.update(shipped_test_exact_match=shipped_em, shipped_test_formats_exact_match=shipped_formats_em)

# %% [markdown]
# Unseen dates are all but solved; unseen *formats* are the real test of what was learned. Split by
# format, the held-out set tells a clear story:

# %%
held_out = dates.examples("test-formats")[:limit]
outputs = shipped.predict([source for source, *_ in held_out])
by_format = collections.defaultdict(list)
for (source, target, locale, pattern), output in zip(held_out, outputs):
    by_format[f"{locale} {pattern}"].append(output == target)
for name, right in sorted(by_format.items()):
    print(f"{name:22} {100 * np.mean(right):6.1f} % of {len(right)}")
RESULTS["shipped_by_held_out_format"] = {name: float(100 * np.mean(right)) for name, right in by_format.items()}

# %% [markdown]
# New combinations of things it has seen (Spanish month names without `de`, Italian month-first,
# German without the weekday) are read perfectly. `y/MM/dd` is not: in training, slashes *always*
# came with the year at the end (`9/29/21`, `29/09/2021`), so the model learned the separator as the
# cue for the order of the fields, and reads `2018/07/15` as if it were one of those. A model only
# generalises along the variation its data shows it; the fix is data with year-first slashed dates,
# not a bigger model.

# %% [markdown]
# ## 8. The attention map: day, month and year
#
# Each row of the map is one output character (and `</s>`), each column one input character; row
# *t* holds the weights the decoder used to write character *t*. To write the year the model reads
# the year, to write the month it reads the month *name*, and to write the day it reads the day,
# wherever the format puts them. Nobody told it where they are: the alignment is learned from
# (input, output) pairs alone. Typically the first two digits of the year spread their weight more: with years
# from 1950 to 2049, the century is nearly implied by the last two digits, which the model reads
# sharply.

# %%
text = "mercredi 29 septembre 2021"
best = predictor if not FAST else shipped  # a 2-epoch tiny model has not learned to align yet
fig = zoo.plot_attention(best, text)
fig

# %% [markdown]
# The same, measured: for each part of the output, the share of its attention that falls on the
# matching part of the input (weights of the output characters of that part, averaged).

# %%
def alignment(predictor, text, spans):
    """spans: {part: (first, last) source character indices} -> {part: attention mass on its span}."""
    hypothesis = predictor.decode([text])[0][0]
    weights = hypothesis.attention  # (output characters + </s>, source characters)
    rows = {"year": [0, 1, 2, 3], "month": [5, 6], "day": [8, 9]}  # output positions in YYYY-MM-DD
    mass = {}
    for part, (first, last) in spans.items():
        mass[part] = float(weights[rows[part], first:last + 1].sum(axis=1).mean())
    return hypothesis.text, mass


spans = {"day": (9, 10), "month": (12, 20), "year": (22, 25)}  # in "mercredi 29 septembre 2021"
assert text[9:11] == "29" and text[12:21] == "septembre" and text[22:26] == "2021"
iso, mass = alignment(best, text, spans)
print(iso, {part: round(value, 3) for part, value in mass.items()})
RESULTS["attention_text"], RESULTS["attention_output"], RESULTS["attention_mass"] = text, iso, mass

# %% [markdown]
# Where next: `zoo train recipes/dates-bahdanau.json --workdir runs/dates --output my-dates` trains
# the same thing from the command line; notebook 07 exports a model for TF Serving.

# %%
if os.environ.get("ZOO_TUTORIAL_RESULTS"):
    with open(os.environ["ZOO_TUTORIAL_RESULTS"], "w") as f:
        json.dump(RESULTS, f, indent=2)
print(json.dumps(RESULTS, indent=1))
