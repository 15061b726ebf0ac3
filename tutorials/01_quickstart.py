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
# # 01 · Quickstart: list, load, predict, look inside
#
# The zoo ships trained models in `pretrained/`, so everything here runs in seconds on a laptop CPU,
# with no download and no training. We will:
#
# 1. list the models and what their test figures promise;
# 2. load one in one line and turn strings into strings;
# 3. compare greedy decoding with beam search, and see why beam search exists;
# 4. read n-best lists with their scores, and what the scores mean;
# 5. look at the attention: which input characters the model read to write each output token.
#
# The notebook is executed by the test suite (`tests/test_tutorials.py`) with
# `ZOO_TUTORIAL_FAST=1`, which only shrinks the number of words scored in section 3.

# %%
import json
import math
import os

import numpy as np
import tensorflow as tf

import zoo
from zoo import hub
from zoo.data import cmudict
from zoo.decoding import BeamSearch, Sampling
from zoo.evaluation import sequence_scores

FAST = os.environ.get("ZOO_TUTORIAL_FAST") == "1"
RESULTS = {}  # values the test suite checks; written to $ZOO_TUTORIAL_RESULTS at the end
tf.get_logger().setLevel("ERROR")  # batches of other lengths retrace the decoder: expected, not worth a warning

# %% [markdown]
# ## 1. What is in the zoo
#
# `zoo.list_models()` lists the folders of `pretrained/`. Each one carries its `config.json` (the
# family and its hyper-parameters), its vocabularies, its weights, a model card (`README.md`) and a
# `metrics.json` written by the training run on the fixed test split. Reading the metrics *before*
# using a model tells you what to expect from it: a model's errors are part of its interface.

# %%
for name in zoo.list_models():
    folder = hub.resolve(name)
    config = json.loads((folder / "config.json").read_text())
    test = json.loads((folder / "metrics.json").read_text())["test"]
    key = zoo.data.get(config["dataset"]).selection  # the figure its dataset picks checkpoints by
    print(f"{name:23} family {config['family']:17} dataset {config['dataset']:19} "
          f"test {key} {test[key]:5.1f} on {test['count']} examples (greedy)")
RESULTS["models"] = zoo.list_models()

# %% [markdown]
# ## 2. Load and predict
#
# `zoo.load(name)` checks the SHA-256 of every file first (a damaged download fails loudly, naming
# the file, instead of giving subtly wrong answers), rebuilds the family from its config and loads the
# weights. The result is a `Predictor`: strings in, strings out. Tokenization happens inside
# TensorFlow, and decoding is one compiled loop that carries the RNN state from token to token, so the
# first call pays for compilation and the next ones are fast.
#
# `g2p-luong` turns English spellings into ARPAbet phonemes (the CMU Pronouncing Dictionary's
# alphabet; digits mark stress). `predict` decodes the way the model's card reports
# (`g2p.decoding`: beam search with 4 beams for `g2p-luong`), as `zoo predict` and the exported
# server do; any option passed to it (`beam_size=1` for greedy search) overrides that.

# %%
g2p = zoo.load("g2p-luong")
print(g2p.decoding)
words = ["hello", "world", "attention", "tensorflow"]
for word, phonemes in zip(words, g2p.predict(words)):
    print(f"{word:12} {phonemes}")

# %% [markdown]
# How good is that? The dictionary is the reference. `world` and `hello` are training words, so
# they test memory, not generalisation; the figures in section 1 come from test words the model never
# saw. Several pronunciations can be right (`hello` has two in the dictionary).

# %%
dictionary = {**cmudict.references("train"), **cmudict.references("dev"), **cmudict.references("test")}
for word in words:
    print(f"{word:12} dictionary: {' | '.join(dictionary.get(word, ['(not in the dictionary)']))}")
RESULTS["world"] = g2p.predict(["world"])[0]
RESULTS["world_reference"] = dictionary["world"]

