"""The copy toy task end to end: sentences of random words -> their first three words, most of them
outside the vocabulary. A pointer-generator learns it from zoo.training.train in one CPU minute; a Luong model
of the same size cannot (it can only emit vocabulary words), which is what copying is for."""
import json

import keras
import numpy as np
import pytest
import tensorflow as tf

import zoo
from zoo import decoding, export, hub
from zoo.data import toy_copy
from zoo.frontends import TextFrontend
from zoo.models import build
from zoo.predictor import Predictor
from zoo.text.tokenizer import Tokenizer
from zoo.text.vocab import UNK_ID, Vocabulary
from zoo.training.train import train

from toy_checks import check_export_answers_as_predict, saved_model_cli_run

RECIPE = {
    "name": "toy-copy", "dataset": "toy-copy", "family": "pointer_generator",
    "model": {"embedding_dim": 16, "encoder_units": 32, "units": 64, "max_oov": 10, "dropout": 0.0},
    "source_tokenizer": {"split": "whitespace"}, "target_tokenizer": {"split": "whitespace"},
    "max_source_length": 12, "max_target_length": 4, "batch_size": 64, "epochs": 2,
    "learning_rate": 0.01, "decay_from_epoch": 100, "decay_rate": 0.5, "clipnorm": 5.0, "seed": 1,
    "dev_examples": 300, "min_count": 5,  # the vocabulary: the 20 common words, hardly any random one
}
# Sentences none of whose random words any split holds.
FRESH = ["zebu the kofi and mapo lisen", "a karotu is bimu rasel", "vonapi dulek of the sarima"]


