import hashlib
import io
import urllib.error

import pytest

import sciml.data as data
from sciml.data import (
    REGISTRY,
    ChecksumError,
    DataUnavailableError,
    RemoteFile,
    UnknownDatasetError,
    get_path,
)


@pytest.fixture
def isolated(tmp_path, monkeypatch):
    monkeypatch.setenv("SCIML_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("SCIML_DATA_DIR", raising=False)
    return tmp_path


def _fake_file(monkeypatch, content: bytes, sha: str | None = None):
    spec = RemoteFile(
        "toy",
        "toy/toy.csv",
        "https://example.invalid/toy.csv",
        sha or hashlib.sha256(content).hexdigest(),
        "MIT",
        "nobody",
    )
    monkeypatch.setitem(REGISTRY, "toy", spec)
    return spec


class _Response(io.BytesIO):
    headers = {"Content-Length": "0"}


def test_registry_holds_every_shared_data_file():
    for name in ["biogen_adme", "esol", "chembl30_valid", "chembl30_test", "guacamol_train"]:
        assert name in REGISTRY
    assert sum(name.startswith("biogen_adme_fang/") for name in REGISTRY) == 12


def test_shared_data_dir_is_used_and_verified(shared_data):
    path = get_path("esol")
    assert path.parent.name == "esol" and str(path).startswith(shared_data)


def test_unknown_name_lists_registered_names():
    with pytest.raises(UnknownDatasetError, match="unknown data set 'tox21'.*biogen_adme"):
        get_path("tox21")


def test_download_verifies_checksum_and_caches(isolated, monkeypatch):
    _fake_file(monkeypatch, b"smiles\nCCO\n")
    calls = []
    monkeypatch.setattr(
        data.urllib.request,
        "urlopen",
        lambda url, timeout: calls.append(url) or _Response(b"smiles\nCCO\n"),
    )
    path = get_path("toy")
    assert path.read_bytes() == b"smiles\nCCO\n"
    assert path == isolated / "cache" / "toy" / "toy.csv"
    assert get_path("toy") == path and len(calls) == 1  # second call hits the cache


def test_corrupt_download_raises_and_leaves_nothing(isolated, monkeypatch):
    _fake_file(monkeypatch, b"good", sha="0" * 64)
    monkeypatch.setattr(data.urllib.request, "urlopen", lambda url, timeout: _Response(b"evil"))
    with pytest.raises(ChecksumError, match="expected sha256 0000"):
        get_path("toy")
    assert not any((isolated / "cache").rglob("*.csv")) and not any(
        (isolated / "cache").rglob("*.tmp")
    )


def test_offline_error_says_what_to_do(isolated, monkeypatch):
    _fake_file(monkeypatch, b"x")

    def offline(url, timeout):
        raise urllib.error.URLError("no network")

    monkeypatch.setattr(data.urllib.request, "urlopen", offline)
    with pytest.raises(DataUnavailableError, match="SCIML_DATA_DIR"):
        get_path("toy")


def test_bad_local_copy_is_reported(isolated, monkeypatch):
    _fake_file(monkeypatch, b"right")
    (isolated / "dd" / "toy").mkdir(parents=True)
    (isolated / "dd" / "toy" / "toy.csv").write_bytes(b"wrong")
    monkeypatch.setenv("SCIML_DATA_DIR", str(isolated / "dd"))
    with pytest.raises(ChecksumError, match="toy"):
        get_path("toy")
