"""Subword tokenization (SentencePiece) inside the graph: training, ids, round trips, SavedModels and
pretrained folders (zoo/text/subword.py, the "sentencepiece" split of zoo/text/tokenizer.py)."""
import json
import re

import numpy as np
import pytest
import sentencepiece
import tensorflow as tf
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import zoo
from zoo import data, export, hub
from zoo.text.subword import sentencepiece_tokenizer, train_sentencepiece, vocabulary_of
from zoo.text.tokenizer import SPACE_PIECE, Tokenizer
from zoo.text.vocab import END_ID, PAD_ID, RESERVED, START_ID, UNK, UNK_ID, Vocabulary

VOCAB_SIZE = 1000
# Unicode whitespace of every kind the tokenizer maps to a space (tests/test_text.py), and "▁" itself
SPACES = " \t\n\r\x0b\x0c\x1c\x85\u00a0\u1680\u2002\u2028\u2029\u3000" + SPACE_PIECE


@pytest.fixture(scope="module")
def pairs():
    return data.load("translation-en-es", "train")[:2000]


@pytest.fixture(scope="module")
def models(pairs):
    """SentencePiece models of the English and the Spanish side of 2,000 training pairs (~0.5 s each)."""
    return {"en": train_sentencepiece([en for en, _ in pairs], VOCAB_SIZE),
            "es": train_sentencepiece([es for _, es in pairs], VOCAB_SIZE)}


@pytest.fixture(scope="module")
def english(models):
    return sentencepiece_tokenizer(models["en"])


def texts(tokenizer, ids) -> list[str]:
    """(batch, None) ragged ids -> the in-graph detokenization, with </s> after each row."""
    padded = tf.concat([ids, tf.fill([ids.nrows(), 1], END_ID)], axis=1).to_tensor(PAD_ID)
    return [t.decode("utf-8") for t in tokenizer.detokenize(padded).numpy()]


def test_training_is_deterministic(pairs, models):
    english = [en for en, _ in pairs]
    assert train_sentencepiece(english, VOCAB_SIZE) == models["en"]  # same texts, same bytes
    assert train_sentencepiece(english[:500], 300, model_type="bpe") == train_sentencepiece(english[:500], 300,
                                                                                          model_type="bpe")
    assert train_sentencepiece(english, VOCAB_SIZE - 1) != models["en"]
    assert len(vocabulary_of(models["en"])) == len(vocabulary_of(models["es"])) == VOCAB_SIZE
    assert b"rules.tsv" not in models["en"]  # no temporary path in the proto


def test_reserved_ids_coincide_and_table_ids_are_sentencepiece_ids(pairs, models, english):
    processor = sentencepiece.SentencePieceProcessor(model_proto=models["en"])
    assert (processor.pad_id(), processor.bos_id(), processor.eos_id(), processor.unk_id()) == (
        PAD_ID, START_ID, END_ID, UNK_ID)
    assert tuple(english.vocabulary.tokens[:4]) == RESERVED
    assert english.vocabulary.tokens == [processor.id_to_piece(i) for i in range(processor.get_piece_size())]
    sentences = [en for en, _ in pairs[:200]] + ["Zebras 😀 quickly jumped.", "xyzzy ©"]
    assert english.encode(tf.constant(sentences)).to_list() == processor.encode(sentences)
    assert english.get_config() == {"split": "sentencepiece", "lowercase": False}  # JSON, no model bytes


def test_round_trip_text_ids_text_on_real_sentences(pairs, models):
    for side, language in enumerate(("en", "es")):
        tokenizer = sentencepiece_tokenizer(models[language])
        sentences = [pair[side] for pair in pairs]
        ids = tokenizer.encode(tf.constant(sentences))
        assert texts(tokenizer, ids) == [" ".join(s.split()) for s in sentences]  # every character is known
        lengths = ids.row_lengths().numpy()
        words = np.array([len(s.split()) for s in sentences])
        # subwords: whole words, their parts, punctuation
        assert (lengths >= words).all() and lengths.mean() < 2 * words.mean()
    # unseen sentences: the same text, but for the characters the 2,000 pairs never hold
    english = sentencepiece_tokenizer(models["en"])
    dev = [en for en, _ in data.load("translation-en-es", "dev")[:300]]
    assert texts(english, english.encode(tf.constant(dev))) == [expected(english, s) for s in dev]


