"""A stand-in for ``tensorflow_model_server`` in tests (no TF Serving binary installs on CI).

It serves the exports under an export root the way ``serving/docker-compose.yml`` configures the real
server, on loopback ports: it reads ``models.config`` (``/models`` is the root) on every request, so
new versions and pins take effect as they would after the server's poll; the served version follows
each model's policy (``latest``: the newest; ``specific``: that one); requests larger than
``batching.config``'s ``max_batch_size`` are refused with TF Serving's message; errors come back in
TF Serving's formats (REST: HTTP 400/404 and ``{"error": ...}``; gRPC: the status code and message);
``monitoring.config``'s Prometheus path counts requests per model and status.

REST: ``POST /v1/models/NAME[/versions/N]:predict`` (row format), ``GET /v1/models/NAME`` (version
status), ``GET /v1/models/NAME/metadata``. gRPC: ``PredictionService.Predict``.
It is what our clients and README commands talk to in tests, not a server to deploy.
"""
from __future__ import annotations

import collections
import http.server
import json
import pathlib
import re
import threading
from concurrent import futures

import numpy as np
import tensorflow as tf
from google.protobuf import json_format, text_format

SERVING = pathlib.Path(__file__).resolve().parents[1] / "serving"
PREDICT = re.compile(r"^/v1/models/([^/:]+)(?:/versions/(\d+))?:predict$")
STATUS = re.compile(r"^/v1/models/([^/:]+)(/metadata)?$")


