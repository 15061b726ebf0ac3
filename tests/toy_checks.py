"""Checks every toy modality task shares (copy, audio, image): a trained pretrained folder exports
for TF Serving, passes the op check, and ``saved_model_cli run`` (TF Serving's session loader)
answers exactly what ``predict`` answers, n-best and scores included."""
import pathlib
import subprocess
import sys

import numpy as np

import zoo
from zoo import export

SAVED_MODEL_CLI = pathlib.Path(__file__).resolve().parents[1] / "serving" / "saved_model_cli.py"
BEAM, N_BEST = 3, 2


def assert_attention_moves_forward(attention, digits: str) -> None:
    """A right answer's attention (len(digits) + 1, memory): each digit reads a later memory position
    than the one before (where it attends most), a different one each."""
    assert attention.shape[0] == len(digits) + 1  # + </s>
    peaks = attention[: len(digits)].argmax(axis=1)
    assert list(peaks) == sorted(peaks) and len(set(peaks)) == len(digits)


def saved_model_cli_run(version: pathlib.Path, input_name: str, inputs: list, outdir: pathlib.Path,
                        signature: str = "serving_default") -> dict:
    """Runs a signature through the session-based loader -> {output name: array}. The inputs travel in an
    .npy file (``--inputs``): WAV and PNG bytes are too long for a command line."""
    outdir.mkdir(parents=True, exist_ok=True)
    batch = np.empty(len(inputs), dtype=object)
    batch[:] = list(inputs)
    np.save(outdir.parent / f"{outdir.name}-inputs.npy", batch, allow_pickle=True)
    result = subprocess.run([sys.executable, str(SAVED_MODEL_CLI), "run", "--dir", str(version), "--tag_set", "serve",
                             "--signature_def", signature,
                             "--inputs", f"{input_name}={outdir.parent / f'{outdir.name}-inputs.npy'}",
                             "--outdir", str(outdir)], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    return {path.stem: np.load(path, allow_pickle=True) for path in outdir.glob("*.npy")}


def check_export_answers_as_predict(folder: pathlib.Path, inputs: list, tmp_path: pathlib.Path,
                                    atol: float = 1e-4) -> dict:
    """Exports ``folder`` with beam search, checks its ops and that the session loader's answers to
    ``inputs`` (raw values the model reads: strings or bytes) equal ``predict``'s (scores within ``atol``)
    -> its outputs."""
    predictor = zoo.load(folder)
    version = export.export(folder, tmp_path / "exports", beam_size=BEAM, n_best=N_BEST, examples=inputs[:2])
    ops = export.check_serving_ops(version)
    assert "While" in ops and not set(ops) & export.PYTHON_OPS
    name = predictor.frontend.input_signature.name
    out = saved_model_cli_run(version, name, inputs, tmp_path / "cli")
    expected = predictor.decode(inputs, beam_size=BEAM, n_best=N_BEST, alpha=zoo.hub.decoding_config(folder).alpha)
    assert [[o.decode("utf-8") for o in row] for row in out["outputs"]] == [[h.text for h in n] for n in expected]
    np.testing.assert_allclose(out["scores"], [[h.score for h in n] for n in expected], atol=atol)
    assert [e.decode() for e in out["error"]] == [""] * len(inputs)
    return out
