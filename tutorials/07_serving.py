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
# # 07 · Serving: export, inspect, call it like TF Serving would
#
# A notebook is the wrong place to answer production traffic. The zoo's answer is `zoo export`: a
# TensorFlow **SavedModel** that the stock `tensorflow_model_server` loads as it is, with no Python
# and no `zoo` on the server. Strings go in, n-best strings and scores come out; the tokenizer, the
# encoder, the beam search loop and detokenization all run inside the graph. This notebook:
#
# 1. exports `g2p-luong` into a version folder, the layout TF Serving watches;
# 2. inspects the signature a client has to match;
# 3. builds requests exactly as the REST and gRPC clients in `serving/` do, and answers them the way
#    the server would;
# 4. replays the warmup requests stored with the export;
# 5. adds a second version, the way a model is updated under a running server.
#
# **No model server runs here.** The TF Serving binary cannot be installed on the zoo's CI machines
# (nor, usually, in a notebook), so we play its part: we load the export with TensorFlow, turn each
# client request into the input tensor the server would build, run the same signature, and pack the
# result the way the server answers. `serving/README.md` shows the `docker compose up` that serves
# the same folder for real; the clients used below then talk to it unchanged.

# %%
import json
import os
import pathlib
import subprocess
import sys
import tempfile
import time

import numpy as np
import tensorflow as tf

import zoo
from zoo import export

FAST = os.environ.get("ZOO_TUTORIAL_FAST") == "1"
RESULTS = {}  # values the test suite checks; written to $ZOO_TUTORIAL_RESULTS at the end
tf.get_logger().setLevel("ERROR")  # batches of other lengths retrace the decoder: expected, not worth a warning
ROOT = pathlib.Path(zoo.__file__).resolve().parents[1]  # the repository: serving/ lives there
sys.path.insert(0, str(ROOT / "serving"))
import grpc_client  # noqa: E402  (serving/grpc_client.py)
import rest_client  # noqa: E402  (serving/rest_client.py)

BASE = pathlib.Path(tempfile.mkdtemp(prefix="zoo-serving-")) / "models"  # TF Serving's model base path
MODEL = "g2p-luong"
texts = ["hello", "world", "serving"] if FAST else ["hello", "world", "serving", "tensorflow", "notebook", "zoo"]

# %% [markdown]
# ## 1. Export into a version folder
#
# TF Serving expects `<base>/<model name>/<version>/`, a number per version, and serves the newest
# by default. `export` writes the SavedModel under a temporary name (`.tmp-…`, which the server
# ignores), checks that every op in the graph exists in the stock server (no `tf.py_function`, no
# GPU-only cuDNN kernel), and only then renames it into place: a server polling the folder never
# loads half an export. The decoding is baked into the graph at export time: the model's own, the
# beam search its card reports (`predictor.decoding`: 4 beams, length penalty alpha 0.0 for
# `g2p-luong`), the one `predict` and `zoo predict` use too; here it returns the 2 best outputs.
# After each export, `export` also rewrites `models.config` beside the model folders, listing exactly
# the models that have a version there: the file the server reads.

# %%
start = time.perf_counter()
version_1 = export.export(MODEL, BASE, n_best=2)
print(f"exported in {time.perf_counter() - start:.1f} s to {version_1}")
print((BASE / "models.config").read_text())
for path in sorted(version_1.rglob("*")):
    if path.is_file():
        print(f"  {str(path.relative_to(version_1)):58} {path.stat().st_size:>10,} bytes")

# %% [markdown]
# `assets.extra/tf_serving_warmup_requests` is for section 4. The folder holds no absolute path, so
# it can be copied to any server. The op check can also be run on its own:

# %%
ops = export.check_serving_ops(version_1)
some = [op for op in ops if op.startswith("Lookup") or op in ("While", "TopKV2", "CaseFoldUTF8")]
print(f"{len(ops)} op types, all in {export.SERVING_IMAGE}, e.g. {', '.join(some)}")

# %% [markdown]
# ## 2. The signature: the contract with every client
#
# A SavedModel exposes named *signatures*. A client names one (or gets `serving_default`), sends
# tensors under the input names, and receives the named outputs. `text` is declared with no shape
# at all: TF Serving's C++ session does not check a request against the declared shape, so the
# graph checks it itself and refuses anything but a 1-D list of strings (shown in section 3). The
# outputs' `None` is the batch axis.

# %%
loaded = tf.saved_model.load(str(version_1))
for name, function in loaded.signatures.items():
    inputs = function.structured_input_signature[1]
    print(f"signature {name!r}")
    for key, spec in inputs.items():
        print(f"   input  {key:14} {spec.dtype.name:8} {spec.shape}")
    for key, spec in function.structured_outputs.items():
        print(f"   output {key:14} {spec.dtype.name:8} {spec.shape}")
signature = loaded.signatures["serving_default"]
RESULTS["signatures"] = sorted(loaded.signatures)
RESULTS["inputs"] = sorted(signature.structured_input_signature[1])
RESULTS["outputs"] = sorted(signature.structured_outputs)

