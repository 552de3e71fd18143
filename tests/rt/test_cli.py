import gzip

import numpy as np
import pandas as pd
import pytest

from sciml.cli import main


@pytest.fixture
def csv(tmp_path, molecules, qed_frame):
    path = tmp_path / "train.csv"
    pd.DataFrame({"smiles": molecules, "qed": qed_frame["qed"]}).to_csv(path, index=False)
    return path


def test_train_predict_generate(tmp_path, csv, trained_rt, capsys):
    model = tmp_path / "rt.pt"
    assert (
        main(
            [
                "rt",
                "train",
                str(csv),
                "--properties",
                "qed",
                "--out",
                str(model),
                "--size",
                "tiny",
                "--epochs",
                "1",
                "--batch-size",
                "12",
                "--no-progress",
            ]
        )
        == 0
    )
    assert model.is_file()
    trained = trained_rt.save(tmp_path / "trained.pt")
    out = tmp_path / "pred.csv"
    assert (
        main(["rt", "predict", "--model", str(trained), "--input", str(csv), "--out", str(out)])
        == 0
    )
    # The input's measured qed stays; the prediction is qed_pred; row numbers the input.
    assert list(pd.read_csv(out).columns) == [
        "row",
        "smiles",
        "qed",
        "qed_pred",
        "max_tanimoto",
        "in_domain",
        "note",
    ]
    greedy = tmp_path / "greedy.csv"
    argv = ["rt", "predict", "--model", str(trained), "--input", str(csv), "--out", str(greedy)]
    assert main([*argv, "--decoding", "greedy"]) == 0
    values = pd.read_csv(greedy)["qed_pred"].to_numpy()
    assert np.allclose(values, np.round(values, 2))  # digits, on the precision grid
    gen = tmp_path / "gen.csv"
    assert (
        main(
            [
                "rt",
                "generate",
                str(trained),
                "CCOc1ccccc1",
                "--target",
                "qed=0.3,0.8",
                "--n",
                "3",
                "--mask",
                "atoms",
                "--repair",
                "--best-of",
                "2",
                "--out",
                str(gen),
            ]
        )
        == 0
    )
    assert "candidates in" in capsys.readouterr().out
    assert (
        main(
            [
                "rt",
                "generate",
                "--model",
                str(trained),
                "--seeds",
                "CCO",
                "--target",
                "logp=1",
                "--out",
                str(gen),
            ]
        )
        == 2
    )
    assert "this model knows: qed" in capsys.readouterr().err


def test_bad_arguments(tmp_path, csv, capsys):
    assert (
        main(
            [
                "rt",
                "train",
                "--train",
                str(csv),
                "--properties",
                "qed",
                "--out",
                "x.pt",
                "--size",
                "huge",
            ]
        )
        == 2
    )
    assert "choose one of: base, small, tiny" in capsys.readouterr().err
    assert main(["rt", "train", "--train", str(csv), "--properties", "sol", "--out", "x.pt"]) == 2
    assert "no column(s) ['sol']" in capsys.readouterr().err


def test_predict_keeps_input_columns_rows_and_rejects_whitespace(tmp_path, trained_rt, capsys):
    model = trained_rt.save(tmp_path / "rt.pt")
    query = tmp_path / "query.csv"
    pd.DataFrame({"id": ["001", "002", "003"], "smiles": ["CCO", "CC O", "c1ccccc1O"]}).to_csv(
        query, index=False
    )
    out = tmp_path / "pred.csv"
    argv = ["rt", "predict", "--model", str(model), "--input", str(query), "--out", str(out)]
    assert main(argv) == 2
    assert "'CC O': contains whitespace" in capsys.readouterr().err and not out.exists()
    for errors, rows in (("nan", [0, 1, 2]), ("skip", [0, 2])):
        assert main([*argv, "--errors", errors]) == 0
        table = pd.read_csv(out, dtype={"id": str})
        assert table.columns.tolist() == [
            "row",
            "id",
            "smiles",
            "qed",
            "max_tanimoto",
            "in_domain",
            "note",
        ]
        assert table["row"].tolist() == rows
        assert table["id"].tolist() == [["001", "002", "003"][r] for r in rows]
        assert table["qed"].isna().tolist() == [r == 1 for r in rows]
    assert "1 invalid SMILES left out of the output" in capsys.readouterr().err


