"""Sequence-level knowledge distillation: a recipe's ``distill`` key trains on a teacher's outputs."""
import gzip
import json
import pathlib
import re
import shutil

import pytest

import zoo
from zoo import data, hub
from zoo.data import toy
from zoo.io import sha256_of
from zoo.training import distill
from zoo.training.train import load_recipe, train

from conftest import TOY_RECIPE


def _extra_sources_file(path, dev, test, train_sources):
    """Fresh digit strings, with blank lines, repeats and dev/test/train sources mixed in."""
    fresh = [s for s, _ in toy.make("reverse", 1500, seed=9)]
    lines = [dev[0], fresh[0], "", test[0], fresh[0], train_sources[0], *fresh[1:], dev[1]]
    with gzip.open(path, "wt", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    return fresh


@pytest.fixture(scope="module")
def distilled_run(toy_run, tmp_path_factory):
    """A student trained from scratch on the toy teacher's outputs (train sources + 1,000 extra)."""
    teacher_folder = str(toy_run[2] / "pretrained")
    workdir = tmp_path_factory.mktemp("distilled")
    dev, test = list(data.references("toy-reverse", "dev")), list(data.references("toy-reverse", "test"))
    train_sources = list(data.references("toy-reverse", "train"))
    fresh = _extra_sources_file(workdir / "extra.txt.gz", dev, test, train_sources)
    recipe = {**TOY_RECIPE, "name": "toy-student",
              "distill": {"teacher": teacher_folder, "extra_sources": str(workdir / "extra.txt.gz"),
                          "max_extra_sources": 1000}}
    student, metrics = train(recipe, workdir / "run", output=workdir / "pretrained", verbose=0, attention_examples=0)
    return student, metrics, recipe, workdir, fresh


def test_the_student_trains_on_the_teachers_outputs_of_train_and_extra_sources(toy_run, distilled_run):
    teacher = toy_run[0]
    _, metrics, recipe, workdir, fresh = distilled_run
    pairs = [tuple(line.split("\t")) for line in (workdir / "run" / "teacher.tsv").read_text().splitlines()]
    train_sources = list(data.references("toy-reverse", "train"))
    extra = [s for s in dict.fromkeys(fresh) if s not in data.references("toy-reverse", "train")
             and s not in data.references("toy-reverse", "dev") and s not in data.references("toy-reverse", "test")][:1000]
    sources = train_sources + extra
    assert [s for s, _ in pairs] == sources  # train sources, then extra ones in file order, no repeats
    assert [t for _, t in pairs] == teacher.predict(sources, beam_size=1)  # the teacher's outputs, mistakes included
    evaluation = set(data.references("toy-reverse", "dev")) | set(data.references("toy-reverse", "test"))
    assert not evaluation & {s for s, _ in pairs[len(train_sources):]}  # no extra source leaks dev or test
    references = data.references("toy-reverse", "train")
    agreement = 100.0 * sum(t in references[s] for s, t in pairs[:len(train_sources)]) / len(train_sources)
    assert metrics["distillation"] == {"teacher": recipe["distill"]["teacher"], "beam_size": 1,
                                       "train_sources": len(train_sources), "extra_sources": 1000,
                                       "too_long_for_teacher": 0, "pairs": len(sources),
                                       "train_agreement": round(agreement, 2)}


def test_the_distilled_student_learns_the_task_and_its_card_says_how(distilled_run):
    student, metrics, recipe, workdir, _ = distilled_run
    exact_match = 100.0 - metrics["test"]["wer"]  # scored on the dataset's own references
    print(f"\ntoy reverse, distilled student: test exact match {exact_match:.1f}%")
    assert exact_match >= 95.0
    assert student.predict(["12345"]) == ["5 4 3 2 1"]
    card = (workdir / "pretrained" / "README.md").read_text()
    assert "Distilled (sequence-level knowledge distillation" in card and "1,000 extra sources" in card
    assert json.loads((workdir / "pretrained" / "metrics.json").read_text())["distillation"] == metrics["distillation"]
    assert zoo.load(workdir / "pretrained").predict(["907"]) == student.predict(["907"])


def test_a_student_from_scratch_numbers_tokens_as_the_dataset_does_so_it_ensembles(toy_run, distilled_run):
    teacher_folder = toy_run[2] / "pretrained"
    student, _, _, workdir, _ = distilled_run
    teacher = zoo.load(teacher_folder)
    for side in ("source_tokenizer", "target_tokenizer"):  # the teacher trained on the dataset itself
        assert getattr(student, side).vocabulary.tokens == getattr(teacher, side).vocabulary.tokens
    pair = zoo.ensemble([teacher_folder, workdir / "pretrained"])
    assert pair.predict(["12345"]) == ["5 4 3 2 1"]


def test_the_teachers_outputs_are_decoded_once_and_reused(distilled_run, monkeypatch, tmp_path):
    _, metrics, recipe, workdir, _ = distilled_run
    before = (workdir / "run" / "teacher.tsv").read_text()
    for name in ("teacher.tsv", "teacher.json"):
        (tmp_path / name).write_text((workdir / "run" / name).read_text())
    cached = [tuple(line.split("\t")) for line in before.splitlines()]
    real_load, asked = distill._load_teacher, []

    def counting_teacher(teacher):  # the real teacher, recording what it is asked to decode
        loaded = real_load(teacher)
        predict = loaded.predict
        monkeypatch.setattr(loaded, "predict", lambda sources, **options: asked.extend(sources) or predict(sources, **options))
        return loaded

    monkeypatch.setattr(distill, "_load_teacher", counting_teacher)
    pairs, summary = distill.teacher_pairs(recipe, tmp_path)
    assert (pairs, summary, asked) == (cached, metrics["distillation"], [])  # the same config: read back

    fewer = {**recipe, "distill": {**recipe["distill"], "max_extra_sources": 10}}
    n_train = metrics["distillation"]["train_sources"]
    pairs, summary = distill.teacher_pairs(fewer, tmp_path)
    assert pairs == cached[:n_train + 10] and summary["extra_sources"] == 10 and asked == []  # nothing decoded
    pairs, summary = distill.teacher_pairs(recipe, tmp_path)  # back to 1,000: only the 990 dropped are decoded
    assert asked == [s for s, _ in cached[n_train + 10:]] and (pairs, summary) == (cached, metrics["distillation"])

    asked.clear()
    beam = {**recipe, "distill": {**recipe["distill"], "beam_size": 2, "alpha": 0.0}}
    pairs, summary = distill.teacher_pairs(beam, tmp_path)  # another decoding: everything afresh
    assert asked == [s for s, _ in cached] and summary["beam_size"] == 2
    assert json.loads((tmp_path / "teacher.json").read_text())["made_by"]["beam_size"] == 2
    assert (workdir / "run" / "teacher.tsv").read_text() == before


@pytest.mark.parametrize("damage, message", [
    (("teacher.json", '{"made_by": '), r"teacher.json: not valid JSON \(Expecting value"),
    (("teacher.json", '[]'), r"teacher.json: lacks made_by, summary\['teacher'\], summary\['beam_size'\]"),
    (("teacher.json", None), r"teacher.json: lacks summary\['beam_size'\], which zoo writes there"),
    (("teacher.tsv", "123\t3 2 1\n45 5 4\n"), r"teacher.tsv:2: expected 'source<TAB>target' with both non-empty, got '45 5 4'"),
    (("teacher.tsv", b"caf\xe9\t1\n"), r"teacher.tsv: not UTF-8 text"),
])
def test_damaged_cached_teacher_outputs_are_a_clear_error_and_left_in_place(distilled_run, tmp_path, damage, message):
    """A workdir's teacher.tsv / teacher.json (zoo's, or hand-made targets) that cannot be read is named,
    with what is wrong, before anything is decoded or overwritten."""
    recipe, workdir = distilled_run[2], distilled_run[3]
    for name in ("teacher.tsv", "teacher.json"):
        (tmp_path / name).write_bytes((workdir / "run" / name).read_bytes())
    name, content = damage
    if content is None:  # a summary without the beam it was decoded with
        about = json.loads((tmp_path / name).read_text())
        del about["summary"]["beam_size"]
        content = json.dumps(about)
    (tmp_path / name).write_bytes(content if isinstance(content, bytes) else content.encode())
    written = {n: (tmp_path / n).read_bytes() for n in ("teacher.tsv", "teacher.json")}
    with pytest.raises(ValueError, match=message):
        distill.teacher_pairs(recipe, tmp_path)
    assert {n: (tmp_path / n).read_bytes() for n in written} == written


def test_a_list_of_teachers_is_their_ensemble_decoding_with_the_recipes_beam(toy_run, tmp_path):
    teacher, _, workdir = toy_run
    folder = str(workdir / "pretrained")
    recipe = {**TOY_RECIPE, "distill": {"teacher": [folder, folder], "beam_size": 3, "alpha": 0.0}}
    pairs, summary = distill.teacher_pairs(recipe, tmp_path)
    sources = list(data.references("toy-reverse", "train"))
    assert pairs == list(zip(sources, teacher.predict(sources, beam_size=3, alpha=0.0)))  # 2 identical members
    assert summary["teacher"] == [folder, folder] and summary["beam_size"] == 3 and summary["alpha"] == 0.0


def test_sources_longer_than_the_teacher_accepts_are_left_out_and_counted(toy_run, tmp_path):
    teacher, _, workdir = toy_run
    (tmp_path / "extra.txt").write_text("9" * 17 + "\n98765\n")  # the toy teacher accepts up to 16 digits
    recipe = {**TOY_RECIPE, "distill": {"teacher": str(workdir / "pretrained"), "extra_sources": str(tmp_path / "extra.txt")}}
    pairs, summary = distill.teacher_pairs(recipe, tmp_path / "run")
    assert summary["extra_sources"] == 2 and summary["too_long_for_teacher"] == 1
    assert pairs[-1] == ("98765", teacher.predict(["98765"])[0]) and "9" * 17 not in dict(pairs)


def test_a_teacher_that_truncates_decodes_longer_sources_from_their_opening(toy_run, tmp_path):
    _, _, workdir = toy_run
    folder = tmp_path / "truncating-teacher"
    shutil.copytree(workdir / "pretrained", folder)
    config = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps({**config, "truncate_source": True}))
    hub.write_checksums(folder)
    teacher = zoo.load(folder)
    (tmp_path / "extra.txt").write_text("1234567890123456789\n98765\n")  # 19 digits: the teacher reads 16
    recipe = {**TOY_RECIPE, "distill": {"teacher": str(folder), "extra_sources": str(tmp_path / "extra.txt")}}
    pairs, summary = distill.teacher_pairs(recipe, tmp_path / "run")
    assert summary["too_long_for_teacher"] == 0
    options = {"beam_size": summary["beam_size"], **({"alpha": summary["alpha"]} if "alpha" in summary else {})}
    assert dict(pairs)["1234567890123456789"] == teacher.predict(["1234567890123456"], **options)[0]