@pytest.fixture(scope="module")
def copy_run(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("toy-copy")
    predictor, metrics = train(dict(RECIPE), workdir, output=workdir / "pretrained", verbose=0,
                               attention_examples=0)
    return predictor, metrics, workdir


def test_pointer_generator_learns_to_copy_and_a_model_without_copy_cannot(copy_run, tmp_path):
    predictor, metrics, _ = copy_run
    vocabulary = predictor.target_tokenizer.vocabulary
    test = toy_copy.references("test")
    oov = sum(word not in vocabulary.tokens for targets in test.values() for word in targets[0].split())
    assert oov / (3 * len(test)) > 0.5  # most target words are outside the vocabulary
    print(f"\ntoy copy: pointer-generator test exact match {metrics['test']['exact_match']:.1f}% "
          f"(vocabulary {len(vocabulary)})")
    assert metrics["test"]["exact_match"] >= 95.0

    without_copy = {**RECIPE, "family": "luong", "epochs": 2,
                    "model": {"embedding_dim": 16, "encoder_units": 32, "units": 64, "dropout": 0.0}}
    _, luong = train(without_copy, tmp_path / "luong", verbose=0, attention_examples=0)
    print(f"toy copy: Luong (no copy) test exact match {luong['test']['exact_match']:.1f}%")
    assert luong["test"]["exact_match"] <= 20.0


def test_greedy_beam_and_n_best_copy_unseen_words(copy_run):
    predictor, _, _ = copy_run
    expected = [" ".join(s.split()[:3]) for s in FRESH]
    assert predictor.predict(FRESH) == expected
    assert predictor.predict(FRESH, beam_size=4) == expected
    n_best = predictor.decode(FRESH[:1], beam_size=4, n_best=3)[0]
    assert n_best[0].text == expected[0] and len({h.text for h in n_best}) == 3
    assert [h.score for h in n_best] == sorted((h.score for h in n_best), reverse=True)
    # score() reads the same copy distribution by teacher forcing
    np.testing.assert_allclose(predictor.score(FRESH[:1], [expected[0]]), [n_best[0].score], atol=1e-4)


def test_attention_points_at_the_copied_words(copy_run):
    predictor, _, _ = copy_run
    for sentence in FRESH:
        best = predictor.decode([sentence])[0][0]
        assert best.source_tokens == sentence.split()
        assert best.attention.shape == (4, len(best.source_tokens))  # 3 words + </s>
        assert list(best.attention[:3].argmax(axis=1)) == [0, 1, 2]


def test_saved_folder_loads_and_the_export_answers_as_predict(copy_run, tmp_path):
    _, _, workdir = copy_run
    loaded = zoo.load(workdir / "pretrained")
    assert loaded.predict(FRESH) == [" ".join(s.split()[:3]) for s in FRESH]
    check_export_answers_as_predict(workdir / "pretrained", FRESH, tmp_path)
    version = tmp_path / "exports" / "toy-copy" / "1"
    attention = saved_model_cli_run(version, "text", FRESH[:1], tmp_path / "attention", signature="attention")
    assert [t.decode() for t in attention["output_tokens"][0][:4]] == FRESH[0].split()[:3] + ["</s>"]
    assert list(attention["weights"][0, :3].argmax(axis=1)) == [0, 1, 2]


def test_extended_ids_number_a_sources_unknown_words_and_read_back():
    target = Tokenizer(Vocabulary(["the", "a"]), split="whitespace")
    source = Tokenizer(Vocabulary(["the", "a"]), split="whitespace")
    frontend = TextFrontend(source, 8, copy_vocabulary=target, max_oov=2)
    out = frontend.decode(tf.constant(["zebu the kofi zebu mapo", "a"]))
    size = len(target.vocabulary)
    np.testing.assert_array_equal(out["source_extended"].numpy(),
                                  [[size, 4, size + 1, size, UNK_ID], [5, 0, 0, 0, 0]])  # a 3rd new word: <unk>
    ids = tf.constant([[size + 1, 4, size, 2, 0], [size, 5, 2, 0, 0]])  # 'kofi the zebu </s>', an unused slot
    text = target.detokenize(ids, out["source_tokens"], out["source_extended"]).numpy()
    assert [t.decode() for t in text] == ["kofi the zebu", "<unk> a"]
    targets = frontend.extend_targets(target.tokenize(tf.constant(["kofi zebu nope", "a"])), out["source_tokens"],
                                      out["source_extended"])
    assert targets.to_list() == [[size + 1, size, UNK_ID], [5]]


def tiny_summarizer(truncate_source: bool) -> Predictor:
    """An untrained tiny pointer-generator with coverage over "words" tokenizers (a summarizer's kind) that reads
    4 source tokens."""
    source = Tokenizer(Vocabulary(["the", "a", "of", "(", ")", "."]), split="words")
    target = Tokenizer(Vocabulary(["the", "a", "of", "."]), split="words")
    keras.utils.set_random_seed(5)
    model = build("pointer_generator", {"source_vocab_size": len(source.vocabulary),
                                        "target_vocab_size": len(target.vocabulary), "embedding_dim": 6,
                                        "encoder_units": 5, "units": 8, "max_oov": 6, "coverage": True})
    return Predictor(model, source, target, max_source_length=4, max_target_length=6, truncate_source=truncate_source)


def test_a_truncating_model_reads_a_long_sources_opening_saved_loaded_and_served(tmp_path):
    long, opening = "zebu the kofi (mapo) of a lisen.", "zebu the kofi ("  # 10 tokens, the first 4
    strict = tiny_summarizer(truncate_source=False)
    with pytest.raises(ValueError, match=r"texts\[1\] has 10 tokens, more than this model's limit of 4"):
        strict.predict([opening, long])
    assert "truncate_source" not in json.loads((hub.save(strict, tmp_path / "strict", {}, "# card\n")
                                                / "config.json").read_text())
    folder = hub.save(tiny_summarizer(truncate_source=True), tmp_path / "tiny-summarizer", {}, "# card\n")
    assert json.loads((folder / "config.json").read_text())["truncate_source"] is True
    loaded = zoo.load(folder)
    assert loaded.frontend.truncate
    cut, whole = (n_best[0] for n_best in loaded.decode([long, opening]))
    assert cut.source_tokens == whole.source_tokens == opening.split() and cut.text == whole.text
    assert cut.score == pytest.approx(whole.score, abs=1e-5)
    # the graph export.export saves cuts as well: no error, predict's answer
    served = export.ServingModule(loaded, decoding.Greedy()).serve(tf.constant([long]))
    assert served["error"].numpy().tolist() == [b""] and served["outputs"].numpy()[0, 0].decode() == cut.text
    np.testing.assert_allclose(served["scores"].numpy()[0, 0], cut.score, atol=1e-5)
