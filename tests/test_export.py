"""`zoo export`: SavedModels for the stock TF Serving binary.

No model server can be installed on CI, so these tests stand in for it: the export is loaded in a
fresh process without `zoo`, through the session-based loader TF Serving uses (`saved_model_cli
run`), with its warmup requests and with the clients' requests, and must give `predict`'s strings.
"""
import importlib.util
import json
import os
import pathlib
import re
import shutil
import subprocess
import sys
from typing import NamedTuple

import numpy as np
import pytest
import tensorflow as tf
from google.protobuf import text_format

import zoo
from zoo import cli, export, hub

SERVING = pathlib.Path(__file__).resolve().parents[1] / "serving"
BEAM, N_BEST = 4, 2

# Runs in a fresh interpreter that cannot even import zoo (no PYTHONPATH, cwd elsewhere).
FRESH_PROCESS = r"""
import json, sys
import tensorflow as tf
import tensorflow_text  # noqa: F401  (registers the tensorflow-text ops the graph uses)

def plain(x):
    return [plain(v) for v in x] if isinstance(x, list) else x.decode("utf-8") if isinstance(x, bytes) else x

model = tf.saved_model.load(sys.argv[1])
texts = tf.constant(json.loads(sys.argv[2]), dtype=tf.string)
out = {name: {key: plain(value.numpy().tolist()) for key, value in model.signatures[name](text=texts).items()}
       for name in ("serving_default", "attention")}
out["zoo_imported"] = "zoo" in sys.modules
print(json.dumps(out))
"""


class Exported(NamedTuple):
    name: str
    source: pathlib.Path  # the pretrained folder
    path: pathlib.Path  # the version folder, moved away from where it was written
    written_to: pathlib.Path  # the base folder the CLI wrote into (gone since)
    texts: list
    alpha: float  # the beam's length penalty: the one the model's card reports


# One model per graph: g2p-bahdanau-bf16 is g2p-bahdanau's graph with other weights, dates-bahdanau
# the same family and tokenizer kinds on other data, and summarize-debian-plain summarize-debian's graph
# without the copy inputs (a family without copy, on the same words tokenizer); exporting them again would
# test little new for a minute of CI. The text models only: the captioners' exports (PNG/JPEG bytes in) are
# tests/test_captioning.py's.
EXPORTED_MODELS = ["toy-reverse", *(name for name in hub.list_models()
                                    if name not in ("g2p-bahdanau-bf16", "dates-bahdanau", "summarize-debian-plain")
                                    and "frontend" not in json.loads((hub.resolve(name) / "config.json").read_text()))]


@pytest.fixture(scope="module", params=EXPORTED_MODELS)
def exported(request, tmp_path_factory):
    """Every pretrained model of its own graph (and the toy model), exported by the CLI and then moved elsewhere."""
    source = request.getfixturevalue("toy_run")[2] / "pretrained" if request.param == "toy-reverse" \
        else hub.resolve(request.param)
    config = json.loads((source / "config.json").read_text())
    name = config["name"]
    base = tmp_path_factory.mktemp("exports")
    assert config["beam"]["beam_size"] == BEAM  # the export's beam is the card's: no --beam, no --alpha
    assert cli.main(["export", str(source), str(base), "--n-best", str(N_BEST)]) == 0
    assert sorted(p.name for p in (base / name).iterdir()) == ["1"]  # no temporary folder left
    moved = tmp_path_factory.mktemp("moved") / name / "1"
    shutil.move(base / name / "1", moved)
    shutil.rmtree(base)
    texts = export.default_examples(source, 6)
    return Exported(name, source, moved, base, texts, config.get("beam", {}).get("alpha", 0.6))


@pytest.fixture(scope="module")
def predictor(exported):
    return zoo.load(exported.source)


@pytest.fixture(scope="module")
def loaded(exported):
    return tf.saved_model.load(str(exported.path))


