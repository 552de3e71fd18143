"""README numbers are bound to the row or key of the results file they cite (issues 18, 29).

Each row of the README's results summary (the table under ``## Results``) ends with an HTML
comment that names, in order, where each number of its result cells comes from::

    | Tox21 ... | gbm+gnn 0.86 | chemprop 0.84 | [file](benchmarks/results/classification.md) <!-- cite: classification.md | Mean AUROC > gbm+gnn | AUROC ; classification.md | Mean AUROC > chemprop | AUROC --> |

A citation is ``FILE.md | ROW | COLUMN``: the cell of a markdown table in that results file whose
first cell reads ``ROW`` (bold and code marks ignored) and whose header cell reads ``COLUMN``;
``SECTION > ROW`` looks only in tables under a heading containing ``SECTION``, and a cell's first
number is its value. ``FILE.json | dotted.key`` reads a JSON results file. The numbers of the
row's result cells (every cell but the first and the last), in order, must equal the cited
values rounded to the README's precision; a number right after "goal", "target" or "paper"
is a goal or a published figure, not a result of this repository, and is not cited. A mutation test changes each cited number of the README in turn
and requires the check to fail.

The benchmark manifest is checked too: every results file is written by a manifest entry, no
``make bench`` entry writes a shipped checkpoint, and each results file names the command
(script and arguments) that the manifest runs for it, with a dated header and the load.
"""

from __future__ import annotations

import json
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

NUMBER = re.compile(r"(?<![\w.])-?\d+(?:,\d{3})*(?:\.\d+)?")
GOAL = re.compile(r"\b(?:target|goal|paper)s?\s*(?:of\s+)?[<>≤≥=~]*\s*-?\d[\d.,]*", re.IGNORECASE)
CITE = re.compile(r"<!--\s*cite:(.*?)-->", re.S)

#: Results files written before the header recorded the command row and the git commit
#: (issue 18); `make bench ONLY=<entry>` rewrites them with the full header.
LEGACY_HEADER = {"regression_transformer", "pde_solvers", "adme_domain_adaptation"}


def _cells(line: str) -> list[str]:
    # A cite comment may hold '|': take it out before splitting the row into cells.
    comment = CITE.search(line)
    body = CITE.sub("", line)
    cells = [c.strip() for c in body.strip().strip("|").split("|")]
    return cells + ([comment.group(0)] if comment else [])


def results_rows(readme: str) -> list[tuple[list[str], list[str]]]:
    """``(result cells, citations)`` per row of the table under ``## Results``."""
    start = readme.index("\n## Results")
    end = readme.find("\n## ", start + 1)
    lines = [line for line in readme[start:end].splitlines() if line.startswith("|")]
    rows = []
    for line in lines[2:]:  # the header row and the |---| row
        match = CITE.search(line)
        # Pipes inside the comment are escaped (\\|) so that the table keeps its cells.
        cites = [c.strip().replace("\\|", "|") for c in match.group(1).split(";")] if match else []
        cells = [c.strip() for c in CITE.sub("", line).strip().strip("|").split("|")]
        rows.append((cells[1:-1], [c for c in cites if c]))
    return rows


def md_tables(text: str):
    """``(heading, header cells, body rows)`` of every markdown table in ``text``."""
    heading, out, lines, i = "", [], text.splitlines(), 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("#"):
            heading = line.lstrip("#").strip()
        if line.startswith("|") and i + 1 < len(lines) and re.match(r"^\|\s*:?-", lines[i + 1]):
            header, rows = _cells(line), []
            i += 2
            while i < len(lines) and lines[i].startswith("|"):
                rows.append(_cells(lines[i]))
                i += 1
            out.append((heading, header, rows))
            continue
        i += 1
    return out


def _plain(cell: str) -> str:
    return re.sub(r"[*`]", "", cell).strip()


