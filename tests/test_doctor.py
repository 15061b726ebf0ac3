import shutil

from zoo import doctor, hub


def test_doctor_passes_on_this_environment():
    lines = []
    assert doctor.run(lines.append), "\n".join(lines)
    assert lines[-1] == "all checks passed" and any("tensorflow-text ops" in line for line in lines)


def test_doctor_names_a_corrupted_model_and_a_wrong_version(tmp_path, monkeypatch):
    source = hub.resolve(hub.list_models()[0])
    shutil.copytree(source, tmp_path / source.name)
    (tmp_path / source.name / "target_vocab.txt").write_text("tampered\n")
    monkeypatch.setattr(hub, "PRETRAINED_DIR", tmp_path)
    monkeypatch.setattr(doctor, "_pins", lambda: {"keras": "0.0.1"})
    lines = []
    assert not doctor.run(lines.append)
    report = "\n".join(lines)
    assert f"FAIL  pretrained {source.name}:" in report and "target_vocab.txt is corrupted" in report
    assert "keras 3.15.1 is installed, the lock pins 0.0.1" in report