@pytest.fixture(scope="module")
def fresh_process(exported, tmp_path_factory):
    """Both signatures' outputs on ``exported.texts``, computed by a process with only tensorflow(-text)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    result = subprocess.run([sys.executable, "-c", FRESH_PROCESS, str(exported.path), json.dumps(exported.texts)],
                            capture_output=True, text=True, timeout=300, env=env,
                            cwd=tmp_path_factory.mktemp("elsewhere"))
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def load_script(name):
    spec = importlib.util.spec_from_file_location(name, SERVING / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def saved_model_cli(*args, cwd=None):
    result = subprocess.run([sys.executable, str(SERVING / "saved_model_cli.py"), *map(str, args)],
                            capture_output=True, text=True, timeout=300, cwd=cwd)
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def strings(array):
    return [[s.decode("utf-8") for s in row] for row in np.asarray(array)]


# --- the export gives predict's answers, anywhere, without zoo ---------------------------------

def test_fresh_process_without_zoo_gives_what_predict_gives(exported, predictor, fresh_process):
    assert not fresh_process["zoo_imported"]
    served = fresh_process["serving_default"]
    # One decoding configuration: predict's defaults are the export's (the card's beam and alpha).
    assert served["outputs"] == predictor.predict(exported.texts, n_best=N_BEST)
    assert [n[0] for n in served["outputs"]] == predictor.predict(exported.texts)
    expected = predictor.decode(exported.texts, beam_size=BEAM, alpha=exported.alpha, n_best=N_BEST)
    np.testing.assert_allclose(served["scores"], [[h.score for h in n] for n in expected], atol=1e-4)
    assert served["lengths"] == [[len(h.tokens) for h in n] for n in expected]


def test_attention_signature_gives_the_best_hypothesis_tokens_and_weights(exported, predictor, fresh_process):
    result = fresh_process["attention"]
    for row, best in enumerate(h[0] for h in predictor.decode(exported.texts, beam_size=BEAM, alpha=exported.alpha, n_best=N_BEST)):
        steps, src = best.attention.shape  # len(tokens) + 1 for </s>, source tokens
        assert result["source_tokens"][row][:src] == best.source_tokens
        assert set(result["source_tokens"][row][src:]) <= {""}
        assert result["output_tokens"][row][:len(best.tokens)] == best.tokens
        assert result["lengths"][row] == len(best.tokens)
        weights = np.array(result["weights"][row])
        np.testing.assert_allclose(weights[:steps, :src], best.attention, atol=1e-5)
        attended = 1.0 if predictor.model.has_attention else 0.0  # families without attention report zeros
        np.testing.assert_allclose(weights[:steps, :src].sum(axis=1), attended, atol=1e-5)


def test_export_holds_no_absolute_path(exported):
    for path in exported.path.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert str(exported.written_to).encode() not in data, path
            assert str(exported.source).encode() not in data, path


# --- TF Serving's loader: saved_model_cli (session-based), warmup requests, clients -------------

def test_saved_model_cli_shows_named_signatures_and_runs_them(exported, predictor, tmp_path):
    shown = saved_model_cli("show", "--dir", exported.path, "--all")
    default = shown.split("signature_def['serving_default']:")[1]
    # Any shape: the graph checks the rank itself (TF Serving's C++ session does not check shapes).
    assert "inputs['text'] tensor_info:\n        dtype: DT_STRING\n        shape: unknown_rank" in default
    for output, dtype in (("outputs", "DT_STRING"), ("scores", "DT_FLOAT"), ("lengths", "DT_INT32")):
        assert f"outputs['{output}'] tensor_info:\n        dtype: {dtype}\n        shape: (-1, {N_BEST})" in default
    attention = shown.split("signature_def['attention']:")[1].split("signature_def[")[0]
    assert all(f"outputs['{key}']" in attention for key in ("source_tokens", "output_tokens", "weights", "lengths"))

    texts = [text for text in exported.texts if ";" not in text]  # --input_exprs splits its argument at ";"
    assert texts
    saved_model_cli("run", "--dir", exported.path, "--tag_set", "serve", "--signature_def", "serving_default",
                    "--input_exprs", f"text={texts!r}", "--outdir", tmp_path)
    outputs = np.load(tmp_path / "outputs.npy", allow_pickle=True)
    assert strings(outputs) == predictor.predict(texts, beam_size=BEAM, alpha=exported.alpha, n_best=N_BEST)


def test_warmup_requests_parse_and_run_against_the_model(exported, loaded, predictor):
    from tensorflow_serving.apis import prediction_log_pb2

    path = exported.path / "assets.extra" / export.WARMUP_FILE
    records = tf.data.TFRecordDataset(str(path))
    logs = [prediction_log_pb2.PredictionLog.FromString(record.numpy()) for record in records]
    requests = [log.predict_log.request for log in logs]
    assert len(requests) >= 3 and {r.model_spec.signature_name for r in requests} == {"serving_default", "attention"}
    for request in requests:
        texts = [t.decode("utf-8") for t in tf.make_ndarray(request.inputs["text"])]
        assert texts and set(texts) <= set(export.default_examples(exported.source))  # real examples
        out = loaded.signatures[request.model_spec.signature_name](text=tf.constant(texts))
        if request.model_spec.signature_name == "serving_default":
            assert strings(out["outputs"]) == predictor.predict(texts, beam_size=BEAM, alpha=exported.alpha, n_best=N_BEST)
        else:
            assert out["weights"].shape[0] == len(texts)


def test_rest_client_json_matches_the_signature(exported, loaded, predictor):
    rest = load_script("rest_client")
    body = json.loads(json.dumps(rest.request_body(exported.texts)))  # what goes over the wire
    signature = loaded.signatures[body["signature_name"]]
    text = tf.constant(body["instances"])
    assert signature.structured_input_signature[1]["text"].is_compatible_with(text)
    out = signature(text=text)
    answer = {"predictions": [{key: np.asarray(value[row].numpy()).tolist() for key, value in out.items()}
                              for row in range(len(exported.texts))]}  # TF Serving's row format
    answer = json.loads(json.dumps(answer, default=lambda b: b.decode("utf-8")))
    expected = predictor.decode(exported.texts, beam_size=BEAM, alpha=exported.alpha, n_best=N_BEST)
    parsed = rest.parse_response(answer)
    assert [a.error for a in parsed] == [""] * len(expected)
    assert [[o for o, _ in a.hypotheses] for a in parsed] == [[h.text for h in n] for n in expected]
    np.testing.assert_allclose([[s for _, s in a.hypotheses] for a in parsed], [[h.score for h in n] for n in expected],
                               atol=1e-4)
    with pytest.raises(TypeError, match="texts must be a list of str"):
        rest.request_body("hello")


def test_grpc_client_request_matches_the_signature(exported, loaded, predictor):
    from tensorflow_serving.apis import predict_pb2

    grpc_client = load_script("grpc_client")
    request = predict_pb2.PredictRequest.FromString(
        grpc_client.predict_request(exported.texts, model=exported.name).SerializeToString())
    assert request.model_spec.name == exported.name
    signature = loaded.signatures[request.model_spec.signature_name]
    spec = signature.structured_input_signature[1]["text"]
    proto = request.inputs["text"]
    assert proto.dtype == spec.dtype.as_datatype_enum
    assert spec.shape.is_compatible_with([d.size for d in proto.tensor_shape.dim])
    assert [d.size for d in proto.tensor_shape.dim] == [len(exported.texts)]
    out = signature(text=tf.constant(tf.make_ndarray(proto)))
    response = predict_pb2.PredictResponse()
    for key, value in out.items():
        response.outputs[key].CopyFrom(tf.make_tensor_proto(value.numpy()))
    expected = predictor.decode(exported.texts, beam_size=BEAM, alpha=exported.alpha, n_best=N_BEST)
    parsed = grpc_client.parse_response(response)
    assert [a.error for a in parsed] == [""] * len(expected)
    assert [[o for o, _ in a.hypotheses] for a in parsed] == [[h.text for h in n] for n in expected]
    np.testing.assert_allclose([[s for _, s in a.hypotheses] for a in parsed], [[h.score for h in n] for n in expected],
                               atol=1e-4)


# --- bad input never crashes the graph -----------------------------------------------------------

def test_bad_input_gives_valid_output(exported, loaded, predictor):
    """The frontend's rules, as predict applies them: a rejected row gets empty outputs, score 0 and the
    reason in ``error`` (the text predict's ValueError gives); the batch's other rows are answered."""
    serve = loaded.signatures["serving_default"]
    limit = predictor.max_source_length

    def run(texts):
        out = serve(text=tf.constant(texts, dtype=tf.string))
        assert out["outputs"].shape == out["scores"].shape == out["lengths"].shape == (len(texts), N_BEST)
        assert out["error"].shape == (len(texts),)
        assert np.isfinite(out["scores"].numpy()).all()
        return strings(out["outputs"]), out["scores"].numpy(), [e.decode() for e in out["error"].numpy()]

    word = exported.texts[0]
    outputs, scores, errors = run(["", "  \t ", word])  # empty input: empty hypotheses, score 0, the reason
    assert outputs[:2] == [[""] * N_BEST] * 2 and not scores[:2].any()
    assert errors == ["is empty or only whitespace"] * 2 + [""] and outputs[2] == run([word])[0][0]
    with pytest.raises(ValueError, match=r"texts\[1\] is empty or only whitespace"):
        predictor.predict([word, "  \t "])
    if predictor.frontend.truncate:  # read up to its limit (summarize-debian), not refused
        long_text = " ".join([word] * (limit + 1))
        outputs, scores, errors = run([long_text, long_text + " more words"])
        assert errors == ["", ""] and outputs[0] == outputs[1] and outputs[0][0]
        assert predictor.predict([long_text])[0]  # no error in predict either
    else:
        long_text = (word * (limit // len(word) + 2))[: limit + 1]
        outputs, scores, errors = run([long_text, long_text[:limit]])
        assert outputs[0] == [""] * N_BEST and scores[0].sum() == 0 and outputs[1][0]
        assert errors[0] == f"has {limit + 1} tokens, more than this model's limit of {limit}" and errors[1] == ""
        with pytest.raises(ValueError, match=re.escape(f"texts[0] {errors[0]}")):
            predictor.predict([long_text])
    assert run([b"\xff" + word.encode() + b"\xc3"])[0] == run(["\ufffd" + word + "\ufffd"])[0]  # U+FFFD
    spaces = ["\u00a0", "\u3000", "\u2028 \u0085"]  # Unicode whitespace is whitespace, as in predict
    outputs, _, errors = run(spaces + ["\u3000" + word + "\u00a0"])
    assert errors[:3] == ["is empty or only whitespace"] * 3 and outputs[3] == run([word])[0][0]
    with pytest.raises(ValueError, match=r"texts\[0\] is empty or only whitespace"):
        predictor.predict(spaces[:1])
    for wrong in (tf.constant([[word, word]]), tf.constant(word)):  # refused whole, never flattened
        with pytest.raises(tf.errors.InvalidArgumentError, match="input text must be a 1-D string tensor"):
            serve(text=wrong)
    assert run([])[0] == []
    batch = [exported.texts[i % len(exported.texts)] for i in range(512)]
    assert run(batch)[0][:len(exported.texts)] == run(exported.texts)[0]


# --- the op check --------------------------------------------------------------------------------

def test_op_check_passes_on_the_export(exported, predictor):
    ops = export.check_serving_ops(exported.path)
    chars = predictor.source_tokenizer.split == "chars"  # split into characters by UnicodeDecode
    assert {"While", "HashTableV2", "LookupTableFindV2", "TopKV2"} | ({"UnicodeDecode"} if chars else set()) <= set(ops)
    assert not set(ops) & export.PYTHON_OPS and not [op for op in ops if op.startswith("Cudnn")]


class BadModule(tf.Module):
    """Ops the model server lacks: Python callbacks and a cuDNN kernel."""

    @tf.function(input_signature=[tf.TensorSpec([None], tf.float32, name="x")])
    def python(self, x):
        y = tf.py_function(lambda v: v * 2, [x], tf.float32)
        return {"y": tf.numpy_function(lambda v: v + 1, [y], tf.float32)}

    @tf.function(input_signature=[tf.TensorSpec([None, None, 4], tf.float32, name="x")])
    def cudnn(self, x):  # traced, never run (needs a GPU)
        h = tf.zeros([1, tf.shape(x)[1], 4])
        params = tf.zeros([160])
        return {"y": tf.raw_ops.CudnnRNNV3(input=x, input_h=h, input_c=h, params=params,
                                           sequence_lengths=tf.fill([tf.shape(x)[1]], tf.shape(x)[0]),
                                           rnn_mode="lstm")[0]}


def test_op_check_fails_on_python_cudnn_and_unknown_ops(exported, tmp_path):
    bad = BadModule()
    tf.saved_model.save(bad, str(tmp_path / "bad"), signatures={"python": bad.python, "cudnn": bad.cudnn})
    with pytest.raises(ValueError) as error:
        export.check_serving_ops(tmp_path / "bad")
    for op in ("EagerPyFunc", "PyFunc", "CudnnRNNV3"):
        assert f"  {op}: " in str(error.value)

    copy = tmp_path / "unknown"  # a good export, one op renamed to one no server registers
    shutil.copytree(exported.path, copy)
    from tensorflow.core.protobuf import saved_model_pb2

    saved_model = saved_model_pb2.SavedModel.FromString((copy / "saved_model.pb").read_bytes())
    function = next(f for f in saved_model.meta_graphs[0].graph_def.library.function if f.node_def)
    function.node_def[0].op = "ZooMadeUpOp"
    (copy / "saved_model.pb").write_bytes(saved_model.SerializeToString())
    with pytest.raises(ValueError, match=r"ZooMadeUpOp: not registered in tensorflow/serving:2\.21\.0"):
        export.check_serving_ops(copy)


def test_signatures_are_traced_without_cudnn(toy_run):
    from zoo import decoding

    predictor = zoo.load(toy_run[2] / "pretrained")
    rnns = predictor.model.recurrent_layers()
    assert rnns
    for layer in rnns:
        layer.use_cudnn = True  # cuDNN or nothing
    if not tf.config.list_physical_devices("GPU"):  # here Keras refuses to trace it at all
        with pytest.raises(ValueError, match="use_cudnn=True was specified"):
            predictor.predict(["123"])
    functions = export.ServingModule(predictor, decoding.BeamSearch(2)).signatures()
    for function in functions.values():
        graph = function.graph.as_graph_def()
        ops = {n.op for n in graph.node} | {n.op for f in graph.library.function for n in f.node_def}
        assert "While" in ops and not [op for op in ops if op.startswith("Cudnn")]
    assert all(layer.use_cudnn is True for layer in rnns)  # the model's own setting is restored


def test_written_down_tensorflow_text_ops_are_registered():
    import tensorflow_text  # noqa: F401
    from tensorflow.python.framework import op_def_registry

    assert [op for op in sorted(export.TF_TEXT_OPS) if op_def_registry.get(op) is None] == []
    assert "CaseFoldUTF8" in export.serving_ops() and not export.serving_ops() & export.PYTHON_OPS


def test_failed_op_check_leaves_no_version_folder(toy_run, tmp_path, monkeypatch):
    def refuse(path):
        raise ValueError(f"{path} uses ops the stock model server cannot run")

    monkeypatch.setattr(export, "check_serving_ops", refuse)
    with pytest.raises(ValueError, match="cannot run"):
        export.export(toy_run[2] / "pretrained", tmp_path, beam_size=1)
    assert list((tmp_path / "toy-reverse").iterdir()) == []


# --- versions, CLI errors, serving configuration -------------------------------------------------

def test_versions_count_up_and_are_never_overwritten(toy_run, tmp_path):
    for name in ("1", "3", ".tmp-4-abc", "notes"):
        (tmp_path / "m" / name).mkdir(parents=True)
    assert export.next_version(tmp_path / "m") == 4
    assert export.next_version(tmp_path / "nothing") == 1
    (tmp_path / "toy-reverse" / "2").mkdir(parents=True)
    with pytest.raises(ValueError, match="version 2 exists"):
        export.export(toy_run[2] / "pretrained", tmp_path, version=2)


@pytest.mark.parametrize("args, message", [
    (["--beam", "4", "--n-best", "5"], "n_best must be <= beam_size"),
    (["--version", "0"], "version must be a positive integer"),
])
def test_cli_export_errors_are_one_line(toy_run, tmp_path, capsys, args, message):
    assert cli.main(["export", str(toy_run[2] / "pretrained"), str(tmp_path), *args]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "toy-reverse").exists() or not list((tmp_path / "toy-reverse").iterdir())