def known_characters(tokenizer) -> set[str]:
    return {piece for piece in tokenizer.vocabulary.tokens[len(RESERVED):] if len(piece) == 1} - {SPACE_PIECE}


def expected(tokenizer, text) -> str:
    """The round trip's text: ``normalize`` (invalid UTF-8 -> U+FFFD, Unicode whitespace -> spaces,
    trimmed, [case-folded]), "▁" as a space, runs of spaces as one, trimmed, and each run of
    characters the model lacks (neither a space nor a one-character piece) as "<unk>"."""
    normalized = tokenizer.normalize(tf.constant([text])).numpy()[0].decode("utf-8")
    collapsed = re.sub(" +", " ", normalized.replace(SPACE_PIECE, " ")).strip(" ")
    known = "".join(sorted(known_characters(tokenizer)))
    return re.sub("[^ " + re.escape(known) + "]+", UNK, collapsed)


@pytest.fixture(scope="module")
def alphabet(english):
    return sorted(known_characters(english))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                HealthCheck.function_scoped_fixture])
@given(drawn=st.data())
def test_any_text_tokenizes_and_round_trips_modulo_normalization_and_unknowns(english, alphabet, drawn):
    """Property: for any input (Unicode text of any characters, whitespace of every kind, emoji, or
    bytes that are not UTF-8), ``encode`` never raises, gives ids in [3, V) (<unk> and pieces, never
    <pad>/<s>/</s>), and ``detokenize(encode(x) + </s>) == expected(x)`` (see ``expected``), which
    ``Tokenizer.join`` of ``detokenize_tokens`` equals too."""
    pieces = st.one_of(st.sampled_from(alphabet), st.sampled_from(SPACES), st.characters(),
                       st.sampled_from(["😀", "👍🏽", "\U0001F1EA\U0001F1F8", "<s>", "</s>", "<unk>", "<pad>",
                                        "\0"]))
    strings = drawn.draw(st.lists(st.one_of(st.lists(pieces, max_size=40).map("".join), st.binary(max_size=40)),
                                 min_size=1, max_size=6))
    ids = english.encode(tf.constant(strings))
    assert all(UNK_ID <= i < len(english.vocabulary) for row in ids.to_list() for i in row)
    decoded = texts(english, ids)
    assert decoded == [expected(english, s) for s in strings]
    tokens = english.detokenize_tokens(tf.concat([ids, tf.fill([ids.nrows(), 1], END_ID)], axis=1).to_tensor(PAD_ID))
    assert [english.join([t.decode("utf-8") for t in row]) for row in tokens.to_list()] == decoded


def test_unknown_characters_keep_their_text_as_source_tokens(english):
    tokens = english.tokenize(tf.constant(["Hello 😀😀 world"])).to_list()[0]
    assert b"\xf0\x9f\x98\x80" * 2 in tokens  # one piece for the run, what a copy model would copy
    ids = english.lookup(tf.ragged.constant([tokens])).to_list()[0]
    assert ids[tokens.index(b"\xf0\x9f\x98\x80" * 2)] == UNK_ID
    assert english.tokenize(tf.constant(["", " \u3000\t", SPACE_PIECE])).to_list() == [[], [], []]


def test_lowercase_models_train_on_folded_text(pairs):
    model = train_sentencepiece([en for en, _ in pairs[:500]], 400, lowercase=True)
    assert not any(piece != piece.lower() for piece in vocabulary_of(model).tokens[len(RESERVED):])
    folded = sentencepiece_tokenizer(model, lowercase=True)
    assert texts(folded, folded.encode(tf.constant(["In THE Beginning"]))) == ["in the beginning"]