# %% [markdown]
# Input is validated rather than guessed at: an empty string, a non-string or an over-long input is
# an error naming the culprit, while characters the model never saw (digits, emoji) become `<unk>`
# and still produce an answer.

# %%
try:
    g2p.predict(["hello", "   "])
except ValueError as error:
    print("ValueError:", error)

# %% [markdown]
# ## 3. Greedy decoding versus beam search
#
# A seq2seq decoder writes one token at a time. **Greedy** decoding takes the most probable token
# at every step and never looks back: one early mistake and the rest of the output is conditioned on
# it. **Beam search** keeps the `beam_size` most probable *partial* outputs at every step and only
# commits at the end, so it finds outputs whose *total* probability is higher, at `beam_size` times
# the work.
#
# We decode the same test words both ways, with `alpha=0` (no length penalty, so both searches
# maximise the same quantity: the sum of token log-probabilities, the `score`).

# %%
test_refs = cmudict.references("test")
sample = list(test_refs)[: 150 if FAST else 2000]
greedy = [h[0] for h in g2p.decode(sample, beam_size=1)]
beam = [h[0] for h in g2p.decode(sample, beam_size=4, alpha=0.0)]
references = [test_refs[w] for w in sample]
greedy_wer = sequence_scores([h.text for h in greedy], references)["wer"]
beam_wer = sequence_scores([h.text for h in beam], references)["wer"]
differ = [i for i in range(len(sample)) if greedy[i].text != beam[i].text]
not_worse = np.mean([b.score >= g.score - 1e-4 for g, b in zip(greedy, beam)])
print(f"{len(sample)} test words: word error rate greedy {greedy_wer:.1f} %, beam 4 {beam_wer:.1f} %")
print(f"beam search changed {len(differ)} outputs; its score is >= greedy's for {100 * not_worse:.1f} % of words")
for i in differ[:5]:
    print(f"  {sample[i]:14} greedy {greedy[i].text:22} ({greedy[i].score:6.2f})   "
          f"beam {beam[i].text:22} ({beam[i].score:6.2f})   dictionary {' | '.join(references[i])}")
RESULTS.update(greedy_wer=greedy_wer, beam_wer=beam_wer, beam_not_worse=float(not_worse), words_scored=len(sample))

# %% [markdown]
# Beam search almost always finds a higher-scoring output; whether that output is *right* is another
# matter: a better search only helps as much as the model's probabilities are right. When the gain in
# error rate is small, as it is for `g2p-luong` (see its card), the model's mistakes are mostly
# confident ones that no search can undo: the fix is a better model, not a wider beam.

# %% [markdown]
# A better model within reach is several models at once. The pretrained `g2p-ensemble` decodes with
# `g2p-luong`, `g2p-bahdanau`, `g2p-gru` and `g2p-bahdanau-bf16` together (`zoo.ensemble([...])`
# builds one from any models that share their vocabularies): at every step each member proposes a
# distribution over the next phoneme, carrying its own state, and the ensemble follows their average.
# Models trained apart make different mistakes, so the average undoes many of them. (`g2p-luong`
# itself learned from such an ensemble: its card tells how.)

# %%
ensemble = zoo.load("g2p-ensemble")
words = list(test_refs)[: 600 if FAST else 2000]
words_references = [test_refs[w] for w in words]
luong_wer = sequence_scores(g2p.predict(words, beam_size=1), words_references)["wer"]
ensemble_wer = sequence_scores(ensemble.predict(words, beam_size=1), words_references)["wer"]
print(f"{len(words)} test words, greedy: word error rate g2p-luong {luong_wer:.1f} %, g2p-ensemble {ensemble_wer:.1f} %")
print(f"hello: g2p-luong {g2p.predict(['hello'])[0]!r}, g2p-ensemble {ensemble.predict(['hello'])[0]!r}, "
      f"dictionary {' | '.join(dictionary['hello'])}")