class Failure(Exception):
    """An error TF Serving would answer: a gRPC status name and a message."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code, self.message = code, message


def _message_classes(file_name: str, messages: dict) -> dict:
    """Message classes for TF Serving protos that tensorflow-serving-api does not ship, declared with
    the field names, numbers and types of TF Serving 2.21's .proto files, so ``text_format`` refuses a
    misspelt or mistyped field as the server does. messages: {name: [(number, field, type, type name)]};
    a type name is a wrapper (``Int64Value``) or another message of the file."""
    from google.protobuf import descriptor_pb2, descriptor_pool, message_factory, wrappers_pb2

    F = descriptor_pb2.FieldDescriptorProto
    pool = descriptor_pool.DescriptorPool()
    pool.Add(descriptor_pb2.FileDescriptorProto.FromString(wrappers_pb2.DESCRIPTOR.serialized_pb))
    file = descriptor_pb2.FileDescriptorProto(name=file_name, package="tensorflow.serving", syntax="proto3",
                                              dependency=["google/protobuf/wrappers.proto"])
    for name, fields in messages.items():
        message = file.message_type.add(name=name)
        for number, field, kind, type_name in fields:
            label = F.LABEL_REPEATED if kind == "repeated int64" else F.LABEL_OPTIONAL
            kind = {"repeated int64": F.TYPE_INT64, "bool": F.TYPE_BOOL, "string": F.TYPE_STRING}.get(kind, F.TYPE_MESSAGE)
            where = "google.protobuf" if type_name and type_name.endswith("Value") else "tensorflow.serving"
            message.field.add(name=field, number=number, type=kind, label=label,
                              type_name=f".{where}.{type_name}" if type_name else None)
    pool.Add(file)
    return {name: message_factory.GetMessageClass(pool.FindMessageTypeByName(f"tensorflow.serving.{name}"))
            for name in messages}


def batching_parameters_class():
    """``BatchingParameters`` of tensorflow_serving/servables/tensorflow/session_bundle_config.proto."""
    return _message_classes("session_bundle_config.proto", {"BatchingParameters": [
        (1, "max_batch_size", "message", "Int64Value"), (2, "batch_timeout_micros", "message", "Int64Value"),
        (3, "max_enqueued_batches", "message", "Int64Value"), (4, "num_batch_threads", "message", "Int64Value"),
        (5, "thread_pool_name", "message", "StringValue"), (6, "allowed_batch_sizes", "repeated int64", None),
        (7, "pad_variable_length_inputs", "bool", None)]})["BatchingParameters"]


def monitoring_config_class():
    """``MonitoringConfig`` of tensorflow_serving/config/monitoring_config.proto."""
    return _message_classes("monitoring_config.proto", {
        "PrometheusConfig": [(1, "enable", "bool", None), (2, "path", "string", None)],
        "MonitoringConfig": [(1, "prometheus_config", "message", "PrometheusConfig")]})["MonitoringConfig"]


def monitoring_config(path=SERVING / "monitoring.config"):
    """A monitoring.config -> its ``MonitoringConfig`` message."""
    return text_format.Parse(pathlib.Path(path).read_text(), monitoring_config_class()())


def batching_parameters(path=SERVING / "batching.config"):
    """A batching.config -> its ``BatchingParameters`` message."""
    return text_format.Parse(pathlib.Path(path).read_text(), batching_parameters_class()())


class StandIn:
    """Serves ``root``'s exports (see the module docstring); ``with StandIn(root) as server:`` starts
    and stops it; ``server.rest_url`` and ``server.grpc_target`` are where it listens."""

    def __init__(self, root, batching=SERVING / "batching.config", monitoring=SERVING / "monitoring.config"):
        self.root = pathlib.Path(root)
        self.max_batch_size = batching_parameters(batching).max_batch_size.value
        monitor = monitoring_config(monitoring)
        self.metrics_path = monitor.prometheus_config.path if monitor.prometheus_config.enable else None
        self.request_count = collections.Counter()  # (model, status) -> requests
        self._models = {}  # version folder -> loaded SavedModel
        self._lock = threading.Lock()

    # --- what the server does ----------------------------------------------------------------------
    def config(self):
        from tensorflow_serving.config import model_server_config_pb2

        text = (self.root / "models.config").read_text()
        return {m.name: m for m in text_format.Parse(text, model_server_config_pb2.ModelServerConfig())
                .model_config_list.config}

    def versions(self, name: str) -> list[int]:
        """The versions the policy serves (the real server stalls on a missing base path: so do we)."""
        model = self.config().get(name)
        if model is None:
            raise Failure("NOT_FOUND", f"Servable not found for request: Latest({name})")
        base = self.root / pathlib.PurePosixPath(model.base_path).relative_to("/models")
        on_disk = sorted(int(p.name) for p in base.iterdir() if p.name.isdigit())  # FileNotFoundError: a stall
        policy = model.model_version_policy
        if policy.WhichOneof("policy_choice") == "specific":
            return [v for v in policy.specific.versions if v in on_disk]
        return on_disk[-(policy.latest.num_versions or 1):]

    def model(self, name: str, version: int | None = None):
        served = self.versions(name)
        version = version or max(served)
        if version not in served:
            raise Failure("NOT_FOUND", f"Servable not found for request: Specific({name}, {version})")
        path = self.root / name / str(version)
        with self._lock:
            if path not in self._models:
                self._models[path] = tf.saved_model.load(str(path))
        return version, self._models[path]

    def predict(self, name: str, signature: str, inputs: dict, version: int | None = None) -> dict:
        """{input name: array} -> {output name: array}; a ``Failure`` as the server would answer."""
        status = "OK"
        try:
            _, loaded = self.model(name, version)
            if signature not in loaded.signatures:
                raise Failure("INVALID_ARGUMENT", f"Serving signature name: \"{signature}\" not found in signature def")
            for value in inputs.values():
                size = np.shape(value)[0] if np.ndim(value) else 0
                if size > self.max_batch_size:
                    raise Failure("INVALID_ARGUMENT", f"Task size {size} is larger than maximum input batch size "
                                                      f"{self.max_batch_size}")
            try:
                out = loaded.signatures[signature](**{k: tf.constant(v, tf.string) for k, v in inputs.items()})
            except tf.errors.InvalidArgumentError as error:
                raise Failure("INVALID_ARGUMENT", error.message) from None
            except TypeError as error:  # an input the signature does not name
                raise Failure("INVALID_ARGUMENT", str(error)) from None
            return {key: value.numpy() for key, value in out.items()}
        except Failure as failure:
            status = failure.code
            raise
        finally:
            self.request_count[name, status] += 1

    def metrics(self) -> str:
        lines = ["# TYPE :tensorflow:serving:request_count counter"]
        lines += [f':tensorflow:serving:request_count{{model_name="{m}",status="{s}"}} {n}'
                  for (m, s), n in sorted(self.request_count.items())]
        return "\n".join(lines) + "\n"

    # --- REST ----------------------------------------------------------------------------------------
    def _rest_handler(self):
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def answer(self, code: int, body, content_type="application/json"):
                data = (json.dumps(body) if content_type == "application/json" else body).encode("utf-8")
                self.send_response(code)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def fail(self, failure: Failure):
                self.answer({"NOT_FOUND": 404}.get(failure.code, 400), {"error": failure.message})

            def do_GET(self):
                if self.path == server.metrics_path:
                    return self.answer(200, server.metrics(), "text/plain")
                match = STATUS.match(self.path)
                if not match:
                    return self.answer(404, {"error": "Malformed request: GET " + self.path})
                try:
                    name = match.group(1)
                    if match.group(2):
                        version, loaded = server.model(name)
                        meta = _signature_defs(server.root / name / str(version))
                        return self.answer(200, {"model_spec": {"name": name, "version": str(version)},
                                                 "metadata": {"signature_def": meta}})
                    return self.answer(200, {"model_version_status": [
                        {"version": str(v), "state": "AVAILABLE", "status": {"error_code": "OK", "error_message": ""}}
                        for v in server.versions(name)]})
                except Failure as failure:
                    return self.fail(failure)

            def do_POST(self):
                match = PREDICT.match(self.path)
                if not match:
                    return self.answer(404, {"error": "Malformed request: POST " + self.path})
                try:
                    try:
                        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"null")
                        instances = body["instances"]
                    except (ValueError, KeyError, TypeError):
                        raise Failure("INVALID_ARGUMENT", "JSON Parse error: expected an object with \"instances\"")
                    out = server.predict(match.group(1), body.get("signature_name", "serving_default"),
                                         {"text": np.array(instances, dtype=object)},
                                         int(match.group(2)) if match.group(2) else None)
                except Failure as failure:
                    return self.fail(failure)
                rows = [{key: _plain(value[row]) for key, value in out.items()} for row in range(len(instances))]
                return self.answer(200, {"predictions": rows})

        return Handler

    # --- gRPC ----------------------------------------------------------------------------------------
    def _grpc_servicer(self):
        import grpc
        from tensorflow_serving.apis import predict_pb2, prediction_service_pb2_grpc

        server = self

        class Servicer(prediction_service_pb2_grpc.PredictionServiceServicer):
            def Predict(self, request, context):
                try:
                    out = server.predict(request.model_spec.name, request.model_spec.signature_name or "serving_default",
                                         {key: tf.make_ndarray(proto) for key, proto in request.inputs.items()},
                                         request.model_spec.version.value or None)
                except Failure as failure:
                    context.abort(getattr(grpc.StatusCode, failure.code), failure.message)
                response = predict_pb2.PredictResponse(model_spec=request.model_spec)
                for key, value in out.items():
                    response.outputs[key].CopyFrom(tf.make_tensor_proto(value))
                return response

        return Servicer()

    def __enter__(self):
        import grpc
        from tensorflow_serving.apis import prediction_service_pb2_grpc

        self._http = http.server.ThreadingHTTPServer(("127.0.0.1", 0), self._rest_handler())
        threading.Thread(target=self._http.serve_forever, daemon=True).start()
        self.rest_url = f"http://127.0.0.1:{self._http.server_address[1]}"
        self._grpc = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
        prediction_service_pb2_grpc.add_PredictionServiceServicer_to_server(self._grpc_servicer(), self._grpc)
        self.grpc_target = f"127.0.0.1:{self._grpc.add_insecure_port('127.0.0.1:0')}"
        self._grpc.start()
        return self

    def __exit__(self, *exc):
        self._http.shutdown()
        self._http.server_close()
        self._grpc.stop(None)


def _plain(value):
    """A row of an output -> JSON values (bytes as UTF-8 text), as TF Serving's row format gives them."""
    value = value.tolist() if isinstance(value, (np.ndarray, np.generic)) else value
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value


def _signature_defs(path: pathlib.Path) -> dict:
    from tensorflow.core.protobuf import saved_model_pb2

    saved = saved_model_pb2.SavedModel.FromString((path / "saved_model.pb").read_bytes())
    return {key: json_format.MessageToDict(value) for key, value in saved.meta_graphs[0].signature_def.items()}