def test_bad_models_and_arguments_are_refused(pairs, models, english):
    with pytest.raises(ValueError, match="needs its SentencePiece model"):
        Tokenizer(english.vocabulary, split="sentencepiece")
    with pytest.raises(ValueError, match="for split 'sentencepiece' only"):
        Tokenizer(Vocabulary(["a"]), split="chars", model=models["en"])
    with pytest.raises(ValueError, match="not the SentencePiece model's"):
        Tokenizer(vocabulary_of(models["es"]), split="sentencepiece", model=models["en"])
    with pytest.raises(ValueError, match="not a SentencePiece model proto"):
        vocabulary_of(b"not a model")
    with pytest.raises(ValueError, match="fixes \\['byte_fallback'\\]"):
        train_sentencepiece(["a b c"], 10, byte_fallback=True)
    with pytest.raises(ValueError, match="at least one text"):
        train_sentencepiece(["", " \t"], 10)
    with pytest.raises(ValueError, match="vocab_size"):
        train_sentencepiece(["a b c"], 4)

    def spm(**options) -> bytes:
        import io

        writer = io.BytesIO()
        sentencepiece.SentencePieceTrainer.train(sentence_iterator=iter([en for en, _ in pairs[:300]]),
                                                 model_writer=writer, vocab_size=400, num_threads=1, minloglevel=2,
                                                 **options)
        return writer.getvalue()

    with pytest.raises(ValueError, match="must reserve ids 0..3"):  # SentencePiece's defaults: unk 0, bos 1, eos 2
        vocabulary_of(spm())
    reserved = dict(pad_id=0, bos_id=1, eos_id=2, unk_id=3, pad_piece="<pad>", bos_piece="<s>", eos_piece="</s>",
                    unk_piece="<unk>")
    with pytest.raises(ValueError, match="byte-fallback"):
        vocabulary_of(spm(byte_fallback=True, **reserved))
    assert vocabulary_of(spm(**reserved)).tokens[:4] == list(RESERVED)  # NFKC models are accepted


class Served(tf.Module):
    def __init__(self, tokenizer):
        super().__init__()
        self.tokenizer = tokenizer

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string)])
    def round_trip(self, text):
        ids = self.tokenizer.encode(text)
        padded = tf.concat([ids, tf.fill([ids.nrows(), 1], END_ID)], axis=1).to_tensor(PAD_ID)
        return {"ids": padded, "pieces": self.tokenizer.tokenize(text).to_tensor(""),
                "text": self.tokenizer.detokenize(padded)}


def test_saved_model_round_trip_and_the_model_server_has_the_ops(english, tmp_path):
    module = Served(english)
    inputs = tf.constant(["In the beginning God created the heaven and the earth.", "héllo  wörld 😀\u00a0!",
                          b"bad \xff bytes", ""])
    before = {key: value.numpy() for key, value in module.round_trip(inputs).items()}
    tf.saved_model.save(module, str(tmp_path / "model"), signatures={"serving_default": module.round_trip})
    del module
    loaded = tf.saved_model.load(str(tmp_path / "model"))
    for after in (loaded.round_trip(inputs), loaded.signatures["serving_default"](text=inputs)):
        for key, value in before.items():
            np.testing.assert_array_equal(after[key].numpy(), value)
    assert before["text"][0] == b"In the beginning God created the heaven and the earth."
    ops = export.check_serving_ops(tmp_path / "model")
    assert "SentencepieceTokenizeOp" in ops and "SentencepieceOp" in ops


SUBWORD_RECIPE = {
    "name": "toy-subword", "family": "luong",
    "model": {"embedding_dim": 64, "encoder_units": 64, "units": 128, "score": "general", "dropout": 0.0},
    "source_tokenizer": {"split": "sentencepiece", "lowercase": False, "vocab_size": 200},
    "target_tokenizer": {"split": "sentencepiece", "lowercase": False, "vocab_size": 200, "model_type": "bpe"},
    "max_source_length": 64, "max_target_length": 64, "batch_size": 25, "epochs": 50,
    "learning_rate": 0.01, "decay_from_epoch": 100, "decay_rate": 0.5, "clipnorm": 5.0, "seed": 1,
    "dev_examples": 50,
}


@pytest.fixture(scope="module")
def fifty_pairs():
    """50 training pairs of both corpora, 20-60 English characters (a fixed shuffle)."""
    short = [(en, es) for en, es in data.load("translation-en-es", "train")
             if 20 <= len(en) <= 60 and len(es) <= 70 and "\t" not in en + es]
    return [short[i] for i in np.random.default_rng(0).permutation(len(short))[:50]]


