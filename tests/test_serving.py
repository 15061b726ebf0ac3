"""Serving as documented: the configs TF Serving reads, the README's commands, the clients' errors.

No TF Serving binary installs on CI. What only the server does (poll base paths, enforce the batch
size, apply version policies) is covered by validating every config with TF Serving's own protos
and rules, and by ``serving_standin.StandIn``, which serves the exports under those configs in TF
Serving's REST and gRPC formats for the README's commands and the clients.
"""
import json
import os
import pathlib
import re
import shlex
import socket
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf
import yaml
from google.protobuf import text_format

import zoo
from serving_standin import SERVING, StandIn, batching_parameters, monitoring_config
from zoo import cli, export, serving_config

ROOT = SERVING.parent
MODEL = "g2p-luong"


def parse_model_config(path):
    from tensorflow_serving.config import model_server_config_pb2

    return text_format.Parse(pathlib.Path(path).read_text(), model_server_config_pb2.ModelServerConfig())


def check_base_paths(config, root):
    """What TF Serving's file-system source needs: every base path (``/models`` = ``root``) exists and
    holds a version folder with a SavedModel."""
    for model in config.model_config_list.config:
        assert model.base_path.startswith("/models/"), model.base_path
        base = pathlib.Path(root) / pathlib.PurePosixPath(model.base_path).relative_to("/models")
        assert serving_config.versions(base), f"{model.name}: no version under {base}"


def load_client(name):
    import importlib.util

    spec = importlib.util.spec_from_file_location(name, SERVING / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# --- the committed configs, checked with TF Serving's protos and rules -----------------------------

def test_batching_config_accepts_what_the_clients_send_and_follows_the_servers_rules():
    params = batching_parameters()  # TF Serving's BatchingParameters fields: a typo fails the parse
    ladder = list(params.allowed_batch_sizes)
    assert ladder == sorted(set(ladder)) and ladder[0] >= 1  # increasing
    assert ladder[-1] == params.max_batch_size.value  # TF Serving: the last entry equals max_batch_size
    assert all(b <= 2 * a for a, b in zip(ladder, ladder[1:]))  # padding at most doubles a batch
    assert params.num_batch_threads.value >= 1 and params.batch_timeout_micros.value > 0
    for client in ("rest_client", "grpc_client"):
        assert load_client(client).MAX_BATCH == params.max_batch_size.value
    assert "512" in (SERVING / "README.md").read_text().split("## Batching")[1]  # what the README promises
    with pytest.raises(text_format.ParseError):
        text_format.Parse("max_batch_size: 64", type(params)())  # a wrapper, not a bare number


def test_monitoring_config_and_compose_file_match():
    monitor = monitoring_config()  # TF Serving's MonitoringConfig fields
    assert monitor.prometheus_config.enable and monitor.prometheus_config.path.startswith("/")
    compose = yaml.safe_load((SERVING / "docker-compose.yml").read_text())
    (service,) = compose["services"].values()
    assert service["image"] == export.SERVING_IMAGE
    flags = dict(flag.lstrip("-").split("=", 1) for flag in service["command"])
    mounts = dict(reversed(volume.rsplit(":", 2)[:2]) for volume in service["volumes"])  # container -> host
    assert mounts["/models"] == "../exports"
    assert flags["model_config_file"] == "/models/models.config"  # the generated one, beside the exports
    for flag in ("batching_parameters_file", "monitoring_config_file"):
        host = mounts[flags[flag]]
        assert (SERVING / host).is_file(), host
    assert flags["enable_batching"] == "true" and int(flags["model_config_file_poll_wait_seconds"]) > 0


def test_committed_example_config_parses_and_names_only_the_readme_model():
    config = parse_model_config(SERVING / "models.config")
    assert [m.name for m in config.model_config_list.config] == [MODEL]


# --- zoo serving-config: the config is written from what is on disk ---------------------------------

def fake_export(root, name, version):
    path = pathlib.Path(root) / name / str(version)
    path.mkdir(parents=True)
    (path / "saved_model.pb").write_bytes(b"")
    return path


def test_serving_config_lists_models_with_a_version_and_keeps_pins(tmp_path, capsys):
    fake_export(tmp_path, "b-model", 1)
    fake_export(tmp_path, "b-model", 3)
    fake_export(tmp_path, "a-model", 2)
    (tmp_path / "empty" / "1").mkdir(parents=True)  # no saved_model.pb: not a version
    (tmp_path / "half" / ".tmp-1-x").mkdir(parents=True)  # an export under way
    path = serving_config.write_model_config(tmp_path)
    config = parse_model_config(path)
    assert [m.name for m in config.model_config_list.config] == ["a-model", "b-model"]
    check_base_paths(config, tmp_path)
    assert all(m.model_version_policy.latest.num_versions == 1 for m in config.model_config_list.config)

    assert cli.main(["serving-config", str(tmp_path), "--pin", "b-model=1"]) == 0
    fake_export(tmp_path, "c-model", 1)
    serving_config.write_model_config(tmp_path)  # what the next `zoo export` does: the pin stays
    policies = {m.name: m.model_version_policy for m in parse_model_config(path).model_config_list.config}
    assert list(policies["b-model"].specific.versions) == [1] and policies["c-model"].latest.num_versions == 1
    assert cli.main(["serving-config", str(tmp_path), "--unpin", "b-model"]) == 0
    assert serving_config.read_pins(path) == {}
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".tmp")]  # written atomically
    capsys.readouterr()

    for args, message in [(["--pin", "b-model=2"], "cannot pin 'b-model' to version 2: its versions are [1, 3]"),
                          (["--pin", "x=1"], "cannot pin 'x': no exported model of that name")]:
        assert cli.main(["serving-config", str(tmp_path), *args]) == 2
        assert message in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cli.main(["serving-config", str(tmp_path), "--pin", "b-model"])
    assert "expected NAME=VERSION" in capsys.readouterr().err
    empty = tmp_path / "nothing"
    empty.mkdir()
    assert cli.main(["serving-config", str(empty)]) == 2
    assert "no exported model under" in capsys.readouterr().err