def cited_value(cite: str, results: Path = RESULTS) -> str:
    """The number a citation points at (see the module docstring); LookupError if none."""
    parts = [p.strip() for p in cite.split("|")]
    path = results / parts[0]
    if not path.is_file():
        raise LookupError(f"{cite}: no results file {parts[0]}")
    if parts[0].endswith(".json"):
        value = json.loads(path.read_text())
        for key in parts[1].split("."):
            value = value[int(key)] if isinstance(value, list) else value[key]
        return str(value)
    if len(parts) != 3:
        raise LookupError(f"{cite}: expected 'FILE.md | ROW | COLUMN'")
    section, _, row = parts[1].rpartition(">")
    row, section, column = row.strip(), section.strip(), parts[2]
    found = []
    for heading, header, rows in md_tables(path.read_text()):
        if section and section not in heading:
            continue
        columns = [_plain(h) for h in header]
        if column not in columns:
            continue
        j = columns.index(column)
        for cells in rows:
            if _plain(cells[0]) == row and j < len(cells):
                numbers = NUMBER.findall(cells[j].replace("\u2212", "-"))
                if numbers:
                    found.append(numbers[0])
    if not found:
        raise LookupError(f"{cite}: no table cell in {parts[0]} for row {row!r}, column {column!r}")
    if len(set(found)) > 1:
        raise LookupError(f"{cite}: ambiguous ({found}); name a section: 'SECTION > ROW'")
    return found[0]


def agrees(shown: str, value: str) -> bool:
    """Whether the README's ``shown`` is ``value`` rounded to ``shown``'s decimals."""
    shown, value = shown.replace(",", ""), value.replace(",", "")
    decimals = len(shown.split(".")[1]) if "." in shown else 0
    quantum = Decimal(1).scaleb(-decimals)
    exact = Decimal(value)
    return Decimal(shown) in (
        exact.quantize(quantum, ROUND_HALF_UP),
        exact.quantize(quantum, ROUND_HALF_EVEN),
    )


def row_numbers(cells: list[str]) -> list[str]:
    """The result numbers of a row's cells, in order (goals left out)."""
    return [n for cell in cells for n in NUMBER.findall(GOAL.sub(" ", cell))]


def check_row(cells: list[str], cites: list[str], results: Path = RESULTS) -> list[str]:
    """What disagrees between a row's numbers and its citations (empty: all bound)."""
    numbers = row_numbers(cells)
    if len(numbers) != len(cites):
        return [f"{len(numbers)} numbers {numbers} but {len(cites)} citations"]
    problems = []
    for shown, cite in zip(numbers, cites, strict=True):
        try:
            value = cited_value(cite, results)
        except (LookupError, KeyError, IndexError, ValueError) as exc:
            problems.append(str(exc))
            continue
        if not agrees(shown, value):
            problems.append(f"README says {shown}, {cite} holds {value}")
    return problems


README_ROWS = results_rows((ROOT / "README.md").read_text())


def test_results_summary_is_short_and_every_row_cites():
    assert 6 <= len(README_ROWS) <= 12
    assert all(cites for _, cites in README_ROWS), "a results row cites nothing"


@pytest.mark.parametrize(
    ("cells", "cites"), README_ROWS, ids=[c[0][:30] if c else "?" for c, _ in README_ROWS]
)
def test_readme_numbers_equal_the_cells_they_cite(cells, cites):
    problems = check_row(cells, cites)
    assert not problems, problems


def test_changing_any_cited_readme_number_fails_the_check():
    for cells, cites in README_ROWS:
        numbers = row_numbers(cells)
        for k, number in enumerate(numbers):
            changed = list(numbers)
            last = number[-1]
            changed[k] = number[:-1] + ("1" if last != "1" else "2")
            text = " ".join(changed)
            assert check_row([text], cites), f"changing {number} to {changed[k]} went unnoticed"


