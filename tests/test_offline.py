"""The main job on a fresh machine with no network and no SCIML_DATA_DIR (issue 19).

CI always sets SCIML_DATA_DIR, so without these tests the offline path could break unseen.
"""

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

import sciml.data as data

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def offline_env(tmp_path, monkeypatch):
    monkeypatch.delenv("SCIML_DATA_DIR", raising=False)
    monkeypatch.setenv("SCIML_CACHE_DIR", str(tmp_path / "empty-cache"))
    monkeypatch.setenv("SCIML_OFFLINE", "1")
    monkeypatch.setenv("SCIML_FAST", "1")
    return tmp_path


def test_offline_mode_refuses_downloads_with_a_clear_message(offline_env):
    with pytest.raises(data.DataUnavailableError, match="SCIML_OFFLINE is set"):
        data.get_path("esol")
    assert data.get_path("biogen_adme").is_file()  # the bundled copy


def test_quickstart_notebook_runs_offline(offline_env):
    nb = nbformat.read(ROOT / "notebooks" / "00_quickstart.ipynb", as_version=4)
    # The kernel inherits this process's environment: no data folder, no network.
    NotebookClient(
        nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(offline_env)}}
    ).execute()
    outputs = "".join(
        o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
    )
    assert "Biogen ADME set" in outputs
