import subprocess
import sys

import pytest

from sciml.cli import main, resolve


def test_help_lists_subcommands(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    for command in ("info", "fit", "predict", "pretrain", "adapt", "rt", "pde", "demo"):
        assert command in out


def test_info_reports_versions_device_and_data_dir(capsys, monkeypatch):
    monkeypatch.setenv("SCIML_DATA_DIR", "/some/where")
    assert main(["info"]) == 0
    out = capsys.readouterr().out
    assert "torch" in out and "device" in out and "/some/where" in out


def test_resolve_lists_valid_names():
    with pytest.raises(ValueError, match="unknown model 'svm'; choose one of: gnn, rf"):
        resolve("model", "svm", {"rf": 1, "gnn": 2})


def test_console_script_runs():
    result = subprocess.run(
        [sys.executable, "-m", "sciml.cli", "--help"], capture_output=True, text=True
    )
    assert result.returncode == 0 and "sciml" in result.stdout


def test_help_does_not_import_torch():
    code = "import sys; from sciml.cli import build_parser; build_parser(); print('torch' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.strip() == "False", result.stderr


def test_pretrain_size_choices_match_the_encoder_table():
    from sciml.chem.transformer_cli import _SIZES
    from sciml.encoder import ENCODER_SIZES

    assert set(_SIZES) == set(ENCODER_SIZES)
