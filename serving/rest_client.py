"""REST client for a zoo model on TF Serving: texts in, n-best (text, score) lists out.

    python serving/rest_client.py hello world
    python serving/rest_client.py --url http://localhost:8501 --model g2p-luong hello

The request is TF Serving's row format, ``{"signature_name": ..., "instances": ["hello", ...]}``;
the answer is ``{"predictions": [{"outputs": [...], "scores": [...], "lengths": [...], "error": ""},
...]}``, one object per text with its n-best hypotheses, or ``{"error": "..."}`` for a refused request.
Lists longer than ``MAX_BATCH`` (the server's ``max_batch_size``) go as several requests. Every
failure is a ``ServingError`` with one line saying what happened: the server's own error message, a
refused connection or a timeout; from the shell, that line on stderr and exit status 1 (also when the
model could not read an input: its reason, per input). Standard library only.
"""
from __future__ import annotations

import argparse
import json
import socket
import sys
import urllib.error
import urllib.request
from typing import NamedTuple

MAX_BATCH = 512  # serving/batching.config: max_batch_size


class ServingError(RuntimeError):
    """The server refused the request, could not be reached, or did not answer in time."""


class Answer(NamedTuple):
    """One text's answer: its n-best (output, score) pairs, best first, and ``error``: "" or why the
    model could not read the text (then the outputs are empty)."""

    hypotheses: list
    error: str


def one_line(message) -> str:
    """A server message (TensorFlow's span several lines) as one line."""
    return " ".join(str(message).split())


def request_body(texts: list[str], signature: str = "serving_default") -> dict:
    """texts -> the JSON body of ``POST /v1/models/<model>:predict``."""
    if isinstance(texts, str) or not all(isinstance(t, str) for t in texts):
        raise TypeError(f"texts must be a list of str, got {texts!r}")
    return {"signature_name": signature, "instances": list(texts)}


def parse_response(body: dict) -> list[Answer]:
    """The server's JSON answer -> one ``Answer`` per text; a ``ServingError`` for ``{"error": ...}``."""
    if "error" in body:
        raise ServingError(f"TF Serving error: {one_line(body['error'])}")
    return [Answer(list(zip(row["outputs"], row["scores"])) if not row.get("error") else [], row.get("error", ""))
            for row in body["predictions"]]


def post(url: str, body: dict, timeout: float) -> dict:
    """POSTs JSON -> the JSON answer; a one-line ``ServingError`` for an error answer or no answer."""
    request = urllib.request.Request(url, method="POST", data=json.dumps(body).encode("utf-8"),
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            return json.load(answer)
    except urllib.error.HTTPError as error:  # 4xx / 5xx: TF Serving says why in {"error": ...}
        text = error.read().decode("utf-8", "replace")
        try:
            message = json.loads(text)["error"]
        except (ValueError, KeyError, TypeError):
            message = text.strip() or error.reason
        raise ServingError(f"TF Serving answered HTTP {error.code}: {one_line(message)}") from None
    except (TimeoutError, socket.timeout):
        raise ServingError(f"no answer from {url} within {timeout:g} s") from None
    except urllib.error.URLError as error:
        if isinstance(error.reason, (TimeoutError, socket.timeout)):
            raise ServingError(f"no answer from {url} within {timeout:g} s") from None
        raise ServingError(f"cannot reach TF Serving at {url}: {error.reason}") from None


def predict(texts: list[str], url: str = "http://localhost:8501", model: str = "g2p-luong",
            timeout: float = 30.0, signature: str = "serving_default") -> list[Answer]:
    """Sends the texts (in requests of at most ``MAX_BATCH``) -> one ``Answer`` per text."""
    request_body(texts)  # type check before anything is sent
    endpoint = f"{url.rstrip('/')}/v1/models/{model}:predict"
    answers = []
    for start in range(0, len(texts), MAX_BATCH):
        answers += parse_response(post(endpoint, request_body(texts[start:start + MAX_BATCH], signature), timeout))
    return answers


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("texts", nargs="+")
    p.add_argument("--url", default="http://localhost:8501")
    p.add_argument("--model", default="g2p-luong")
    p.add_argument("--timeout", type=float, default=30.0, help="seconds to wait for each answer")
    args = p.parse_args(argv)
    try:
        answers = predict(args.texts, args.url, args.model, args.timeout)
    except ServingError as error:
        print(f"rest_client: error: {error}", file=sys.stderr)
        return 1
    status = 0
    for text, answer in zip(args.texts, answers):
        if answer.error:
            print(f"rest_client: {text!r}: {answer.error}", file=sys.stderr)
            status = 1
        for output, score in answer.hypotheses:
            print(f"{text}\t{output}\t{score:.4f}")
    return status


if __name__ == "__main__":
    sys.exit(main())