def train_on_fifty_pairs(fifty_pairs, folder, epochs: int):
    """SUBWORD_RECIPE trained for ``epochs`` through ``zoo train``'s function on a folder dataset whose
    three splits are the 50 pairs, into a pretrained folder -> (recipe, Predictor, workdir)."""
    from zoo.training.train import train

    for split in ("train", "dev", "test"):
        (folder / f"{split}.tsv").write_text("".join(f"{en}\t{es}\n" for en, es in fifty_pairs), encoding="utf-8")
    recipe = {**SUBWORD_RECIPE, "dataset": str(folder), "epochs": epochs}
    workdir = folder / "run"
    predictor, _ = train(recipe, workdir, output=workdir / "model", verbose=0, attention_examples=0)
    return recipe, predictor, workdir


@pytest.fixture(scope="module")
def subword_run(fifty_pairs, tmp_path_factory):
    """A small Luong model trained on 50 English -> Spanish pairs until it knows them by heart (50 epochs
    of 2 batches, ~150 s on 2 cores; it reached dev BLEU 100 at epochs 35-40)."""
    return train_on_fifty_pairs(fifty_pairs, tmp_path_factory.mktemp("toy-subword"), SUBWORD_RECIPE["epochs"])


def test_a_small_model_learns_fifty_pairs_by_heart(fifty_pairs, subword_run):
    import sacrebleu

    _, predictor, workdir = subword_run
    sources, references = zip(*fifty_pairs)
    for beam_size in (1, 4):
        outputs = predictor.predict(list(sources), beam_size=beam_size)
        assert sacrebleu.corpus_bleu(outputs, [list(references)]).score >= 90, (beam_size, outputs[:3])
    metrics = json.loads((workdir / "model" / "metrics.json").read_text())
    assert metrics["test"]["bleu"] >= 90, metrics


def test_a_recipe_trains_subword_tokenizers_into_the_pretrained_folder(subword_run):
    recipe, predictor, workdir = subword_run
    folder = workdir / "model"
    config = json.loads((folder / "config.json").read_text())
    assert config["source_tokenizer"] == {"split": "sentencepiece", "lowercase": False}  # no training keys
    listed = [line.split("  ")[1] for line in (folder / hub.CHECKSUMS).read_text().splitlines()]
    assert listed == ["config.json", "model.weights.h5", "source_vocab.txt", "source_spm.model", "target_vocab.txt",
                      "target_spm.model", "metrics.json", "README.md"]
    assert set(listed) == {p.name for p in folder.iterdir()} - {hub.CHECKSUMS}
    loaded = zoo.load(folder)
    for side in ("source_tokenizer", "target_tokenizer"):
        ours, theirs = getattr(loaded, side), getattr(predictor, side)
        assert ours.model == theirs.model == (folder / f"{side.split('_')[0]}_spm.model").read_bytes()
        assert ours.vocabulary == theirs.vocabulary == vocabulary_of(ours.model)
        assert len(ours.vocabulary) <= 200
    assert hub.differing_tokenizer(loaded, predictor) is None
    sources = ["The book is open.", "Save the file"]
    hypotheses = loaded.decode(sources, beam_size=2)
    assert [h[0].text for h in hypotheses] == [h[0].text for h in predictor.decode(sources, beam_size=2)]
    assert all(isinstance(text, str) for text in loaded.predict(sources))
    # the resumed run reads the work folder's tokenizers back (the ids it trained with); fine-tuning
    # (a recipe with its "vocab_size"s) keeps the initial model's
    from zoo.training.train import load_initial_model, training_data

    _, _, source, target = training_data(recipe, workdir)
    assert source.model == predictor.source_tokenizer.model and target.model == predictor.target_tokenizer.model
    init = load_initial_model({**recipe, "init_from": str(folder)})
    _, _, source, target = training_data(recipe, workdir.parent / "fine-tune", init)
    assert source.model == predictor.source_tokenizer.model and target.model == predictor.target_tokenizer.model
    with pytest.raises(ValueError, match="differs from the recipe in \\['source_tokenizer'\\]"):
        load_initial_model({**recipe, "init_from": str(folder), "source_tokenizer": {"split": "chars"}})
    (folder / "target_spm.model").write_bytes(b"tampered")
    with pytest.raises(hub.ChecksumError, match="target_spm.model is corrupted"):
        zoo.load(folder)