def test_file_problems(tmp_path, csv, trained_rt, capsys):
    model = trained_rt.save(tmp_path / "rt.pt")
    assert (
        main(["rt", "predict", "--model", str(model), "--input", str(tmp_path), "--out", "p.csv"])
        == 2
    )
    assert f"input {tmp_path} is a directory" in capsys.readouterr().err
    assert (
        main(["rt", "predict", "--model", str(model), "--input", str(csv), "--out", str(tmp_path)])
        == 2
    )
    assert f"--out {tmp_path} is an existing directory" in capsys.readouterr().err
    disguised = tmp_path / "gz.csv"
    disguised.write_bytes(gzip.compress(csv.read_bytes()))
    assert (
        main(
            [
                "rt",
                "predict",
                "--model",
                str(model),
                "--input",
                str(disguised),
                "--out",
                str(tmp_path / "p.csv"),
            ]
        )
        == 0
    )
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    assert main(["rt", "train", "--train", str(empty), "--properties", "qed", "--out", "x.pt"]) == 2
    assert f"training data file {empty} is empty" in capsys.readouterr().err
    blocker = tmp_path / "file"
    blocker.write_text("x")
    # The output is checked before training starts.
    assert (
        main(
            [
                "rt",
                "train",
                "--train",
                str(csv),
                "--properties",
                "qed",
                "--out",
                str(blocker / "rt.pt"),
            ]
        )
        == 2
    )
    assert f"cannot write --out {blocker / 'rt.pt'}" in capsys.readouterr().err


def test_predict_reports_applicability_domain(tmp_path, trained_rt, molecules, capsys):
    model = trained_rt.save(tmp_path / "rt.pt")
    query = tmp_path / "query.csv"
    pd.DataFrame({"smiles": [molecules[0], "C" * 60]}).to_csv(query, index=False)
    out = tmp_path / "pred.csv"
    assert (
        main(["rt", "predict", "--model", str(model), "--input", str(query), "--out", str(out)])
        == 0
    )
    table = pd.read_csv(out)
    assert table["max_tanimoto"][0] == 1.0 and table["in_domain"].tolist() == [True, False]
    assert "heavy_atoms 60 outside training range" in table["note"][1]
    assert "1 of 2 molecules are outside the model's applicability domain" in (
        capsys.readouterr().err
    )


def test_train_holds_out_a_validation_fraction_by_canonical_smiles(tmp_path, molecules, capsys):
    from rdkit import Chem
    from rdkit.Chem import QED

    from sciml.rt.cli import _hold_out

    # Each molecule twice, once written differently: both spellings land on one side.
    other = [
        Chem.MolToSmiles(Chem.MolFromSmiles(s), doRandom=True, canonical=False) for s in molecules
    ]
    smiles = [*molecules, *other] * 3
    frame = pd.DataFrame(
        {"smiles": smiles, "qed": [QED.qed(Chem.MolFromSmiles(s)) for s in smiles]}
    )
    train, val = _hold_out(frame, "smiles", 0.25, seed=0)
    canon = lambda col: {Chem.CanonSmiles(s) for s in col}  # noqa: E731
    assert not canon(train["smiles"]) & canon(val["smiles"])
    assert len(canon(val["smiles"])) == 3  # 25% of 12 distinct molecules
    path = tmp_path / "train.csv"
    frame.to_csv(path, index=False)
    model = tmp_path / "rt.pt"
    argv = [
        "rt",
        "train",
        "--train",
        str(path),
        "--properties",
        "qed",
        "--out",
        str(model),
        "--size",
        "tiny",
        "--epochs",
        "1",
        "--batch-size",
        "16",
        "--no-progress",
    ]
    assert main([*argv, "--epoch-size", "24"]) == 0
    assert "validating on 6 held-out molecules (10%" in capsys.readouterr().err
    assert main([*argv, "--val", str(path), "--val-fraction", "0.2"]) == 2
    assert "give --val or --val-fraction, not both" in capsys.readouterr().err
    assert main([*argv, "--val-fraction", "1.5"]) == 2
    assert "--val-fraction must be in [0, 1)" in capsys.readouterr().err


def test_train_init_from_fine_tunes_a_checkpoint_on_a_new_property(
    tmp_path, trained_rt, molecules, capsys
):
    from rdkit import Chem
    from rdkit.Chem import Crippen

    from sciml.rt import RegressionTransformer

    base = trained_rt.save(tmp_path / "qed.pt")
    path = tmp_path / "logp.csv"
    pd.DataFrame(
        {"smiles": molecules, "logp": [Crippen.MolLogP(Chem.MolFromSmiles(s)) for s in molecules]}
    ).to_csv(path, index=False)
    out = tmp_path / "logp.pt"
    argv = [
        "rt",
        "train",
        "--train",
        str(path),
        "--properties",
        "logp",
        "--out",
        str(out),
        "--epochs",
        "1",
        "--batch-size",
        "12",
        "--val-fraction",
        "0",
        "--no-progress",
        "--decimals",
        "1",
        "--init-from",
    ]
    assert main([*argv, str(base)]) == 0
    tuned = RegressionTransformer.load(out)
    assert tuned.property_names == ["logp"]
    assert tuned.config.encoder_overrides == trained_rt.config.encoder_overrides
    assert tuned.tokenizer.vocab[: trained_rt.tokenizer.vocab_size] == trained_rt.tokenizer.vocab
    assert main([*argv, str(tmp_path / "missing.pt")]) == 2
    assert "missing.pt" in capsys.readouterr().err


