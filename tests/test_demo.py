import urllib.error

import pytest

import sciml.data as data
from sciml.demo import PARTS, run_demo


def test_fast_demo_writes_report_with_every_part(tmp_path, shared_data):
    report = run_demo(tmp_path, fast=True)
    text = report.read_text()
    assert list(PARTS) == ["adme", "rt", "deeponet"]
    assert "Test R²" in text and "RF-physchem" in text and "Transformer (MTR-DA" in text
    assert "QED predicted" in text and "primed with QED 0.3 and 0.8" in text
    assert "mean relative L2" in text and "x faster" in text
    for png in ("adme_parity.png", "deeponet_fisher.png"):
        assert (tmp_path / png).stat().st_size > 10_000


def test_offline_demo_skips_public_data_and_says_how_to_get_it(tmp_path, monkeypatch):
    monkeypatch.delenv("SCIML_DATA_DIR", raising=False)
    monkeypatch.setenv("SCIML_CACHE_DIR", str(tmp_path / "empty-cache"))

    def offline(url, timeout):
        raise urllib.error.URLError("offline")

    monkeypatch.setattr(data.urllib.request, "urlopen", offline)
    text = run_demo(tmp_path / "out", parts=["adme", "rt"], fast=True).read_text()
    assert "*Skipped:* the Biogen ADME data set is not available offline" in text
    assert "SCIML_DATA_DIR" in text
    assert "QED predicted" in text  # ran on RDKit's bundled molecules instead


def test_unknown_part_lists_the_valid_ones(tmp_path):
    with pytest.raises(ValueError, match="adme, rt, deeponet"):
        run_demo(tmp_path, parts=["adme", "qm9"])


def test_each_part_is_written_as_soon_as_it_ends(tmp_path, monkeypatch):
    import sciml.demo as demo

    seen = {}

    def first(out, fast, seed=0):
        """First part: writes a figure."""
        (out / "first.png").write_bytes(b"png")
        return demo.Section("First part", text="first results", figures=["first.png"])

    def second(out, fast, seed=0):
        """Second part: reads what is on disk, then fails."""
        seen["report"] = (out / "report.md").read_text()
        raise RuntimeError("killed")

    def third(out, fast, seed=0):
        """Third part: never reached."""
        raise AssertionError("not reached")

    monkeypatch.setattr(demo, "PARTS", {"first": first, "second": second, "third": third})
    with pytest.raises(RuntimeError, match="killed"):
        run_demo(tmp_path, fast=True)
    during = seen["report"]
    assert "## 1. First part" in during and "first results" in during
    assert "## Still to come" in during
    assert "- Second part" in during and "- Third part" in during
    after = (tmp_path / "report.md").read_text()
    assert "## 1. First part" in after and "![first.png](first.png)" in after
    assert "**Interrupted:** part 'second' stopped with RuntimeError: killed." in after
    assert "- Second part" in after and "- Third part" in after and "- First part" not in after
    assert (tmp_path / "first.png").read_bytes() == b"png"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["first.png", "report.md"]