# --- the README's commands, in order, against the stand-in server -----------------------------------

def readme_commands(section: str) -> list[str]:
    """The commands of a README section's ```bash blocks (comments dropped)."""
    text = (SERVING / "README.md").read_text().split(f"## {section}\n")[1].split("\n## ")[0]
    lines = [line for block in re.findall(r"```bash\n(.*?)```", text, re.S) for line in block.splitlines()]
    commands = [re.sub(r"(^|\s+)# .*$", "", line).strip() for line in lines]
    return [command for command in commands if command]


@pytest.fixture(scope="module")
def flow(tmp_path_factory):
    """A working folder where the README's commands run (``serving/`` beside ``exports/``), after the
    README's first command: ``zoo export g2p-luong exports``."""
    workdir = tmp_path_factory.mktemp("readme")
    (workdir / "serving").symlink_to(SERVING)
    start = readme_commands("Start")
    assert start[0] == f"zoo export {MODEL} exports" and start[1].endswith("docker compose up")
    shell(start[0], workdir)
    return workdir


def shell(command: str, cwd, server: StandIn | None = None) -> str:
    """Runs a README command; the server's addresses replace localhost's, and the clients are told them."""
    if server is not None:
        command = command.replace("http://localhost:8501", server.rest_url).replace("localhost:8500", server.grpc_target)
        if command.startswith("python serving/rest_client.py"):
            command += f" --url {server.rest_url}"
        if command.startswith("python serving/grpc_client.py"):
            command += f" --target {server.grpc_target}"
    env = {**os.environ, "PATH": f"{pathlib.Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    result = subprocess.run(command.replace("python ", f"{shlex.quote(sys.executable)} ", 1), shell=True, cwd=cwd,
                            capture_output=True, text=True, timeout=300, env=env)
    assert result.returncode == 0, f"{command}\n{result.stderr[-3000:]}"
    return result.stdout


