import re
import urllib.error
from pathlib import Path

import pytest

import sciml.data as data
from sciml.demo import PARTS, run_demo


def _table_after(text: str, title: str) -> list[list[str]]:
    """Body rows of the first markdown table after ``title``, as lists of cells."""
    rows = []
    for line in text[text.index(title) :].splitlines()[1:]:
        if line.startswith("|"):
            rows.append([c.strip() for c in line.strip().strip("|").split("|")])
        elif rows:
            break
    return rows[2:]  # header and |---| rows


def check_fast_report(text: str, out: Path) -> None:
    """What a fast demo report must show (its numbers, not only its headings)."""
    from rdkit import Chem
    from rdkit.Chem import QED

    from sciml.demo import DEMO_DRUGS, results_cell

    headings = [line for line in text.splitlines() if line.startswith("## ")]
    assert [h.split(" ", 2)[1] for h in headings] == ["1.", "2.", "3."]
    assert len(headings) == len(PARTS)
    # ADME: the shipped predictor on every demo drug, a value and a 90% interval around it.
    assert "**The model to use: the shipped `biogen-adme` predictor**" in text
    rows = _table_after(text, "**The model to use: the shipped `biogen-adme` predictor**")
    assert [r[0] for r in rows] == list(DEMO_DRUGS)
    for row in rows:
        value, lower, upper = map(float, re.findall(r"-?\d+\.\d+", row[1]))
        assert lower < value < upper
        assert row[5] in ("yes", "no")
    # its references come from the results files, not from the code
    best = results_cell("adme_best.md", "best (stack)", "mean", section="Random folds")
    da = results_cell(
        "adme_domain_adaptation.md", "MLM-MOSES + MTR-DA", "mean", section="random split"
    )
    assert best and da and f"mean R² {best}" in text and f"reaches {da}" in text
    # Operators: the shipped any-shape model within 10% of the solver on the drawn plate,
    # the unlike shape flagged, both Fisher families fitted within 60% and faster than the solver.
    error = float(re.search(r"cut-cell solver \*\*([\d.]+)%\*\*", text)[1])
    assert error < 10
    assert "gets in domain = False (" in text
    l2 = {
        row[0]: float(row[2].rstrip("%"))
        for row in _table_after(text, "**The seed method: a multi-task DeepONet**")
    }
    assert set(l2) == {"logistic", "newell_whitehead"} and max(l2.values()) < 60
    speedup = re.search(r"\*\*(\d+)x faster\*\*", text)
    assert speedup and int(speedup[1]) > 1
    # RT: 8 molecules with their true RDKit QED, none of them (nor the seeds) trained on.
    rows = _table_after(text, "**QED predicted for a few molecules**")
    assert len(rows) == 8
    for smiles, _, rdkit_qed, seen in rows:
        assert float(rdkit_qed) == pytest.approx(QED.qed(Chem.MolFromSmiles(smiles)), abs=6e-4)
        assert seen == "no"
    # Every part says where it stands against its reference and what to run next, and its cost.
    assert text.count("**Against the reference:**") == 3 and text.count("**Next:**") == 3
    assert len(re.findall(r"^_\d+ s wall, \d+ CPU-s_$", text, re.M)) == 3
    if "rt_generated.png" in text:  # drawn when the RT made at least one valid molecule
        assert (out / "rt_generated.png").stat().st_size > 5_000
    for png in ("darcy_any_shape.png", "deeponet_fisher.png"):
        assert (out / png).stat().st_size > 10_000


def test_fast_demo_writes_report_with_every_part(tmp_path, shared_data):
    check_fast_report(run_demo(tmp_path, fast=True).read_text(), tmp_path)


def test_offline_demo_runs_every_family_on_bundled_data(tmp_path, monkeypatch):
    monkeypatch.delenv("SCIML_DATA_DIR", raising=False)
    monkeypatch.setenv("SCIML_CACHE_DIR", str(tmp_path / "empty-cache"))

    def offline(url, timeout):
        raise urllib.error.URLError("offline")

    monkeypatch.setattr(data.urllib.request, "urlopen", offline)
    text = run_demo(tmp_path / "out", parts=["adme", "rt"], fast=True).read_text()
    assert "*Skipped:*" not in text
    assert "| aspirin |" in text  # the ADME part ran on the shipped predictor
    assert "QED predicted" in text  # and the RT part on molecules shipped with the package


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