def test_generate_filters_from_the_command_line(tmp_path, trained_rt, capsys):
    trained = trained_rt.save(tmp_path / "trained.pt")
    gen = tmp_path / "gen.csv"
    argv = [
        "rt",
        "generate",
        "--model",
        str(trained),
        "--seeds",
        "CC(=O)Nc1ccc(O)cc1",
        "--target",
        "qed=0.5",
        "--n",
        "2",
        "--max-rounds",
        "1",
        "--out",
        str(gen),
    ]
    assert main([*argv, "--exclude", "carbonyl=[CX3]=O", "--span-slack", "0"]) == 0
    out = capsys.readouterr().out
    assert "of 2 molecules asked" in out and "filtered" in out
    assert all("=O" not in s for s in pd.read_csv(gen)["smiles"])
    assert main([*argv, "--no-filters"]) == 0
    assert main([*argv, "--exclude", "carbonyl"]) == 2
    assert "--exclude takes NAME=SMARTS" in capsys.readouterr().err
    assert (
        main(
            [
                *argv,
                "--exclude",
                "x=C((",
            ]
        )
        == 2
    )
    assert "unwanted group 'x': RDKit cannot parse SMARTS 'C(('" in capsys.readouterr().err
    assert main([*argv, "--no-filters", "--exclude", "x=C"]) == 2
    assert "contradict" in capsys.readouterr().err


def test_token_outside_the_vocabulary_follows_errors_in_predict_and_generate(
    tmp_path, trained_rt, capsys
):
    model = trained_rt.save(tmp_path / "rt.pt")
    query = tmp_path / "query.csv"
    pd.DataFrame({"smiles": ["CCO", "C[Si](C)(C)C"]}).to_csv(query, index=False)
    out = tmp_path / "pred.csv"
    argv = ["rt", "predict", "--model", str(model), "--input", str(query), "--out", str(out)]
    assert main(argv) == 2
    assert "token '[Si]' is not in the model's vocabulary" in capsys.readouterr().err
    assert main([*argv, "--errors", "nan"]) == 0
    assert pd.read_csv(out)["qed"].isna().tolist() == [False, True]
    gen = [
        "rt",
        "generate",
        "--model",
        str(model),
        "--seeds",
        "C[Si](C)(C)C",
        "--target",
        "qed=0.5",
        "--n",
        "1",
        "--out",
        str(tmp_path / "gen.csv"),
    ]
    assert main(gen) == 2
    assert "token '[Si]' is not in the model's vocabulary" in capsys.readouterr().err
    assert main([*gen, "--errors", "skip"]) == 0
    assert pd.read_csv(tmp_path / "gen.csv").empty


def test_predict_tta_option_matches_the_api(tmp_path, trained_rt, molecules):
    model = trained_rt.save(tmp_path / "rt.pt")
    query = tmp_path / "query.csv"
    pd.DataFrame({"smiles": molecules[:5]}).to_csv(query, index=False)
    out = tmp_path / "pred.csv"
    argv = ["rt", "predict", "--model", str(model), "--input", str(query), "--out", str(out)]
    assert main([*argv, "--tta", "3"]) == 0
    np.testing.assert_allclose(
        pd.read_csv(out)["qed"], trained_rt.predict(molecules[:5], tta=3)["qed"], atol=1e-6
    )
    assert main([*argv, "--tta", "0"]) == 2


def test_generate_pool_option_matches_the_api(tmp_path, trained_rt, capsys):
    model = trained_rt.save(tmp_path / "rt.pt")
    out = tmp_path / "gen.csv"
    argv = ["rt", "generate", "--model", str(model), "--seeds", "CCOc1ccccc1", "--target"]
    argv += ["qed=0.3,0.8", "--n", "2", "--best-of", "2", "--out", str(out)]
    assert main([*argv, "--pool", "3"]) == 0
    api = trained_rt.generate(["CCOc1ccccc1"], {"qed": [0.3, 0.8]}, n=2, best_of=2, pool=3)
    assert pd.read_csv(out)["smiles"].tolist() == api["smiles"].tolist()
    assert main([*argv, "--pool", "0"]) == 2
    assert "pool must be 'auto' or an integer >= 1, got 0" in capsys.readouterr().err


def test_generate_help_states_the_auto_settings(capsys):
    from sciml.rt.generation import AUTO_SETTINGS

    with pytest.raises(SystemExit):
        main(["rt", "generate", "--help"])
    text = " ".join(capsys.readouterr().out.split()).split(" options: ")[1]
    for option, key in (
        ("--mask-fraction", "mask_fraction"),
        ("--best-of", "best_of"),
        ("--similarity", "similarity"),
        ("--pool", "pool"),
    ):
        selfies = AUTO_SETTINGS["selfies"][key]
        smiles = AUTO_SETTINGS["smiles"][key]
        metavar = option[2:].upper().replace("-", "_")
        help_text = text.split(f"{option} {metavar} ")[1].split(" --")[0]
        assert f"{selfies:g} for SELFIES" in help_text, (option, help_text)
        assert (
            f"{smiles:g} for SMILES" in help_text
            or f"{smiles:g} for SELFIES models and SMILES" in help_text
        ), (option, help_text)
