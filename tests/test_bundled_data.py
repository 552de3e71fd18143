"""The Biogen ADME set ships inside the package, so the demo and quickstart work offline."""

import gzip
import urllib.request

import pytest

import sciml.data as data
from sciml.chem import load_dataset


@pytest.fixture
def offline(tmp_path, monkeypatch):
    """No SCIML_DATA_DIR, an empty cache, and every download failing."""
    monkeypatch.delenv("SCIML_DATA_DIR", raising=False)
    monkeypatch.setenv("SCIML_CACHE_DIR", str(tmp_path / "cache"))

    def no_network(*args, **kwargs):
        raise OSError("network is unreachable (test)")

    monkeypatch.setattr(urllib.request, "urlopen", no_network)
    return tmp_path


def test_biogen_loads_offline_from_the_bundled_copy(offline):
    path = data.get_path("biogen_adme")
    assert path.is_relative_to(offline / "cache")
    assert data.sha256sum(path) == data.REGISTRY["biogen_adme"].sha256
    frame = load_dataset("biogen_adme")
    assert len(frame) == 3521 and frame["HLM"].notna().sum() == 3087


def test_other_files_still_need_the_network(offline):
    with pytest.raises(data.DataUnavailableError, match="could not be downloaded"):
        data.get_path("esol")


def test_a_corrupt_bundle_is_refused(offline, monkeypatch):
    bundle = offline / "bundled"
    bundle.mkdir()
    with gzip.open(bundle / "ADME_public_set_3521.csv.gz", "wt") as handle:
        handle.write("smiles,HLM\nCCO,1\n")
    monkeypatch.setattr(data, "_BUNDLE_DIR", bundle)
    with pytest.raises(data.ChecksumError, match="bundled with sciml"):
        data.get_path("biogen_adme")
    assert not (offline / "cache" / data.REGISTRY["biogen_adme"].relpath).exists()