def test_citation_lookup_on_a_small_results_file(tmp_path):
    (tmp_path / "r.md").write_text(
        "# R\n\n## A\n\n| model | AUROC | n |\n|---|---|---|\n| **gbm** | 0.8571 +- 0.01 | 10 |\n"
        "| rf | 0.840 | 10 |\n\n## B\n\n| model | AUROC |\n|---|---|\n| gbm | 0.70 |\n"
    )
    (tmp_path / "r.json").write_text('{"tox21": {"best": [0.1234, 7]}}')
    assert cited_value("r.md | A > gbm | AUROC", tmp_path) == "0.8571"
    assert cited_value("r.json | tox21.best.1", tmp_path) == "7"
    with pytest.raises(LookupError, match="ambiguous"):
        cited_value("r.md | gbm | AUROC", tmp_path)
    with pytest.raises(LookupError, match="no table cell"):
        cited_value("r.md | A > chemprop | AUROC", tmp_path)
    cites = ["r.md | A > gbm | AUROC", "r.md | A > rf | AUROC"]
    assert check_row(["gbm 0.857 vs rf 0.84 (goal 0.9)"], cites, tmp_path) == []
    assert check_row(["gbm 0.858 vs rf 0.84"], cites, tmp_path)
    assert check_row(["gbm 0.857"], cites, tmp_path)  # a number without its citation
    rows = results_rows(
        "x\n## Results\n\n| task | best | file |\n|---|---|---|\n"
        "| T | 0.86 | f <!-- cite: r.md \\| A > gbm \\| AUROC --> |\n\n## Next\n"
    )
    assert rows == [(["0.86"], ["r.md | A > gbm | AUROC"])]


MANIFEST = load_manifest()
BENCH = MANIFEST["bench"]


def test_every_results_file_has_a_manifest_entry():
    written = {w for group in MANIFEST.values() for e in group.values() for w in e["writes"]}
    on_disk = {
        f"benchmarks/results/{p.name}"
        for p in RESULTS.iterdir()
        if p.suffix in (".md", ".csv", ".json", ".png")
    }
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
    bad.write_text(
        '[bench.x]\nscript = "benchmarks/tokenizer_speed.py"\nruns = [[]]\n'
        'wall_minutes = 1\ndata = false\nwrites = ["sciml/assets/demo_rt.pt"]\n'
    )
    with pytest.raises(ValueError, match=r"\[bench.x\] writes a shipped checkpoint"):
        load_manifest(bad)
    bad.write_text(
        '[bench.y]\nscript = "benchmarks/nope.py"\nruns = [[]]\n'
        "wall_minutes = 1\ndata = false\nwrites = []\n"
    )
    with pytest.raises(ValueError, match="script benchmarks/nope.py does not exist"):
        load_manifest(bad)


def test_fang_split_overlaps_are_computed_and_disclosed(shared_data):
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "adme_baselines", ROOT / "benchmarks" / "adme_baselines.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    overlap = module.split_overlap()
    assert overlap["within"] == {"HLM": 0, "RLM": 0, "MDR1_ER": 1, "Sol": 0, "hPPB": 3, "rPPB": 5}
    assert (overlap["cross"], overlap["unique_test"]) == (1876, 2210)
    text = (RESULTS / "adme_baselines.md").read_text()
    assert "(MDR1_ER 1, hPPB 3, rPPB 5;" in text and "1876 of the 2210" in text


def _long_table_misses(text: str, results: Path) -> list[str]:
    """Decimal numbers of each ``benchmarks/README.md`` row's headline cell that appear in
    none of the results files named in its first cell (a loose check: the long table quotes
    files in prose, so a number is looked up as text, not bound to a cell)."""
    misses = []
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split(" | ")]
        if not line.startswith("| ") or len(cells) < 3 or cells[0] in ("what", "---"):
            continue
        names = re.findall(r"`([\w.-]+\.(?:md|json|csv))`", cells[0])
        body = "".join((results / n).read_text() for n in names if (results / n).is_file())
        misses += [
            f"{names}: {n}" for n in re.findall(r"(?<![\w.])\d+\.\d+", cells[2]) if n not in body
        ]
    return misses


def test_long_table_numbers_appear_in_their_results_files(tmp_path):
    text = (ROOT / "benchmarks" / "README.md").read_text()
    assert _long_table_misses(text, RESULTS) == []
    # ... and the check can fail: a number the named file does not hold is reported.
    (tmp_path / "x.md").write_text("mean R² 0.464\n")
    row = "| a thing (`x.md`) | `cmd` | mean 0.464, then 0.467 |"
    assert _long_table_misses(row, tmp_path) == ["['x.md']: 0.467"]
