"""The `zoo` command as a user runs it: in a fresh process where start-up, exit status and the absence of
a traceback are the point, else through ``zoo.cli.main`` in this process."""
import io
import json
import os
import re
import subprocess
import sys

import pytest

import zoo
from zoo import hub
from zoo.cli import main as zoo_main


def zoo_cli(*args, stdin: str | None = None, env: dict | None = None):
    """The command in a fresh process, as a user's shell runs it (TensorFlow's start-up included)."""
    return subprocess.run([sys.executable, "-m", "zoo.cli", *args], input=stdin, capture_output=True, text=True,
                          timeout=600, env=None if env is None else {**os.environ, **env})


def run_main(capsys, monkeypatch, *args, stdin: str | None = None) -> subprocess.CompletedProcess:
    """``zoo.cli.main`` in this process (a fresh process costs seconds of TensorFlow start-up), with what
    it printed; the fresh-process behaviour (exit status, no traceback) has tests of its own."""
    if stdin is not None:
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    capsys.readouterr()
    code = zoo_main(list(args))
    out = capsys.readouterr()
    return subprocess.CompletedProcess(args, code, out.out, out.err)


def test_list_and_predict_print_words_phonemes_and_scores(capsys, monkeypatch):
    assert "g2p-luong" in run_main(capsys, monkeypatch, "list").stdout
    out = run_main(capsys, monkeypatch, "predict", "g2p-luong", "hello", "world")
    assert out.returncode == 0, out.stderr
    rows = [line.split("\t") for line in out.stdout.strip().splitlines()]
    assert [r[0] for r in rows] == ["hello", "world"]
    assert [r[1] for r in rows] == zoo.load("g2p-luong").predict(["hello", "world"])  # what the API gives
    assert all(-5.0 < float(r[2]) <= 0.0 for r in rows)


def test_predict_reads_one_text_per_line_from_standard_input(capsys, monkeypatch):
    words = "hello\n\nworld\r\n  \nread\n"  # blank and whitespace-only lines are skipped
    out = zoo_cli("predict", "g2p-luong", "-", stdin=words)
    assert out.returncode == 0, out.stderr
    rows = [line.split("\t") for line in out.stdout.strip().splitlines()]
    assert [r[0] for r in rows] == ["hello", "world", "read"]
    assert [r[1] for r in rows] == zoo.load("g2p-luong").predict(["hello", "world", "read"])
    out = run_main(capsys, monkeypatch, "predict", "g2p-luong", "-", stdin="\n \n")
    assert out.returncode == 2 and "standard input holds no text" in out.stderr


def test_evaluate_reproduces_the_recorded_test_figures(capsys, monkeypatch):
    recorded = json.loads((hub.resolve("g2p-luong") / "metrics.json").read_text())
    out = run_main(capsys, monkeypatch, "evaluate", "g2p-luong", "--split", "test")  # greedy, then the card's beam
    assert out.returncode == 0, out.stderr
    print(out.stdout)
    greedy, beam = out.stdout.strip().splitlines()
    assert "(greedy)" in greedy and "(beam 4)" in beam
    for line, figures in ((greedy, recorded["test"]), (beam, recorded["beam"]["test"])):
        wer, per = float(line.split("WER ")[1].split("%")[0]), float(line.split("PER ")[1].split("%")[0])
        assert abs(wer - figures["wer"]) <= 0.5 and abs(per - figures["per"]) <= 0.5, line
        view = line.split("[no_stress: ")[1]  # the benchmark's scoring, printed beside the strict one
        wer, per = float(view.split("WER ")[1].split("%")[0]), float(view.split("PER ")[1].split("%")[0])
        assert abs(wer - figures["no_stress"]["wer"]) <= 0.5 and abs(per - figures["no_stress"]["per"]) <= 0.5, line


