"""One CLI vocabulary (issue 19): help on every option, old spellings still work."""

import argparse

import pytest

from sciml.cli import build_parser, main


def _parsers(parser: argparse.ArgumentParser, path=()):
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _parsers(sub, (*path, name))


def test_every_option_of_every_command_has_a_description():
    missing = []
    for path, parser in _parsers(build_parser()):
        for action in parser._actions:
            if action.help == argparse.SUPPRESS or isinstance(action, argparse._SubParsersAction):
                continue
            if not (action.help or "").strip():
                missing.append(
                    f"sciml {' '.join(path)} {'/'.join(action.option_strings) or action.dest}"
                )
    assert not missing, "options without help:\n" + "\n".join(missing)


def test_data_and_output_options_share_one_vocabulary():
    seen = {}
    for path, parser in _parsers(build_parser()):
        for action in parser._actions:
            if action.help == argparse.SUPPRESS:
                continue
            for flag in action.option_strings:
                seen.setdefault(flag, []).append(" ".join(path))
    for old in ("--output", "--smiles-column", "--data"):
        assert old not in seen, f"{old} is still advertised by {seen.get(old)}"
    assert {"--out", "--smiles-col", "--seed"} <= set(seen)


@pytest.mark.parametrize(
    "argv",
    [
        ["rt", "predict", "m.pt", "in.csv", "--output", "o.csv"],
        [
            "rt",
            "train",
            "in.csv",
            "--properties",
            "qed",
            "--output",
            "x.pt",
            "--smiles-column",
            "SMILES",
            "--precision",
            "3",
        ],
    ],
)
def test_old_spellings_still_parse_with_a_deprecation_message(argv, capsys, tmp_path):
    code = main(argv)  # the files do not exist: the command fails after the warnings
    err = capsys.readouterr().err
    assert code == 2
    assert "--output is deprecated" in err and "use --out" in err
    assert "positional argument is deprecated" in err
    if "--precision" in argv:
        assert "--smiles-column is deprecated" in err and "use --decimals 3" in err


def test_pde_data_option_still_parses_with_a_deprecation_message(capsys, tmp_path):
    code = main(
        [
            "pde",
            "predict",
            "--model",
            str(tmp_path / "m.pt"),
            "--data",
            str(tmp_path / "x.nc"),
            "--out",
            str(tmp_path / "o.nc"),
        ]
    )
    err = capsys.readouterr().err
    assert code == 2 and "--data is deprecated" in err and "use --input" in err


def test_one_error_prefix_names_the_whole_command(capsys, tmp_path):
    assert (
        main(
            [
                "rt",
                "predict",
                "--model",
                str(tmp_path / "m.pt"),
                "--input",
                str(tmp_path / "in.csv"),
                "--out",
                str(tmp_path / "o.csv"),
            ]
        )
        == 2
    )
    assert capsys.readouterr().err.startswith("sciml rt predict: error: ")
    assert (
        main(
            [
                "pde",
                "predict",
                "--model",
                str(tmp_path / "m.pt"),
                "--input",
                str(tmp_path / "x.nc"),
                "--out",
                str(tmp_path / "o.nc"),
            ]
        )
        == 2
    )
    assert capsys.readouterr().err.startswith("sciml pde predict: error: ")


def test_info_prints_no_third_party_banner():
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-m", "sciml.cli", "info"], capture_output=True, text=True, check=True
    )
    assert "deepxde" in done.stdout
    assert "backend" not in (done.stdout + done.stderr).lower()


def test_one_spelling_for_start_checkpoints_progress_and_sample_indices():
    seen = {}
    for path, parser in _parsers(build_parser()):
        for action in parser._actions:
            if action.help == argparse.SUPPRESS:
                continue
            for flag in action.option_strings:
                seen.setdefault(flag, []).append(" ".join(path))
    for old in ("--init", "--quiet"):
        assert old not in seen, f"{old} is still advertised by {seen.get(old)}"
    assert "adapt" in seen["--init-from"] and "pde train" in seen["--init-from"]
    assert "--checkpoint" not in [f for f, where in seen.items() if "adapt" in where]
    assert "pde predict" in seen["--sample-index"] and "pde predict" not in seen.get(
        "--samples", []
    )


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["adapt", "--checkpoint", "missing.pt", "--train", "x.csv", "--out", "o.pt"],
            "--checkpoint is deprecated",
        ),
        (
            ["tune", "--train", "x.csv", "--targets", "y", "--out", "d", "--quiet"],
            "--quiet is deprecated",
        ),
    ],
)
def test_renamed_options_still_parse_with_a_deprecation_message(argv, message, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and "will be removed in the next release" in err