@pytest.mark.parametrize("bad, message", [
    ("g2p-ensemble", "'distill' must be dict, got 'g2p-ensemble'"),
    ({"extra_sources": "x.txt"}, "'distill' must be a dict with 'teacher'"),
    ({"teacher": "t", "temperature": 2}, "'distill' must be a dict with 'teacher'"),
    ({"teacher": 3}, r"'distill'\['teacher'\] must be str or list"),
    ({"teacher": []}, r"'distill'\['teacher'\] must be a model name or folder, or a list of at least one"),
    ({"teacher": ["a", 2]}, r"'distill'\['teacher'\] must be a model name or folder, or a list"),
    ({"teacher": "t", "alpha": -1}, r"'distill'\['alpha'\] must be >= 0"),
    ({"teacher": "t", "beam_size": 0}, r"'distill'\['beam_size'\] must be >= 1"),
    ({"teacher": "t", "beam_size": True}, r"'distill'\['beam_size'\] must be int"),
    ({"teacher": "t", "extra_sources": "x", "max_extra_sources": 0}, r"'max_extra_sources'\] must be >= 1"),
    ({"teacher": "t", "max_extra_sources": 5}, "'max_extra_sources' needs 'extra_sources'"),
])
def test_a_bad_distill_key_is_a_clear_error(bad, message):
    with pytest.raises(ValueError, match=message):
        load_recipe({**TOY_RECIPE, "distill": bad})


