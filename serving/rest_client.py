"""REST client for a zoo model on TF Serving: texts in, n-best (text, score) lists out.

    python serving/rest_client.py hello world
    python serving/rest_client.py --url http://localhost:8501 --model g2p-luong hello

The request is TF Serving's row format, ``{"signature_name": ..., "instances": ["hello", ...]}``;
the answer is ``{"predictions": [{"outputs": [...], "scores": [...], "lengths": [...]}, ...]}``,
one object per text with its n-best hypotheses. Standard library only.
"""
from __future__ import annotations

import argparse
import json
import urllib.request


def request_body(texts: list[str], signature: str = "serving_default") -> dict:
    """texts -> the JSON body of ``POST /v1/models/<model>:predict``."""
    if isinstance(texts, str) or not all(isinstance(t, str) for t in texts):
        raise TypeError(f"texts must be a list of str, got {texts!r}")
    return {"signature_name": signature, "instances": list(texts)}


def parse_response(body: dict) -> list[list[tuple[str, float]]]:
    """The server's JSON answer -> per text, its n-best (text, score) pairs, best first."""
    if "error" in body:
        raise RuntimeError(f"TF Serving error: {body['error']}")
    return [list(zip(row["outputs"], row["scores"])) for row in body["predictions"]]


def predict(texts: list[str], url: str = "http://localhost:8501", model: str = "g2p-luong",
            timeout: float = 30.0) -> list[list[tuple[str, float]]]:
    """Sends one predict request -> per text, its n-best (text, score) pairs."""
    request = urllib.request.Request(f"{url}/v1/models/{model}:predict", method="POST",
                                     data=json.dumps(request_body(texts)).encode("utf-8"),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=timeout) as answer:
        return parse_response(json.load(answer))


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("texts", nargs="+")
    p.add_argument("--url", default="http://localhost:8501")
    p.add_argument("--model", default="g2p-luong")
    args = p.parse_args(argv)
    for text, hypotheses in zip(args.texts, predict(args.texts, args.url, args.model)):
        for output, score in hypotheses:
            print(f"{text}\t{output}\t{score:.4f}")


if __name__ == "__main__":
    main()