RESULTS.update(luong_wer=luong_wer, ensemble_wer=ensemble_wer, ensemble_hello=ensemble.predict(["hello"])[0],
               hello_reference=dictionary["hello"])

# %% [markdown]
# ## 4. n-best lists and what the scores mean
#
# `decode` returns `Hypothesis` objects. With `n_best=k` you get the k best outputs of the beam,
# best first. `score` is the sum of the token log-probabilities, `</s>` included, so `exp(score)` is
# the probability the model gives to that exact output, and the probabilities of an n-best list sum
# to at most 1. `read` is a good test: English spells two words that way.

# %%
nbest = g2p.decode(["read"], strategy=BeamSearch(beam_size=8, alpha=0.0, n_best=4))[0]
for rank, h in enumerate(nbest, 1):
    print(f"{rank}. {h.text:14} score {h.score:7.3f}   probability {math.exp(h.score):.3f}")
print("dictionary:", " | ".join(dictionary["read"]))
RESULTS["read_nbest"] = [[h.text, h.score] for h in nbest]

# %% [markdown]
# With `alpha > 0` the beam ranks by a *length-normalised* score, `score / ((5 + length) / 6) ** alpha`
# (GNMT's length penalty), because a sum of log-probabilities favours short outputs: every extra token
# adds a negative term. Rankings can then differ from the raw scores. Sampling, the third strategy,
# draws outputs from the model's distribution instead of searching for the best; a seed makes it
# reproducible.

# %%
for h in g2p.decode(["read"], strategy=Sampling(temperature=1.0, seed=3, num_samples=4))[0]:
    print(f"sampled: {h.text:14} score {h.score:7.3f}")

# %% [markdown]
# ## 5. Attention: what the model looked at
#
# At every output step an attention model computes weights over the source tokens (they sum to 1)
# and reads a weighted average of the encoder's memory. Plotting them shows the alignment the model
# learned by itself, with no alignment ever given in training. Rows are output tokens (and `</s>`),
# columns input characters. For a pronunciation the map is nearly diagonal, since phonemes follow
# letters in order, and it skips the letters that make no sound of their own: the second `t`, the
# `i` of `-tion`, whose sound the model writes as `SH` while looking at the `t`.

# %%
fig = zoo.plot_attention(g2p, "attention", beam_size=4)
fig

# %%
hypothesis = g2p.decode(["attention"], beam_size=4)[0][0]
row_sums = hypothesis.attention.sum(axis=1)
print("attention shape (output tokens + </s>, source characters):", hypothesis.attention.shape)
print("every row sums to 1:", np.allclose(row_sums, 1.0, atol=1e-4))
RESULTS["attention_shape"] = list(hypothesis.attention.shape)
RESULTS["attention_rows_sum_to_one"] = bool(np.allclose(row_sums, 1.0, atol=1e-4))

# %% [markdown]
# The second model, `dates-bahdanau`, reads dates written in 8 languages and many formats and
# writes them in ISO 8601. Notebook 02 trains it from scratch. Its attention is easy to read: to
# write the year it looks at the year, to write the month it looks at the month name.

# %%
dates = zoo.load("dates-bahdanau")
examples = ["mercredi 29 septembre 2021", "9/29/21", "Mittwoch, 29. September 2021", "29 de setembro de 2021"]
for text, iso in zip(examples, dates.predict(examples)):
    print(f"{text:32} -> {iso}")
RESULTS["dates"] = dates.predict(examples)
zoo.plot_attention(dates, "mercredi 29 septembre 2021")

# %% [markdown]
# Where next: notebook 02 builds and trains `dates-bahdanau` step by step (data pipeline, teacher
# forcing, the loss sanity check, TensorBoard); notebook 07 exports a model for TF Serving.

# %%
if os.environ.get("ZOO_TUTORIAL_RESULTS"):
    with open(os.environ["ZOO_TUTORIAL_RESULTS"], "w") as f:
        json.dump(RESULTS, f, indent=2)
print(json.dumps(RESULTS, indent=1)[:2000])