def test_errors_are_one_clear_line_not_a_traceback(tmp_path, capsys, monkeypatch):
    out = zoo_cli("train", "g2p-luong", "--workdir", str(tmp_path / "run"), "--init-from", "no-such-model")
    assert out.returncode == 2 and "'init_from': 'no-such-model' is neither" in out.stderr and "Traceback" not in out.stderr
    assert not (tmp_path / "run").exists()  # nothing written before the recipe is known to be valid
    out = run_main(capsys, monkeypatch, "predict", "no-such-model", "hi")
    assert out.returncode == 2 and out.stderr.startswith("zoo predict: error: Unknown model 'no-such-model'")
    out = run_main(capsys, monkeypatch, "predict", "g2p-luong", " ")
    assert out.returncode == 2 and "texts[0] is empty or only whitespace" in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1
    out = run_main(capsys, monkeypatch, "train", "g2p-luong", "--workdir", str(tmp_path / "run"), "--precision", "float16")
    assert out.returncode == 2 and "'precision' must be one of" in out.stderr
    out = zoo_cli("train", "g2p-gru", "--workdir", str(tmp_path / "run"), "--mirrored",
                  env={"KERAS_BACKEND": "jax", "XLA_FLAGS": "--xla_force_host_platform_device_count=3"})
    assert out.returncode == 2 and "'batch_size': 256 must be a multiple of the 3 devices" in out.stderr
    assert "Traceback" not in out.stderr and not (tmp_path / "run").exists()
    several = ("train", "g2p-gru", "--workdir", str(tmp_path / "run"), "--coordinator")
    for args, message in ((("localhost:1234",), "--coordinator, --processes and --process-id go together"),
                          (("localhost:1234", "--processes", "1", "--process-id", "0"), "--processes must be an integer >= 2"),
                          (("localhost:1234", "--processes", "2", "--process-id", "2"), "--process-id must be an integer in [0, 1]"),
                          (("1234", "--processes", "2", "--process-id", "0"), "--coordinator must be HOST:PORT"),
                          (("localhost:1234", "--processes", "2", "--process-id", "0"), "needs KERAS_BACKEND=jax")):
        out = run_main(capsys, monkeypatch, *several, *args)
        assert out.returncode == 2 and message in out.stderr and len(out.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "run").exists()


def test_predict_and_evaluate_rerank_with_other_models(capsys, monkeypatch):
    def cli(*args):
        return run_main(capsys, monkeypatch, *args)

    out = cli("predict", "g2p-luong", "hello", "--beam", "4", "--n-best", "2", "--rescore", "g2p-gru=0.2",
              "--rescore", "g2p-bahdanau=0.2")
    assert out.returncode == 0, out.stderr
    rows = [line.split("\t") for line in out.stdout.strip().splitlines()]
    assert len(rows) == 2 and float(rows[0][2]) >= float(rows[1][2])  # ranked by the combined score
    out = cli("evaluate", "g2p-luong", "--split", "dev", "--max-examples", "200", "--rescore", "g2p-gru=0.2")
    assert out.returncode == 0, out.stderr
    assert "(beam 4 reranked by g2p-gru x0.2): WER" in out.stdout and len(out.stdout.strip().splitlines()) == 3
    for bad in ("g2p-gru=-1", "g2p-gru=x", "=1"):
        with pytest.raises(SystemExit) as exit_status:  # argparse's own refusal: status 2, usage and one line
            cli("predict", "g2p-luong", "hello", "--beam", "4", "--rescore", bad)
        assert exit_status.value.code == 2 and "expected NAME or NAME=WEIGHT" in capsys.readouterr().err
    out = cli("predict", "g2p-luong", "hello", "--beam", "4", "--rescore", "no-such-model")
    assert out.returncode == 2 and "Unknown model 'no-such-model'" in out.stderr


def test_predict_prints_only_the_answer_in_a_clean_environment(tmp_path):
    # What a first-time user runs (`make demo`, `.venv/bin/zoo predict ...`): no TF_CPP_MIN_LOG_LEVEL, nothing
    # else set. TensorFlow's start-up lines (absl's banner, "oneDNN custom operations are on", no CUDA driver,
    # "failed call to cuInit", oneDNN's DT_BOOL notice) read as failures; oneDNN itself stays on.
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path), "LANG": "C.UTF-8"}
    out = subprocess.run([sys.executable, "-m", "zoo.cli", "predict", "g2p-luong", "hello"], capture_output=True,
                         text=True, timeout=600, env=env)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split("\t")[:2] == ["hello", zoo.load("g2p-luong").predict(["hello"])[0]]
    noise = [line for line in out.stderr.splitlines()
             if re.match(r"[IWEF]\d{4} ", line) or any(word in line for word in ("cuInit", "oneDNN", "absl", "cuda"))]
    assert not noise, out.stderr


def test_tensorflow_start_up_log_is_filtered_by_level_not_swallowed(capfd):
    from zoo import cli

    records = [b"WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n",
               b"I0000 00:00:1796538810.303634    3857 port.cc:153] oneDNN custom operations are on.\n",
               b"E0000 00:00:1796538813.431922    3857 loader.cc:12] a real error\n", b"its second line\n",
               b"W0000 00:00:1796538813.431922    3857 guard.cc:227] a warning\n", b"and its second line\n"]
    for level, shown in ((2, [2, 3]), (1, [2, 3, 4, 5]), (0, [0, 1, 2, 3, 4, 5]), (3, [])):
        with cli._stderr_filtered(level):
            for record in records:
                os.write(2, record)
        assert capfd.readouterr().err == "".join(records[i].decode() for i in shown), level
    with cli._stderr_filtered(3):
        print("a Python line", file=sys.stderr)  # not a log record: always written back
    assert capfd.readouterr().err == "a Python line\n"
