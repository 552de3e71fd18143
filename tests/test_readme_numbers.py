"""The README's results table quotes only numbers its results files contain (issue 18).

Each row of the table under ``## Results`` names its results file(s) in the first column, as
``(`name.md`)``. Every number in the row's headline must appear in one of those files, either
verbatim or as a more precise number that rounds to it (``0.099`` for ``0.0986``). Two kinds of
numbers are not results and are skipped: a number right after "target" or "goal" (a goal taken
from a paper or an issue) and integers below 10 (counts such as "4 of 6" or "5-fold").

The benchmark manifest is checked too: every results file is written by a manifest entry, no
``make bench`` entry writes a shipped checkpoint, and each results file names the command
(script and arguments) that the manifest runs for it, with a dated header and the load.
"""

from __future__ import annotations

import re
import shlex
import sys
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
sys.path.insert(0, str(ROOT / "benchmarks"))

from _machine import HEADER_ROWS  # noqa: E402
from run_manifest import load_manifest  # noqa: E402

NUMBER = re.compile(r"(?<![\w.])\d+(?:,\d{3})*(?:\.\d+)?")
GOAL = re.compile(r"\b(?:target|goal)\s+(?:of\s+)?\d[\d.,]*", re.IGNORECASE)
FILE = re.compile(r"`([\w.-]+\.md)`")

#: Results files written before the header recorded the command row and the git commit
#: (issue 18); `make bench ONLY=<entry>` rewrites them with the full header.
LEGACY_HEADER = {"regression_transformer", "pde_solvers",
                 "adme_domain_adaptation"}


def results_rows(readme: str) -> list[tuple[str, list[str]]]:
    """``(headline, results file names)`` per row of the table under ``## Results``."""
    start = readme.index("\n## Results")
    end = readme.find("\n## ", start + 1)
    lines = [line for line in readme[start:end].splitlines() if line.startswith("|")]
    rows = []
    for line in lines[2:]:  # the header row and the |---| row
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        rows.append((cells[-1], FILE.findall(cells[0])))
    return rows


def _matches(number: str, found: set[str]) -> bool:
    if number in found:
        return True
    if "." not in number:
        return False
    target = Decimal(number)
    quantum = Decimal(1).scaleb(-len(number.split(".")[1]))
    for other in found:
        if "." in other and len(other.split(".")[1]) > len(number.split(".")[1]):
            value = Decimal(other.replace(",", ""))
            if target in (value.quantize(quantum, ROUND_HALF_UP),
                          value.quantize(quantum, ROUND_HALF_EVEN)):
                return True
    return False


def missing_numbers(headline: str, results_text: str) -> list[str]:
    """Numbers of ``headline`` that ``results_text`` does not contain (see module doc)."""
    found = set(NUMBER.findall(results_text))
    quoted = NUMBER.findall(GOAL.sub(" ", headline))
    return [n for n in quoted
            if not ("." not in n and int(n.replace(",", "")) < 10) and not _matches(n, found)]


README_ROWS = results_rows((ROOT / "README.md").read_text())


def test_results_table_is_parsed():
    assert len(README_ROWS) >= 6
    assert all(files for _, files in README_ROWS), "a results row names no results file"


@pytest.mark.parametrize(("headline", "files"), README_ROWS, ids=[f[0] for _, f in README_ROWS])
def test_readme_numbers_appear_in_their_results_file(headline, files):
    text = "\n".join((RESULTS / name).read_text() for name in files)
    missing = missing_numbers(headline, text)
    assert not missing, f"README numbers not in {', '.join(files)}: {missing}"


def test_checker_flags_a_number_the_file_lacks():
    text = "| RMSE | 0.0986 |\n100,000 SMILES in 0.549 s"
    assert missing_numbers("RMSE 0.099, 100,000 SMILES in 0.55 s (target 5 s)", text) == []
    assert missing_numbers("RMSE 0.098, 100,000 SMILES in 0.56 s, 12 runs", text) == [
        "0.098", "0.56", "12"]
    rows = results_rows("x\n## Results\n\n| what | headline |\n|---|---|\n"
                        "| RT (`a.md`, `b.md`) | RMSE 0.1 |\n\n## Next\n")
    assert rows == [("RMSE 0.1", ["a.md", "b.md"])]


MANIFEST = load_manifest()
BENCH = MANIFEST["bench"]


def test_every_results_file_has_a_manifest_entry():
    written = {w for group in MANIFEST.values() for e in group.values() for w in e["writes"]}
    on_disk = {f"benchmarks/results/{p.name}" for p in RESULTS.iterdir()
               if p.suffix in (".md", ".csv", ".json", ".png")}
    assert on_disk - written == set(), "results files no manifest entry writes"
    assert not [w for e in BENCH.values() for w in e["writes"] if w.startswith("sciml/assets")]


@pytest.mark.parametrize("name", list(BENCH))
def test_results_file_names_its_command_and_machine(name):
    entry = BENCH[name]
    text = (ROOT / entry["writes"][0]).read_text()
    assert entry["script"] in text, f"{entry['writes'][0]} does not name {entry['script']}"
    for args in entry["runs"]:
        shown = shlex.join(args)
        assert shown in text, f"{entry['writes'][0]} does not record the arguments {shown!r}"
    rows = HEADER_ROWS if name not in LEGACY_HEADER else ("date (UTC)", "load average")
    missing = [row for row in rows if f"| {row}" not in text]
    assert not missing, f"{entry['writes'][0]} lacks header rows {missing}"


def test_manifest_rejects_a_bench_entry_that_writes_an_asset(tmp_path):
    bad = tmp_path / "manifest.toml"
    bad.write_text('[bench.x]\nscript = "benchmarks/tokenizer_speed.py"\nruns = [[]]\n'
                   'wall_minutes = 1\ndata = false\nwrites = ["sciml/assets/demo_rt.pt"]\n')
    with pytest.raises(ValueError, match=r"\[bench.x\] writes a shipped checkpoint"):
        load_manifest(bad)
    bad.write_text('[bench.y]\nscript = "benchmarks/nope.py"\nruns = [[]]\n'
                   'wall_minutes = 1\ndata = false\nwrites = []\n')
    with pytest.raises(ValueError, match="script benchmarks/nope.py does not exist"):
        load_manifest(bad)


def test_fang_split_overlaps_are_computed_and_disclosed(shared_data):
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "adme_baselines", ROOT / "benchmarks" / "adme_baselines.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    overlap = module.split_overlap()
    assert overlap["within"] == {"HLM": 0, "RLM": 0, "MDR1_ER": 1, "Sol": 0, "hPPB": 3,
                                 "rPPB": 5}
    assert (overlap["cross"], overlap["unique_test"]) == (1876, 2210)
    text = (RESULTS / "adme_baselines.md").read_text()
    assert "(MDR1_ER 1, hPPB 3, rPPB 5;" in text and "1876 of the 2210" in text