def test_the_final_evaluation_reports_each_part_and_the_baseline_and_the_card_shows_them(fifty_pairs, subword_run,
                                                                                         tmp_path):
    from zoo.data.dataset import Dataset
    from zoo.evaluation import baseline_model1, evaluate_recipe
    from zoo.packaging.card import model_card

    _, predictor, _ = subword_run
    parts = []
    for index, rows in enumerate((fifty_pairs[:30], fifty_pairs[30:])):  # two "corpora" of the 50 pairs
        folder = tmp_path / f"part{index}"
        folder.mkdir()
        for split in ("train", "dev", "test"):
            (folder / f"{split}.tsv").write_text("".join(f"{en}\t{es}\n" for en, es in rows), encoding="utf-8")
        parts.append(str(folder))

    def references(split):
        return {source: targets for part in parts for source, targets in data.references(part, split).items()}

    combined = data.register(Dataset(name=f"fifty-pairs-{tmp_path.name}", references=references,
                                     metrics={"bleu": "bleu", "chrf": "chrf"}, selection="bleu", parts=parts,
                                     baseline="model1"))
    recipe = {**SUBWORD_RECIPE, "dataset": combined.name}
    metrics = evaluate_recipe(predictor, recipe, epochs=recipe["epochs"])
    assert metrics["test"]["count"] == 50
    assert [metrics["parts"][part]["beam"]["count"] for part in parts] == [30, 20]
    assert all(metrics["parts"][part]["beam"]["bleu"] >= 90 for part in parts), metrics["parts"]
    for part in parts:  # the baseline as its own command computes it, on each part
        expected = baseline_model1.evaluate(part, "test")
        assert {key: metrics["baseline"][part][key] for key in ("bleu", "chrf", "count")} == \
            {key: expected[key] for key in ("bleu", "chrf", "count")}
    assert metrics["baseline"]["name"] == "model1" and metrics["baseline"][parts[0]]["bleu"] < 90
    card = model_card(recipe, metrics)
    assert "| dataset | examples | BLEU greedy | BLEU beam | BLEU model1 | chrF greedy | chrF beam | chrF model1 |" in card
    row = next(line for line in card.splitlines() if line.startswith(f"| {parts[1]} | 20 | "))
    assert f"{metrics['baseline'][parts[1]]['chrf']:.2f} |" in row
    with pytest.raises(ValueError, match="unknown baseline 'none'"):
        evaluate_recipe(predictor, {**recipe, "dataset": data.register(Dataset(
            name=f"no-baseline-{tmp_path.name}", references=references, metrics={"bleu": "bleu"}, selection="bleu",
            baseline="none")).name})


def test_a_trained_baseline_model_is_decoded_with_the_same_beam_and_shown_in_the_card(subword_run):
    """``baseline_model`` (an ablation shipped as its own pretrained model): with the run's own folder as its
    baseline, the baseline's test figures are exactly the beam's (same weights, same beam of the recipe's
    ``beam_size``); the card names it and how to reproduce it; a missing one is a clear error."""
    from zoo.evaluation import evaluate_recipe
    from zoo.packaging.card import model_card

    recipe, predictor, workdir = subword_run
    folder = hub.save(predictor, workdir / "baseline", {}, "The run's own model, as its own baseline.\n")
    recipe = {**recipe, "beam_size": 3, "baseline_model": str(folder)}  # (another test damages run/model)
    metrics = evaluate_recipe(predictor, recipe, epochs=recipe["epochs"])
    assert metrics["beam"]["strategy"]["beam_size"] == 3
    assert metrics["baseline"] == {"name": recipe["baseline_model"], "trained": True,
                                   recipe["dataset"]: {**metrics["beam"]["test"],
                                                       "seconds": metrics["baseline"][recipe["dataset"]]["seconds"]}}
    card = model_card(recipe, metrics)
    assert f"| WER % greedy | WER % beam | WER % {recipe['baseline_model']} |" in card  # a files dataset: WER
    row = next(line for line in card.splitlines() if line.startswith(f"| {recipe['dataset']} | 50 | "))
    assert row.count(f" {metrics['beam']['test']['wer']:.2f} |") >= 2  # the beam's and the baseline's
    assert f"`zoo evaluate {recipe['baseline_model']}`" in card
    with pytest.raises(ValueError, match="Recipe key 'baseline_model': 'no-such-model' is neither"):
        evaluate_recipe(predictor, {**recipe, "baseline_model": "no-such-model"})


