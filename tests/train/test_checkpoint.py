import pickle

import pytest
import torch

from sciml.train import (
    CheckpointError,
    RegressionMLP,
    Standardizer,
    load_checkpoint,
    load_model,
    register_model,
    save_checkpoint,
)


def _model():
    model = RegressionMLP(4, 2, hidden=(8,))
    model.target_scaler.fit(torch.tensor([[0.0, 10.0], [2.0, 30.0]]))
    return model


def test_model_rebuilds_from_the_file_alone(tmp_path):
    model = _model()
    path = save_checkpoint(tmp_path / "m.pt", model, extra={"tasks": ["a", "b"]})
    rebuilt = load_model(path, expected=RegressionMLP)
    x = {"x": torch.randn(3, 4)}
    assert torch.equal(model(x), rebuilt(x))
    assert torch.equal(rebuilt.target_scaler.mean, model.target_scaler.mean)
    assert load_checkpoint(path)["extra"]["tasks"] == ["a", "b"]


def test_checkpoint_of_another_model_is_refused(tmp_path):
    @register_model
    class Other(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.hparams = {}

    path = save_checkpoint(tmp_path / "m.pt", _model())
    with pytest.raises(CheckpointError, match="holds .*RegressionMLP; this loader expects .*Other"):
        load_model(path, expected=Other)
    with pytest.raises(TypeError, match="not registered"):
        load_model(path, expected=Standardizer)


def test_other_format_version_and_foreign_files_are_refused(tmp_path):
    path = save_checkpoint(tmp_path / "m.pt", _model())
    payload = torch.load(path, weights_only=True)
    payload["format_version"] = 99
    torch.save(payload, tmp_path / "v99.pt")
    with pytest.raises(CheckpointError, match="format version 99"):
        load_checkpoint(tmp_path / "v99.pt")
    torch.save({"weights": torch.zeros(2)}, tmp_path / "plain.pt")
    with pytest.raises(CheckpointError, match="not a sciml checkpoint"):
        load_checkpoint(tmp_path / "plain.pt")


class _Evil:
    def __reduce__(self):
        return (print, ("pwned",))


def test_arbitrary_pickle_is_never_unpickled(tmp_path, capsys):
    with open(tmp_path / "evil.pt", "wb") as handle:
        pickle.dump({"format": "sciml.checkpoint", "x": _Evil()}, handle)
    with pytest.raises(CheckpointError, match="holds pickled Python objects") as info:
        load_checkpoint(tmp_path / "evil.pt")
    assert "pwned" not in capsys.readouterr().out
    # Our message only: never torch's advice to retry with weights_only=False.
    assert "weights_only=False" not in str(info.value)
    assert "will likely succeed" not in str(info.value)
    assert info.value.__cause__ is None and info.value.__suppress_context__


def test_classes_outside_sciml_are_not_imported(tmp_path):
    path = save_checkpoint(tmp_path / "m.pt", _model())
    payload = torch.load(path, weights_only=True)
    payload["model"]["cls"] = "os.system"
    torch.save(payload, tmp_path / "os.pt")
    with pytest.raises(
        CheckpointError,
        match="holds os.system, not a registered sciml model class; this loader expects ",
    ):
        load_model(tmp_path / "os.pt", expected=RegressionMLP)


def test_failed_write_leaves_previous_file_intact(tmp_path, monkeypatch):
    path = save_checkpoint(tmp_path / "m.pt", _model())
    before = path.read_bytes()

    def broken_save(obj, f, *args, **kwargs):
        with open(f, "wb") as handle:
            handle.write(b"partial")
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", broken_save)
    with pytest.raises(OSError, match="disk full"):
        save_checkpoint(path, _model())
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["m.pt"]


def test_missing_file_names_the_path(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.pt"):
        load_checkpoint(tmp_path / "nope.pt")