def test_bad_teachers_and_source_files_are_clear_errors(toy_run, tmp_path):
    teacher = str(toy_run[2] / "pretrained")
    recipe = {**TOY_RECIPE, "distill": {"teacher": "no-such-model"}}
    with pytest.raises(ValueError, match=r"'distill'\['teacher'\]: Unknown model 'no-such-model'"):
        distill.teacher_pairs(recipe, tmp_path / "a")
    missing = {**TOY_RECIPE, "distill": {"teacher": teacher, "extra_sources": str(tmp_path / "nope.txt")}}
    with pytest.raises(FileNotFoundError, match="nope.txt' is not a file"):
        train(missing, tmp_path / "b", verbose=0)
    (tmp_path / "tab.txt").write_text("123\n45\t6\n")
    with pytest.raises(ValueError, match=r"tab.txt:2: a source may not hold a tab"):
        distill.read_sources(tmp_path / "tab.txt")
    (tmp_path / "bad.txt.gz").write_bytes(b"not gzip at all")
    with pytest.raises(ValueError, match="bad.txt.gz' is not UTF-8 text compressed with gzip"):
        distill.read_sources(tmp_path / "bad.txt.gz")
    (tmp_path / "latin1.txt").write_bytes("caf\xe9\n".encode("latin-1"))
    with pytest.raises(ValueError, match="latin1.txt' is not UTF-8 text"):
        distill.read_sources(tmp_path / "latin1.txt")
    assert not (tmp_path / "a" / "teacher.tsv").exists()


def test_the_committed_web2_transfer_set_matches_its_record_and_holds_no_cmudict_word():
    """recipes/transfer/web2-words.txt.gz: the checksum its README records, only lowercase a-z words
    of 2-32 letters, no repeats, and no word of any CMUdict split (dev and test must not leak)."""
    folder = pathlib.Path(__file__).resolve().parent.parent / "recipes" / "transfer"
    snapshot = folder / "web2-words.txt.gz"
    recorded = re.search(r"`web2-words\.txt\.gz`.*`([0-9a-f]{64})`", (folder / "README.md").read_text())
    assert recorded and sha256_of(snapshot) == recorded.group(1)
    words = distill.read_sources(snapshot)
    assert len(words) == len(set(words)) == 198_825
    assert all(re.fullmatch(r"[a-z]{2,32}", w) for w in words)
    assert not data.sources("cmudict").intersection(words)
    train, extra = distill.distillation_sources("cmudict", {"teacher": "t", "extra_sources": str(snapshot),
                                                            "max_extra_sources": 1000})
    assert extra == words[:1000] and len(train) == 113_362