def test_attention_maps_are_labelled_with_pieces_in_tensorboard_and_plots(fifty_pairs, subword_run, tmp_path):
    from test_attention_maps import png_pixels, summaries
    from zoo.training.callbacks import AttentionMapLogger

    _, predictor, _ = subword_run
    source, reference = fifty_pairs[0]
    hypothesis = predictor.decode([source], beam_size=4)[0][0]
    pieces = sentencepiece.SentencePieceProcessor(model_proto=predictor.source_tokenizer.model).encode(source, out_type=str)
    assert hypothesis.source_tokens == pieces and hypothesis.source_tokens[0].startswith(SPACE_PIECE)
    assert predictor.target_tokenizer.join(hypothesis.tokens) == hypothesis.text == reference
    figure = zoo.plot_attention(predictor, source, beam_size=4)
    heatmap = figure.axes[0]
    assert [t.get_text() for t in heatmap.get_xticklabels()] == pieces
    assert [t.get_text() for t in heatmap.get_yticklabels()] == hypothesis.tokens + ["</s>"]
    logger = AttentionMapLogger(predictor, [source], tmp_path, beam_size=4)
    logger.on_train_begin()
    logger.on_epoch_end(0)
    logger.on_train_end()
    logged = summaries(tmp_path)
    assert png_pixels(logged["attention/00"][1][0][1]).shape[-1] == 3
    table = logged["predictions"][1][0][1]
    assert table[1, 1].decode("utf-8").replace("\\", "") == reference


@pytest.fixture(scope="module")
def babbling(fifty_pairs, tmp_path_factory):
    """The tiny model after one epoch, with random weights (it says long strings of pieces: one epoch of
    training says none), as a pretrained folder, and its export: (folder, Predictor, served outputs of
    SOURCES, greedy)."""
    _, predictor, _ = train_on_fifty_pairs(fifty_pairs, tmp_path_factory.mktemp("toy-subword-1"), 1)
    folder = tmp_path_factory.mktemp("babbling")
    rng = np.random.default_rng(0)
    predictor.model.trainer.set_weights([rng.normal(0, 0.6, w.shape).astype(w.dtype)
                                         for w in predictor.model.trainer.get_weights()])
    hub.save(predictor, folder / "model", {}, "A tiny subword model with random weights.\n")
    version = export.export(folder / "model", folder / "exports", examples=SOURCES[:2])  # checks the ops
    served = tf.saved_model.load(str(version)).signatures["serving_default"](text=tf.constant(SOURCES))
    return folder / "model", zoo.load(folder / "model"), [t.decode("utf-8") for t in served["outputs"].numpy()[:, 0]]


SOURCES = ["The book is open.", "Save the file", "Go", "Hello 😀 wörld\u00a0!"]


def test_the_export_detokenizes_as_join_does(babbling):
    _, loaded, served = babbling
    tokens = [n_best[0].tokens for n_best in loaded.decode(SOURCES)]
    assert all(len(row) > 5 for row in tokens)
    assert served == [loaded.target_tokenizer.join(row) for row in tokens]
    assert all(SPACE_PIECE not in text and text == text.strip() and "  " not in text for text in served)


def test_predict_gives_the_exports_text(babbling):
    _, loaded, served = babbling
    assert loaded.predict(SOURCES) == served


def test_recipe_tokenizer_keys_are_checked():
    from zoo.training.train import load_recipe

    recipe = {**SUBWORD_RECIPE, "dataset": "toy-reverse"}
    assert load_recipe(recipe) == recipe
    with pytest.raises(ValueError, match="needs a \"vocab_size\""):
        load_recipe({**recipe, "source_tokenizer": {"split": "sentencepiece"}})
    with pytest.raises(ValueError, match="are for \"split\": \"sentencepiece\" only"):
        load_recipe({**recipe, "source_tokenizer": {"split": "chars", "vocab_size": 100}})
    with pytest.raises(ValueError, match="model_type"):
        load_recipe({**recipe, "target_tokenizer": {"split": "sentencepiece", "vocab_size": 100, "model_type": "word"}})
