"""``sciml fit`` / ``predict`` / ``pretrain`` / ``adapt`` with awkward files and inputs (issue 17)."""

import errno
import gzip
import tempfile

import numpy as np
import pandas as pd
import pytest

from sciml.chem.models import RandomForestModel, load_model
from sciml.cli import main
from tests.chem._molecules import SMILES, synthetic_targets


@pytest.fixture(scope="module")
def rf_model(tmp_path_factory):
    model = RandomForestModel(n_estimators=10, n_jobs=1, seed=0, descriptor_cache=False)
    model.fit(SMILES, synthetic_targets()[["logp"]])
    return model.save(tmp_path_factory.mktemp("rf"))


@pytest.fixture
def train_csv(tmp_path):
    frame = synthetic_targets()[["logp"]]
    frame.insert(0, "smiles", SMILES)
    path = tmp_path / "train.csv"
    frame.to_csv(path, index=False)
    return path


QUERY = pd.DataFrame(
    {
        "compound_id": ["007", "008", "009", "010", "011"],
        "smiles": ["CCCCCCCO", "CC O", "c1ccccc1C", "CC(=O)[O-].[Na+]", "C1CC"],
        "logp": ["1.1", "NA", "", "0.2", "3"],  # a measured column with the endpoint's name
    }
)


def _query(tmp_path, frame=QUERY):
    path = tmp_path / "query.csv"
    frame.to_csv(path, index=False)
    return path


def _predict(rf_model, query, output, *extra):
    return main(
        ["predict", "--model", str(rf_model), "--input", str(query), "--out", str(output), *extra]
    )


def _read(path):
    return pd.read_csv(path, dtype={"compound_id": str}, keep_default_na=False)


# --------------------------------------------------------------- sciml predict output
@pytest.mark.parametrize("errors", ["nan", "skip"])
def test_predict_keeps_every_input_column_and_row_order(rf_model, tmp_path, capsys, errors):
    out = tmp_path / "pred.csv"
    assert _predict(rf_model, _query(tmp_path), out, "--errors", errors) == 0
    table = _read(out)
    assert table.columns.tolist() == [
        "row",
        "compound_id",
        "smiles",
        "logp",
        "logp_pred",
        "max_tanimoto",
        "in_domain",
        "note",
    ]
    rows = [0, 1, 2, 3, 4] if errors == "nan" else [0, 2, 3]
    assert table["row"].tolist() == rows
    # ID columns come back exactly as given: leading zeros, 'NA' and empty cells.
    assert table["compound_id"].tolist() == QUERY["compound_id"][rows].tolist()
    assert table["logp"].tolist() == QUERY["logp"][rows].tolist()
    expected = load_model(rf_model).predict(["CCCCCCCO", "c1ccccc1C"])["logp"].to_numpy()
    got = table.set_index("row").loc[[0, 2], "logp_pred"].astype(float).to_numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-6)


def test_predict_nan_wording_says_rows_are_kept(rf_model, tmp_path, capsys):
    assert _predict(rf_model, _query(tmp_path), tmp_path / "p.csv", "--errors", "nan") == 0
    err = capsys.readouterr().err
    assert "2 invalid SMILES kept as rows with empty predictions" in err
    assert "skipped" not in err
    assert (
        _predict(rf_model, _query(tmp_path), tmp_path / "p.csv", "--errors", "skip", "--overwrite")
        == 0
    )
    assert "2 invalid SMILES left out of the output" in capsys.readouterr().err


def test_predict_rejects_internal_whitespace(rf_model, tmp_path, capsys):
    # RDKit alone reads 'CC O' as ethane named 'O'.
    out = tmp_path / "p.csv"
    assert _predict(rf_model, _query(tmp_path), out, "--errors", "nan") == 0
    table = _read(out).set_index("row")
    assert table.loc[1, "logp_pred"] == "" and table.loc[1, "in_domain"] == ""
    assert "row 1: 'CC O': contains whitespace" in capsys.readouterr().err


def test_predict_flags_multi_fragment_inputs(rf_model, tmp_path):
    out = tmp_path / "p.csv"
    assert _predict(rf_model, _query(tmp_path), out, "--errors", "skip") == 0
    notes = _read(out).set_index("row")["note"]
    assert "2 fragments, predicted as given" in notes[3]
    assert "fragments" not in notes[0]


def test_predict_reports_applicability_domain(rf_model, tmp_path, capsys):
    frame = pd.DataFrame({"smiles": ["CCCCO", "C" * 300, "CCCCCCCO"]})
    out = tmp_path / "p.csv"
    assert _predict(rf_model, _query(tmp_path, frame), out) == 0
    table = pd.read_csv(out)
    assert table.loc[0, "max_tanimoto"] == 1.0  # a training molecule
    assert table["in_domain"].tolist() == [True, False, True]
    assert "heavy_atoms 300 outside training range" in table.loc[1, "note"]
    err = capsys.readouterr().err
    assert "warning: 1 of 3 molecules are outside the model's applicability domain" in err