# %% [markdown]
# `saved_model_cli show` prints the same from the command line. `serving/saved_model_cli.py` wraps it
# to register tensorflow-text's ops first (the stock tool cannot load a graph that lowercases with
# `CaseFoldUTF8`). Its `run` command loads the export with the *session-based* loader, the one TF
# Serving itself uses, which is stricter than `tf.saved_model.load`: it is the closest to a real
# server we can get without one. (Skipped in the fast mode: it starts a second TensorFlow.)

# %%
if not FAST:
    cli = [sys.executable, str(ROOT / "serving" / "saved_model_cli.py")]
    shown = subprocess.run([*cli, "show", "--dir", str(version_1), "--tag_set", "serve",
                            "--signature_def", "serving_default"], capture_output=True, text=True, check=True)
    print(shown.stdout)
    ran = subprocess.run([*cli, "run", "--dir", str(version_1), "--tag_set", "serve", "--signature_def",
                          "serving_default", "--input_exprs", f"text={texts[:2]!r}"],
                         capture_output=True, text=True, check=True)
    print(ran.stdout[-1500:])

# %% [markdown]
# ## 3. Requests as the clients build them
#
# What the model should answer is what `predict` answers in Python (exports decode with the same
# loop, so strings match exactly and scores to float precision):

# %%
predictor = zoo.load(MODEL)
print(predictor.decoding)
expected = predictor.decode(texts, n_best=2)  # the model's decoding, as exported
for text, n_best in zip(texts, expected):
    print(f"{text:12} " + "   ".join(f"{h.text} ({h.score:.3f})" for h in n_best))

# %% [markdown]
# ### REST
#
# `rest_client.request_body` builds the JSON that `POST /v1/models/g2p-luong:predict` carries, in TF
# Serving's *row* format: one entry of `instances` per text. The server stacks the instances into the
# input tensor (a string tensor of shape `[batch]` named `text`, the signature's only input), runs the
# signature, and answers with one object per row under `predictions`.

# %%
body = rest_client.request_body(texts)
wire = json.dumps(body)  # what curl -d sends
print(wire)


def answer_rest(loaded_model, request_json: str) -> str:
    """What the model server does with a REST predict request in row format (no server here)."""
    request = json.loads(request_json)
    function = loaded_model.signatures[request.get("signature_name", "serving_default")]
    outputs = function(text=tf.constant(request["instances"], dtype=tf.string))
    rows = [{key: np.asarray(value[row]).tolist() for key, value in outputs.items()}
            for row in range(len(request["instances"]))]
    return json.dumps({"predictions": rows}, default=lambda b: b.decode("utf-8"))


response = answer_rest(loaded, wire)
print(response[:300], "...")
rest_answer = rest_client.parse_response(json.loads(response))
for text, n_best in zip(texts, rest_answer):
    print(f"{text:12} {n_best}")

# %% [markdown]
# ### gRPC
#
# gRPC sends a `PredictRequest` protocol buffer: the model's name, the signature's name, and the
# input as a `TensorProto` (dtype `DT_STRING`, shape `[batch]`). It is smaller and faster to parse
# than JSON, and keeps dtypes exact. `grpc_client.predict_request` builds it; printed, the proto shows
# exactly what goes over the wire.

# %%
request = grpc_client.predict_request(texts, model=MODEL)
print(request)


def answer_grpc(loaded_model, request_bytes: bytes) -> bytes:
    """What the model server does with a gRPC Predict call (no server here)."""
    from tensorflow_serving.apis import predict_pb2

    request = predict_pb2.PredictRequest.FromString(request_bytes)
    function = loaded_model.signatures[request.model_spec.signature_name or "serving_default"]
    inputs = {key: tf.constant(tf.make_ndarray(proto)) for key, proto in request.inputs.items()}
    response = predict_pb2.PredictResponse()
    response.model_spec.CopyFrom(request.model_spec)
    for key, value in function(**inputs).items():
        response.outputs[key].CopyFrom(tf.make_tensor_proto(value.numpy()))
    return response.SerializeToString()


from tensorflow_serving.apis import predict_pb2  # noqa: E402

grpc_answer = grpc_client.parse_response(predict_pb2.PredictResponse.FromString(
    answer_grpc(loaded, request.SerializeToString())))
for text, n_best in zip(texts, grpc_answer):
    print(f"{text:12} {n_best}")

# %% [markdown]
# Both paths give `predict`'s answers:

# %%
def same(answer):
    strings = [[o for o, _ in a.hypotheses] for a in answer] == [[h.text for h in n] for n in expected]
    scores = np.allclose([[s for _, s in a.hypotheses] for a in answer], [[h.score for h in n] for n in expected],
                         atol=1e-4)
    return strings and scores and all(a.error == "" for a in answer)


RESULTS["rest_equals_predict"] = same(rest_answer)
RESULTS["grpc_equals_predict"] = same(grpc_answer)
RESULTS["rest_outputs"] = [[o for o, _ in a.hypotheses] for a in rest_answer]
RESULTS["predict_outputs"] = [[h.text for h in n] for n in expected]
print("REST == predict:", RESULTS["rest_equals_predict"], "  gRPC == predict:", RESULTS["grpc_equals_predict"])

