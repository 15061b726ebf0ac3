"""gRPC client for a zoo model on TF Serving (``tensorflow-serving-api``): texts in, n-best out.

    python serving/grpc_client.py hello world
    python serving/grpc_client.py --target localhost:8500 --model g2p-luong hello

The request is a ``PredictRequest`` whose ``text`` input is a DT_STRING tensor of shape (batch,);
the answer holds ``outputs`` (batch, n_best) strings, ``scores``, ``lengths`` and ``error`` (batch,).
Lists longer than ``MAX_BATCH`` (the server's ``max_batch_size``) go as several calls. Every failure
is a ``ServingError`` with one line: the server's status and message, an unreachable server or a
timeout; from the shell, that line on stderr and exit status 1 (also when the model could not read
an input: its reason, per input).
"""
from __future__ import annotations

import argparse
import sys
from typing import NamedTuple

import grpc
import tensorflow as tf
from tensorflow_serving.apis import model_pb2, predict_pb2, prediction_service_pb2_grpc

MAX_BATCH = 512  # serving/batching.config: max_batch_size


class ServingError(RuntimeError):
    """The server refused the call, could not be reached, or did not answer in time."""


class Answer(NamedTuple):
    """One text's answer: its n-best (output, score) pairs, best first, and ``error``: "" or why the
    model could not read the text (then the outputs are empty)."""

    hypotheses: list
    error: str


def predict_request(texts: list[str], model: str = "g2p-luong",
                    signature: str = "serving_default") -> predict_pb2.PredictRequest:
    """texts -> a ``PredictRequest`` with the string tensor ``text`` of shape (batch,)."""
    if isinstance(texts, str) or not all(isinstance(t, str) for t in texts):
        raise TypeError(f"texts must be a list of str, got {texts!r}")
    request = predict_pb2.PredictRequest(model_spec=model_pb2.ModelSpec(name=model, signature_name=signature))
    request.inputs["text"].CopyFrom(tf.make_tensor_proto([t.encode("utf-8") for t in texts], dtype=tf.string,
                                                         shape=[len(texts)]))
    return request


def parse_response(response: predict_pb2.PredictResponse) -> list[Answer]:
    """A ``PredictResponse`` -> one ``Answer`` per text."""
    outputs = tf.make_ndarray(response.outputs["outputs"])  # (batch, n_best) bytes
    scores = tf.make_ndarray(response.outputs["scores"])  # (batch, n_best) float32
    errors = tf.make_ndarray(response.outputs["error"]) if "error" in response.outputs else [b""] * len(outputs)
    return [Answer([] if error else [(o.decode("utf-8"), float(s)) for o, s in zip(row, row_scores)],
                   error.decode("utf-8"))
            for row, row_scores, error in zip(outputs, scores, errors)]


def call(stub, request: predict_pb2.PredictRequest, target: str, timeout: float) -> predict_pb2.PredictResponse:
    """One ``Predict`` call; a one-line ``ServingError`` for an error status."""
    try:
        return stub.Predict(request, timeout=timeout)
    except grpc.RpcError as error:
        code = error.code()
        if code == grpc.StatusCode.UNAVAILABLE:
            raise ServingError(f"cannot reach TF Serving at {target}: {error.details()}") from None
        if code == grpc.StatusCode.DEADLINE_EXCEEDED:
            raise ServingError(f"no answer from {target} within {timeout:g} s") from None
        raise ServingError(f"TF Serving answered {code.name}: {' '.join(str(error.details()).split())}") from None


def predict(texts: list[str], target: str = "localhost:8500", model: str = "g2p-luong",
            timeout: float = 30.0, signature: str = "serving_default") -> list[Answer]:
    """Sends the texts (in calls of at most ``MAX_BATCH``) -> one ``Answer`` per text."""
    predict_request(texts)  # type check before anything is sent
    answers = []
    with grpc.insecure_channel(target) as channel:
        stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)
        for start in range(0, len(texts), MAX_BATCH):
            request = predict_request(texts[start:start + MAX_BATCH], model, signature)
            answers += parse_response(call(stub, request, target, timeout))
    return answers


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("texts", nargs="+")
    p.add_argument("--target", default="localhost:8500")
    p.add_argument("--model", default="g2p-luong")
    p.add_argument("--timeout", type=float, default=30.0, help="seconds to wait for each answer")
    args = p.parse_args(argv)
    try:
        answers = predict(args.texts, args.target, args.model, args.timeout)
    except ServingError as error:
        print(f"grpc_client: error: {error}", file=sys.stderr)
        return 1
    status = 0
    for text, answer in zip(args.texts, answers):
        if answer.error:
            print(f"grpc_client: {text!r}: {answer.error}", file=sys.stderr)
            status = 1
        for output, score in answer.hypotheses:
            print(f"{text}\t{output}\t{score:.4f}")
    return status


if __name__ == "__main__":
    sys.exit(main())
