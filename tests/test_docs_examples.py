"""Every code block in the README and in docs/ runs as written (issue 19).

Blocks of one file run top to bottom in one temporary folder, as a reader following the
page would run them: ``python`` blocks are executed (each in a fresh namespace, so each
must be self-contained), and every ``sciml ...`` line of a ``bash`` block is run through
the CLI's entry point. ``make`` and ``conda`` lines set up environments and are skipped;
``text`` blocks are outlines, not code.
"""

import re
import shlex
from pathlib import Path

import pytest

from sciml.cli import main

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.S | re.M)


def blocks(page: Path) -> list[tuple[str, str]]:
    return [(m[1], m[2]) for m in FENCE.finditer(page.read_text())]


def test_every_block_is_tagged_with_a_language_we_run_or_mark_as_an_outline():
    for page in PAGES:
        for language, _ in blocks(page):
            assert language in ("python", "bash", "text"), f"{page.name}: ```{language}"


@pytest.mark.parametrize("page", PAGES, ids=[p.name for p in PAGES])
def test_code_blocks_run(page, tmp_path, monkeypatch, shared_data):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SCIML_FAST", "1")
    ran = 0
    for language, code in blocks(page):
        if language == "python":
            exec(compile(code, f"{page.name} block", "exec"), {"__name__": "__docs__"})
            ran += 1
        elif language == "bash":
            for line in code.splitlines():
                words = shlex.split(line, comments=True)
                if not words or words[0] in ("make", "conda"):
                    continue
                assert words[0] == "sciml", f"{page.name}: not a sciml command: {line}"
                try:
                    code_ = main(words[1:])
                except SystemExit as exc:  # --help
                    code_ = exc.code
                assert code_ == 0, f"{page.name}: exit {code_}: {line}"
                ran += 1
    assert ran, f"{page.name} has no runnable block"