# %% [markdown]
# Unlike `predict`, which raises on bad input, a server must answer everything: an empty or over-long
# text (or one of only Unicode spaces, U+3000 here) gets an empty output, score 0 and, in `error`,
# the reason `predict` would give; invalid UTF-8 becomes U+FFFD; the other rows of the batch are
# answered as usual, all inside the graph. A request that is not a list of strings is refused as a
# whole, naming the input; the server answers it with that message (HTTP 400, or INVALID_ARGUMENT).

# %%
odd = signature(text=tf.constant(["", "x" * 5000, "\u3000", b"\xffhello"]))
print([row.decode() for row in odd["outputs"][:, 0].numpy()], odd["scores"][:, 0].numpy())
print([error.decode() for error in odd["error"].numpy()])
RESULTS["empty_input_output"] = odd["outputs"][0, 0].numpy().decode()
RESULTS["unicode_space_error"] = odd["error"][2].numpy().decode()
try:
    signature(text=tf.constant([["hello", "world"]]))
except tf.errors.InvalidArgumentError as error:
    RESULTS["wrong_rank_error"] = rest_client.one_line(error.message).split("assertion failed: [")[1].split(".")[0]
    print("InvalidArgument:", RESULTS["wrong_rank_error"])

# %% [markdown]
# ## 4. Warmup requests
#
# The first request to a freshly loaded model is slow: TensorFlow initialises the graph's functions
# and allocates memory on first use. With `--enable_model_warmup` (set in `serving/docker-compose.yml`)
# the server first replays the `PredictionLog` records stored in `assets.extra/`, so the first *real*
# client does not pay for it. We read them and replay them the same way, on a fresh load of the
# export, and time each one: the first call of each signature takes seconds, the next ones
# milliseconds. That first cost is what warmup moves from your first user to the server's start.

# %%
from tensorflow_serving.apis import prediction_log_pb2  # noqa: E402

records = tf.data.TFRecordDataset(str(version_1 / "assets.extra" / export.WARMUP_FILE))
warmup = [prediction_log_pb2.PredictionLog.FromString(r.numpy()).predict_log.request for r in records]
fresh = tf.saved_model.load(str(version_1))
timings = []
for request in warmup:
    start = time.perf_counter()
    answer = predict_pb2.PredictResponse.FromString(answer_grpc(fresh, request.SerializeToString()))
    timings.append(time.perf_counter() - start)
    texts_in = [t.decode() for t in tf.make_ndarray(request.inputs["text"])]
    print(f"{request.model_spec.signature_name:16} {texts_in!s:40} -> outputs {sorted(answer.outputs)}  "
          f"{1000 * timings[-1]:7.1f} ms")
RESULTS["warmup_requests"] = len(warmup)
RESULTS["warmup_signatures"] = sorted({r.model_spec.signature_name for r in warmup})

# %% [markdown]
# ## 5. Versions
#
# To update a model under a running server, export again into the same base folder: the next
# version number is picked for you, and `models.config` (policy `latest { num_versions: 1 }`)
# makes the server load version 2 and drop version 1 once 2 is ready, without a restart. An existing
# version is never overwritten. Rolling back is a pin, `zoo serving-config BASE --pin g2p-luong=1`
# (a `specific` version policy, which the server picks up at its next read of the config);
# `--unpin` follows the newest version again. Version 2 here decodes greedily and returns one output.

# %%
version_2 = export.export(MODEL, BASE, beam_size=1, n_best=1)
versions = sorted(int(p.name) for p in (BASE / MODEL).iterdir())
print("versions:", versions, "   the server serves:", max(versions))
try:
    export.export(MODEL, BASE, version=1)
except ValueError as error:
    print("ValueError:", error)
v2 = tf.saved_model.load(str(version_2)).signatures["serving_default"](text=tf.constant(texts))
print("version 2 outputs:", v2["outputs"].shape, [o.decode() for o in v2["outputs"][:, 0].numpy()])
RESULTS["versions"] = versions
RESULTS["v2_equals_greedy"] = [o.decode() for o in v2["outputs"][:, 0].numpy()] == predictor.predict(
    texts, beam_size=1)
from zoo import serving_config  # noqa: E402

print(serving_config.write_model_config(BASE, pin={MODEL: 1}).read_text())
RESULTS["pinned"] = serving_config.read_pins(BASE / "models.config")

# %% [markdown]
# To serve for real: `zoo export g2p-luong exports` in the repository, then `cd serving && docker
# compose up`, and `rest_client.predict(["hello"])` or `grpc_client.predict(["hello"])` from any
# machine that reaches it; see `serving/README.md` for curl calls, batching, versions, monitoring
# and the op check.

# %%
if os.environ.get("ZOO_TUTORIAL_RESULTS"):
    with open(os.environ["ZOO_TUTORIAL_RESULTS"], "w") as f:
        json.dump(RESULTS, f, indent=2)
print(json.dumps(RESULTS, indent=1))