def test_readme_start_writes_the_committed_config_and_every_command_runs(flow):
    written = flow / "exports" / serving_config.CONFIG_FILE
    assert written.read_text() == (SERVING / "models.config").read_text()  # the committed example is this
    check_base_paths(parse_model_config(written), flow / "exports")

    expected = zoo.load(MODEL).decode(["hello", "world"])  # the model's own decoding, as exported
    with StandIn(flow / "exports") as server:  # in place of `docker compose up`
        query = readme_commands("Query")
        answers = [shell(command, flow, server) for command in query]
        predictions = json.loads(answers[0])["predictions"]
        assert [row["outputs"][0] for row in predictions] == [n[0].text for n in expected]
        assert [row["error"] for row in predictions] == ["", ""]
        attention = json.loads(answers[1])["predictions"][0]
        assert attention["output_tokens"][:len(expected[0][0].tokens)] == expected[0][0].tokens
        assert "serving_default" in json.loads(answers[2])["metadata"]["signature_def"]
        for lines in answers[3:5]:  # the clients: text, output, score
            assert [line.split("\t")[:2] for line in lines.splitlines()] == [["hello", expected[0][0].text],
                                                                             ["world", expected[1][0].text]]
        code = (SERVING / "README.md").read_text().split("## Query")[1].split("```python\n")[1].split("```")[0]
        code = code.replace("http://localhost:8501", server.rest_url).replace("localhost:8500", server.grpc_target)
        out = subprocess.run([sys.executable, "-c", code + "\nprint(repr(rest_client.predict(['hello'], "
                              f"url={server.rest_url!r})))"], cwd=flow, capture_output=True, text=True, timeout=300)
        assert out.returncode == 0, out.stderr[-3000:]
        assert f"Answer(hypotheses=[('{expected[0][0].text}'," in out.stdout

        versions = readme_commands("New versions, rollback")
        shell(versions[0], flow)  # a greedy version 2
        status = json.loads(shell(versions[1], flow, server))["model_version_status"]
        assert [s["version"] for s in status] == ["2"]
        greedy = zoo.load(MODEL).predict(["hello"], beam_size=1)
        assert load_client("rest_client").predict(["hello"], url=server.rest_url)[0].hypotheses[0][0] == greedy[0]
        shell(versions[2], flow)  # pin version 1: the rollback
        assert [s["version"] for s in json.loads(shell(versions[1], flow, server))["model_version_status"]] == ["1"]
        check_base_paths(parse_model_config(written), flow / "exports")
        shell(versions[3], flow)
        assert [s["version"] for s in json.loads(shell(versions[1], flow, server))["model_version_status"]] == ["2"]

        (monitor,) = readme_commands("Monitor")
        metrics = shell(monitor, flow, server)
        assert re.search(rf':tensorflow:serving:request_count{{model_name="{MODEL}",status="OK"}} \d+', metrics)

    shown, ran = [shell(command, flow) for command in readme_commands("Inspect an export without a server")]
    assert "signature_def['serving_default']" in shown and "Result for output key outputs" in ran


def test_session_loader_refuses_a_request_of_the_wrong_rank_by_name(flow):
    """TF Serving's loader (session-based) does not check shapes against the signature: the graph does.
    Before, a [1, 3] request came back as 3 rows."""
    path = flow / "exports" / MODEL / "1"
    graph = tf.Graph()
    with graph.as_default(), tf.compat.v1.Session(graph=graph) as session:
        meta = tf.compat.v1.saved_model.loader.load(session, ["serve"], str(path))
        signature = meta.signature_def["serving_default"]
        fetch = {key: value.name for key, value in signature.outputs.items()}
        feed = signature.inputs["text"].name
        out = session.run(fetch, {feed: np.array(["hello", "\u3000"], dtype=object)})
        assert out["outputs"].shape == (2, 1) and out["error"].tolist() == [b"", b"is empty or only whitespace"]
        for wrong in (np.array([["a", "b", "c"]], dtype=object), np.array("hello", dtype=object)):
            with pytest.raises(tf.errors.InvalidArgumentError, match="input text must be a 1-D string tensor"):
                session.run(fetch, {feed: wrong})


# --- one decoding configuration --------------------------------------------------------------------