def test_predict_streams_chunks_with_global_row_numbers(rf_model, tmp_path, capsys):
    whole, chunked = tmp_path / "whole.csv", tmp_path / "chunked.csv"
    assert _predict(rf_model, _query(tmp_path), whole, "--errors", "nan") == 0
    assert (
        _predict(rf_model, _query(tmp_path), chunked, "--errors", "nan", "--chunk-size", "2") == 0
    )
    assert chunked.read_text() == whole.read_text()
    # errors=raise lists the bad rows of every chunk, by their row in the whole file, and
    # writes nothing.
    out = tmp_path / "raise.csv"
    assert _predict(rf_model, _query(tmp_path), out, "--chunk-size", "2") == 2
    err = capsys.readouterr().err
    assert "2 invalid SMILES of 5" in err and "[1] 'CC O'" in err and "[4] 'C1CC'" in err
    assert not out.exists()


def test_predict_uses_the_streaming_reader(rf_model, tmp_path, monkeypatch):
    import sciml._io

    sizes = []
    original = sciml._io.read_csv_chunks

    def spy(path, chunksize, *args, **kwargs):
        for chunk in original(path, chunksize, *args, **kwargs):
            sizes.append(len(chunk))
            yield chunk

    monkeypatch.setattr(sciml._io, "read_csv_chunks", spy)
    assert (
        _predict(
            rf_model, _query(tmp_path), tmp_path / "p.csv", "--errors", "skip", "--chunk-size", "2"
        )
        == 0
    )
    assert sizes == [2, 2, 1]


# --------------------------------------------------------------------- awkward files
def test_predict_file_problems_are_one_line_messages(rf_model, tmp_path, capsys):
    query = _query(tmp_path, QUERY.iloc[[0, 2]])
    assert _predict(rf_model, tmp_path, tmp_path / "p.csv") == 2
    assert f"input {tmp_path} is a directory, not a file" in capsys.readouterr().err
    assert _predict(rf_model, query, tmp_path) == 2
    assert f"--out {tmp_path} is an existing directory" in capsys.readouterr().err
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    assert _predict(rf_model, empty, tmp_path / "p.csv") == 2
    assert f"input file {empty} is empty" in capsys.readouterr().err
    header = tmp_path / "header.csv"
    header.write_text("smiles\n")
    assert _predict(rf_model, header, tmp_path / "p.csv") == 2
    assert f"input file {header} has a header but no rows" in capsys.readouterr().err
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    assert _predict(rf_model, query, blocker / "p.csv") == 2
    err = capsys.readouterr().err
    assert f"cannot write --out {blocker / 'p.csv'}" in err and "Traceback" not in err


def test_gzip_named_csv_is_read_by_content(rf_model, tmp_path):
    plain = _query(tmp_path, QUERY.iloc[[0, 2]])
    disguised = tmp_path / "really_gzip.csv"
    disguised.write_bytes(gzip.compress(plain.read_bytes()))
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    assert _predict(rf_model, plain, a) == 0 and _predict(rf_model, disguised, b) == 0
    assert a.read_text() == b.read_text()


def test_read_only_output_is_refused_before_loading(rf_model, tmp_path, monkeypatch, capsys):
    def read_only(*args, **kwargs):
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(tempfile, "mkstemp", read_only)
    out = tmp_path / "p.csv"
    assert _predict(rf_model, _query(tmp_path), out) == 2
    err = capsys.readouterr().err
    assert f"cannot write --out {out}: {tmp_path} is not writable (Read-only file system)" in err


# ------------------------------------------------------------------------- sciml fit
def test_fit_checks_out_before_training(train_csv, tmp_path, monkeypatch, capsys):
    calls = []
    monkeypatch.setattr(RandomForestModel, "fit", lambda self, *a, **k: calls.append(1))
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    assert (
        main(
            [
                "fit",
                "--train",
                str(train_csv),
                "--targets",
                "logp",
                "--model",
                "rf",
                "--out",
                str(blocker / "model"),
            ]
        )
        == 2
    )
    assert f"cannot write --out folder {blocker / 'model'}" in capsys.readouterr().err
    assert (
        main(
            [
                "fit",
                "--train",
                str(train_csv),
                "--targets",
                "logp",
                "--model",
                "rf",
                "--out",
                str(blocker),
            ]
        )
        == 2
    )
    assert f"--out folder {blocker} is an existing file" in capsys.readouterr().err
    assert calls == []


