"""gRPC client for a zoo model on TF Serving (``tensorflow-serving-api``): texts in, n-best out.

    python serving/grpc_client.py hello world
    python serving/grpc_client.py --target localhost:8500 --model g2p-luong hello

The request is a ``PredictRequest`` whose ``text`` input is a DT_STRING tensor of shape (batch,);
the answer holds ``outputs`` (batch, n_best) strings, ``scores`` and ``lengths``.
"""
from __future__ import annotations

import argparse

import grpc
import tensorflow as tf
from tensorflow_serving.apis import model_pb2, predict_pb2, prediction_service_pb2_grpc


def predict_request(texts: list[str], model: str = "g2p-luong",
                    signature: str = "serving_default") -> predict_pb2.PredictRequest:
    """texts -> a ``PredictRequest`` with the string tensor ``text`` of shape (batch,)."""
    if isinstance(texts, str) or not all(isinstance(t, str) for t in texts):
        raise TypeError(f"texts must be a list of str, got {texts!r}")
    request = predict_pb2.PredictRequest(model_spec=model_pb2.ModelSpec(name=model, signature_name=signature))
    request.inputs["text"].CopyFrom(tf.make_tensor_proto([t.encode("utf-8") for t in texts], dtype=tf.string,
                                                         shape=[len(texts)]))
    return request


def parse_response(response: predict_pb2.PredictResponse) -> list[list[tuple[str, float]]]:
    """A ``PredictResponse`` -> per text, its n-best (text, score) pairs, best first."""
    outputs = tf.make_ndarray(response.outputs["outputs"])  # (batch, n_best) bytes
    scores = tf.make_ndarray(response.outputs["scores"])  # (batch, n_best) float32
    return [[(o.decode("utf-8"), float(s)) for o, s in zip(row, row_scores)]
            for row, row_scores in zip(outputs, scores)]


def predict(texts: list[str], target: str = "localhost:8500", model: str = "g2p-luong",
            timeout: float = 30.0) -> list[list[tuple[str, float]]]:
    """Sends one ``Predict`` call -> per text, its n-best (text, score) pairs."""
    with grpc.insecure_channel(target) as channel:
        stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)
        return parse_response(stub.Predict(predict_request(texts, model), timeout=timeout))


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("texts", nargs="+")
    p.add_argument("--target", default="localhost:8500")
    p.add_argument("--model", default="g2p-luong")
    args = p.parse_args(argv)
    for text, hypotheses in zip(args.texts, predict(args.texts, args.target, args.model)):
        for output, score in hypotheses:
            print(f"{text}\t{output}\t{score:.4f}")


if __name__ == "__main__":
    main()