def test_predict_cli_and_export_share_the_cards_decoding(flow, capsys):
    """g2p-luong's card: beam 4, alpha 0.0. Before, ``predict(beam_size=4)`` and ``zoo predict --beam 4``
    used alpha 0.6 while the export used 0.0, and their 4-best lists differed on 14 of 300 words (7 of
    the first 100 test words)."""
    predictor = zoo.load(MODEL)
    assert predictor.decoding == zoo.hub.decoding_config(MODEL)
    assert (predictor.decoding.beam_size, predictor.decoding.alpha) == (4, 0.0)
    words = list(zoo.data.references("cmudict", "test"))[:100]
    served = tf.saved_model.load(str(export.export(MODEL, flow / "four-best", n_best=4)))
    outputs = served.signatures["serving_default"](text=tf.constant(words))["outputs"].numpy()
    exported = [[o.decode() for o in row] for row in outputs]
    assert predictor.predict(words, n_best=4) == exported
    assert predictor.predict(words, beam_size=4, n_best=4) == exported
    assert predictor.predict(words, n_best=4, alpha=0.6) != exported  # the check can tell alphas apart
    assert cli.main(["predict", MODEL, *words[:20], "--n-best", "4"]) == 0
    printed = [line.split("\t")[1] for line in capsys.readouterr().out.splitlines()]
    assert printed == [o for row in exported[:20] for o in row]


# --- the clients: the server's own error, one line, non-zero exit -----------------------------------

@pytest.fixture(scope="module")
def server(flow):
    """The stand-in serving the README flow's exports (whichever version its policy serves)."""
    with StandIn(flow / "exports") as standin:
        yield standin


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def silent_server():
    """A listening socket that never answers: (address, stop)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    return listener.getsockname(), listener.close


@pytest.mark.parametrize("client", ["rest_client", "grpc_client"])
def test_clients_print_the_servers_error_and_exit_non_zero(server, client, capsys):
    module = load_client(client)
    where = ["--url", server.rest_url] if client == "rest_client" else ["--target", server.grpc_target]
    assert module.main(["hello", *where]) == 0
    assert capsys.readouterr().out.startswith("hello\t")

    assert module.main(["hello", *where, "--model", "no-such-model"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Servable not found for request: Latest(no-such-model)" in err
    assert ("HTTP 404" in err) if client == "rest_client" else ("NOT_FOUND" in err)

    assert module.main(["hello", " \u3000", *where]) == 1  # a refused input: its reason, the rest answered
    captured = capsys.readouterr()
    assert captured.out.startswith("hello\t") and "' \\u3000': is empty or only whitespace" in captured.err

    port = closed_port()
    refused = ["--url", f"http://127.0.0.1:{port}"] if client == "rest_client" else ["--target", f"127.0.0.1:{port}"]
    assert module.main(["hello", *refused, "--timeout", "5"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "cannot reach TF Serving at" in err

    (host, port), stop = silent_server()
    try:
        silent = ["--url", f"http://{host}:{port}"] if client == "rest_client" else ["--target", f"{host}:{port}"]
        assert module.main(["hello", *silent, "--timeout", "0.5"]) == 1
    finally:
        stop()
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and ("within 0.5 s" in err or "cannot reach" in err), err


def test_rest_error_text_reaches_the_user_and_long_lists_are_split(server):
    rest = load_client("rest_client")
    with pytest.raises(rest.ServingError, match=r"HTTP 400: .*input text must be a 1-D string tensor"):
        rest.post(f"{server.rest_url}/v1/models/{MODEL}:predict", {"instances": [["a", "b"]]}, timeout=30)
    with pytest.raises(rest.ServingError, match="HTTP 400: Task size 513 is larger than maximum input batch size 512"):
        rest.post(f"{server.rest_url}/v1/models/{MODEL}:predict", {"instances": ["a"] * 513}, timeout=30)
    before = sum(server.request_count.values())
    words = [f"w{'o' * (i % 7)}rd" for i in range(600)]
    answers = rest.predict(words, url=server.rest_url)
    assert sum(server.request_count.values()) - before == 2 and len(answers) == 600
    assert [a.hypotheses[0][0] for a in answers[:7]] == [a.hypotheses[0][0] for a in answers[7:14]]


def test_grpc_error_status_reaches_the_user(server):
    grpc_client = load_client("grpc_client")
    with pytest.raises(grpc_client.ServingError, match="INVALID_ARGUMENT: .*input text must be a 1-D string"):
        import grpc
        from tensorflow_serving.apis import prediction_service_pb2_grpc

        request = grpc_client.predict_request(["a", "b"], model=MODEL)
        request.inputs["text"].CopyFrom(tf.make_tensor_proto([[b"a", b"b"]], dtype=tf.string))
        with grpc.insecure_channel(server.grpc_target) as channel:
            grpc_client.call(prediction_service_pb2_grpc.PredictionServiceStub(channel), request,
                             server.grpc_target, 30)