def test_fit_rescues_the_model_when_the_final_save_fails(train_csv, tmp_path, monkeypatch, capsys):
    out = tmp_path / "model"
    original = RandomForestModel.save

    def flaky_save(self, directory):
        if str(directory) == str(out):
            raise PermissionError(errno.EACCES, "Permission denied", str(directory))
        return original(self, directory)

    monkeypatch.setattr(RandomForestModel, "save", flaky_save)
    assert (
        main(
            [
                "fit",
                "--train",
                str(train_csv),
                "--targets",
                "logp",
                "--out",
                str(out),
                "--model",
                "rf",
                "--set",
                "n_estimators=5",
                "--set",
                "n_jobs=1",
            ]
        )
        == 2
    )
    err = capsys.readouterr().err
    assert f"could not save the model to {out} (Permission denied)" in err
    rescue = err.split("the fitted model is saved in ")[1].split(" instead")[0]
    assert load_model(rescue).targets == ["logp"]


def test_fit_file_problems(train_csv, tmp_path, capsys):
    base = ["fit", "--targets", "logp", "--out", str(tmp_path / "m"), "--model", "rf"]
    assert main([*base, "--train", str(tmp_path)]) == 2
    assert f"training data {tmp_path} is a directory" in capsys.readouterr().err
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    assert main([*base, "--train", str(empty)]) == 2
    assert f"training data file {empty} is empty" in capsys.readouterr().err
    disguised = tmp_path / "gz.csv"
    disguised.write_bytes(gzip.compress(train_csv.read_bytes()))
    assert main([*base, "--train", str(disguised), "--set", "n_estimators=5"]) == 0


@pytest.mark.parametrize("cell", ["n/a", "NA", "nan", "-"])
def test_fit_names_non_empty_missing_markers(train_csv, tmp_path, capsys, cell):
    frame = pd.read_csv(train_csv)
    frame["logp"] = frame["logp"].astype(object)
    frame.loc[3, "logp"] = cell
    frame.loc[5, "logp"] = ""  # empty: a missing label, fine
    path = tmp_path / "marked.csv"
    frame.to_csv(path, index=False)
    assert (
        main(["fit", "--train", str(path), "--targets", "logp", "--out", str(tmp_path / "m")]) == 2
    )
    err = capsys.readouterr().err
    assert f"column 'logp' has 1 non-numeric values (row 3: {cell!r})" in err
    assert "only empty cells are read as missing labels" in err


# --------------------------------------------------------------- pretrain and adapt
def test_pretrain_and_adapt_file_problems(tmp_path, capsys):
    assert main(["pretrain", "--corpus", str(tmp_path), "--out", str(tmp_path / "p.pt")]) == 2
    assert f"corpus {tmp_path} is a directory" in capsys.readouterr().err
    corpus = tmp_path / "corpus.smi"
    corpus.write_text("CCO\n")
    assert main(["pretrain", "--corpus", str(corpus), "--out", str(tmp_path)]) == 2
    assert f"--out {tmp_path} is an existing directory" in capsys.readouterr().err
    empty = tmp_path / "empty.smi"
    empty.write_text("")
    assert main(["pretrain", "--corpus", str(empty), "--out", str(tmp_path / "p.pt")]) == 2
    assert f"corpus file {empty} is empty" in capsys.readouterr().err
    assert (
        main(
            [
                "adapt",
                "--init-from",
                str(tmp_path),
                "--train",
                str(corpus),
                "--out",
                str(tmp_path / "a.pt"),
            ]
        )
        == 2
    )
    assert f"checkpoint {tmp_path} is a directory" in capsys.readouterr().err


def test_a_failing_final_write_is_one_line_naming_the_path(rf_model, tmp_path, monkeypatch, capsys):
    import sciml._io

    out = tmp_path / "p.csv"

    def refuse(path, *args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied", str(path))

    monkeypatch.setattr(sciml._io, "atomic_write", refuse)
    assert _predict(rf_model, _query(tmp_path), out, "--errors", "skip") == 2
    # The first write after a chunk (its progress file) fails; nothing is left behind.
    assert capsys.readouterr().err == (
        f"sciml predict: error: Permission denied: {out}.partial.json\n"
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["query.csv"]


def test_predict_leaves_the_descriptor_cache_alone(tmp_path, monkeypatch):
    # A prediction file's molecules are seen once: caching them would grow with the file.
    import shutil

    cache = tmp_path / "cache"
    monkeypatch.setenv("SCIML_CACHE_DIR", str(cache))
    model = RandomForestModel(n_estimators=5, n_jobs=1, descriptor_cache=True)
    folder = model.fit(SMILES, synthetic_targets()[["logp"]]).save(tmp_path / "rf")
    assert any((cache / "descriptors").rglob("part-*.npz"))  # fitting does use it
    shutil.rmtree(cache)
    assert _predict(folder, _query(tmp_path), tmp_path / "p.csv", "--errors", "skip") == 0
    assert not any(cache.rglob("part-*.npz"))
