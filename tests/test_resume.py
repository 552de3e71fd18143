"""Every training command resumes a killed run to the same weights as an uninterrupted one.

A kill is simulated right after the k-th ``last.pt`` is written (what ``kill -9`` between
epochs leaves on disk); the same command with ``--resume`` then has to finish with weights
equal to those of a run that was never interrupted.
"""

import json

import pytest
import torch
from rdkit import Chem
from rdkit.Chem import QED

import sciml.train.trainer as trainer_module
from sciml.cli import main
from tests.chem._molecules import SMILES, synthetic_targets

pytestmark = pytest.mark.usefixtures("one_thread")


class Killed(BaseException):
    """Stands for SIGKILL: nothing after it runs, not even ``except Exception``."""


def _kill_after(monkeypatch, k: int) -> None:
    """Make the k-th write of a ``last.pt`` the last thing the process does."""
    real = trainer_module.save_checkpoint
    saved = []

    def save(path, *args, **kwargs):
        out = real(path, *args, **kwargs)
        if str(path).endswith("last.pt"):
            saved.append(path)
            if len(saved) == k:
                raise Killed(path)
        return out

    monkeypatch.setattr(trainer_module, "save_checkpoint", save)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    root = tmp_path_factory.mktemp("inputs")
    frame = synthetic_targets().rename(columns={"logp": "LogP", "mw": "MW"})
    frame.insert(0, "smiles", SMILES)
    frame["qed"] = [QED.qed(Chem.MolFromSmiles(s)) for s in SMILES]
    frame.to_csv(root / "train.csv", index=False)
    (root / "corpus.smi").write_text("\n".join(SMILES) + "\n")
    assert (
        main(
            [
                "pretrain",
                "--corpus",
                str(root / "corpus.smi"),
                "--size",
                "tiny",
                "--epochs",
                "1",
                "--batch-size",
                "16",
                "--out",
                str(root / "pre.pt"),
                "--no-progress",
            ]
        )
        == 0
    )

    from sciml.physics.darcy import DarcyConfig, generate_darcy
    from sciml.physics.geometry import square
    from sciml.physics.storage import save_dataset

    save_dataset(
        generate_darcy(8, {"square": square()}, DarcyConfig(resolution=16), progress=False),
        root / "darcy.nc",
    )
    return root


def _state(path):
    payload = torch.load(path, map_location="cpu", weights_only=True)
    return payload["state_dict"]


def _fit_weights(out):
    meta = json.loads((out / "model.json").read_text())
    if meta["model"] == "gnn":
        return {
            f"{k}/{n}": v
            for k, name in enumerate(meta["extra"]["members"])
            for n, v in _state(out / name).items()
        }
    return _state(out / "encoder.pt")


# name -> (argv with {inp} and {out}, kill after this many epochs, weights of the output)
COMMANDS = {
    "fit gnn (ensemble: killed in member 1)": (
        [
            "fit",
            "--train",
            "{inp}/train.csv",
            "--targets",
            "LogP,MW",
            "--model",
            "gnn",
            "--out",
            "{out}",
            "--epochs",
            "3",
            "--ensemble",
            "2",
            "--set",
            "hidden=16",
            "--set",
            "ffn_hidden=16",
            "--set",
            "descriptors=false",
            "--set",
            "batch_size=8",
            "--set",
            "dropout=0.1",
        ],
        4,
        _fit_weights,
    ),
    "fit transformer (killed in fine-tuning)": (
        [
            "fit",
            "--train",
            "{inp}/train.csv",
            "--targets",
            "LogP,MW",
            "--model",
            "transformer",
            "--out",
            "{out}",
            "--pretrained",
            "{inp}/pre.pt",
            "--adapt",
            "mlm",
            "--head",
            "finetune",
            "--set",
            "adapt_epochs=2",
            "--set",
            "finetune_epochs=3",
            "--set",
            "batch_size=16",
        ],
        3,
        _fit_weights,
    ),
    "pretrain": (
        [
            "pretrain",
            "--corpus",
            "{inp}/corpus.smi",
            "--size",
            "tiny",
            "--epochs",
            "3",
            "--batch-size",
            "16",
            "--objective",
            "both",
            "--out",
            "{out}.pt",
            "--no-progress",
        ],
        1,
        lambda out: _state(f"{out}.pt"),
    ),
    "adapt": (
        [
            "adapt",
            "--init-from",
            "{inp}/pre.pt",
            "--train",
            "{inp}/train.csv",
            "--epochs",
            "3",
            "--batch-size",
            "16",
            "--objective",
            "mtr",
            "--out",
            "{out}.pt",
            "--no-progress",
        ],
        2,
        lambda out: _state(f"{out}.pt"),
    ),
    "rt train": (
        [
            "rt",
            "train",
            "{inp}/train.csv",
            "--properties",
            "qed",
            "--output",
            "{out}.pt",
            "--size",
            "tiny",
            "--epochs",
            "3",
            "--batch-size",
            "16",
            "--no-progress",
        ],
        1,
        lambda out: _state(f"{out}.pt"),
    ),
    "pde train": (
        [
            "pde",
            "train",
            "--train",
            "{inp}/darcy.nc",
            "--out",
            "{out}.pt",
            "--epochs",
            "3",
            "--batch-size",
            "4",
            "--p",
            "8",
            "--width",
            "16",
            "--no-progress",
        ],
        2,
        lambda out: _state(f"{out}.pt"),
    ),
}


@pytest.mark.parametrize("name", list(COMMANDS))
def test_killed_run_resumes_to_the_uninterrupted_weights(
    name, files, tmp_path, monkeypatch, capsys
):
    template, k, weights = COMMANDS[name]

    def argv(out):
        return [a.format(inp=files, out=tmp_path / out) for a in template]

    assert main(argv("straight")) == 0
    expected = weights(tmp_path / "straight")

    with monkeypatch.context() as patch:
        _kill_after(patch, k)
        with pytest.raises(Killed):
            main(argv("killed"))
    assert list(tmp_path.glob("killed*/**/last.pt"))
    assert main(argv("killed")) == 2  # no silent fresh start over an unfinished run
    assert "holds the checkpoints of an unfinished run" in capsys.readouterr().err
    assert main([*argv("killed"), "--resume"]) == 0
    resumed = weights(tmp_path / "killed")
    assert not list(tmp_path.glob("*/**/last.pt")) and not list(tmp_path.glob("*.checkpoints"))

    assert resumed.keys() == expected.keys()
    for key in expected:
        torch.testing.assert_close(resumed[key], expected[key], rtol=0, atol=1e-6, msg=key)


def _pde(files, out, *more):
    return [
        "pde",
        "train",
        "--train",
        str(files / "darcy.nc"),
        "--out",
        str(out),
        "--epochs",
        "3",
        "--batch-size",
        "4",
        "--p",
        "8",
        "--width",
        "16",
        "--no-progress",
        *more,
    ]


def test_time_budget_exits_3_and_an_explicit_resume_path_continues(files, tmp_path, capsys):
    ckpt = tmp_path / "my-checkpoints"
    assert (
        main(_pde(files, tmp_path / "m.pt", "--checkpoint-dir", str(ckpt), "--max-minutes", "1e-9"))
        == 3
    )
    err = capsys.readouterr().err
    assert err.startswith("sciml pde train: stopped: time budget of ")
    assert "after epoch 1 of 3" in err and "--resume" in err and "Traceback" not in err
    assert not (tmp_path / "m.pt").exists() and (ckpt / "last.pt").is_file()
    assert main(_pde(files, tmp_path / "m.pt", "--resume", str(ckpt / "last.pt"))) == 0
    assert main(_pde(files, tmp_path / "straight.pt")) == 0
    resumed, straight = _state(tmp_path / "m.pt"), _state(tmp_path / "straight.pt")
    for key in straight:
        torch.testing.assert_close(resumed[key], straight[key], rtol=0, atol=1e-6)


def test_cpu_budget_exits_3_and_resumes(files, tmp_path, capsys):
    ckpt = tmp_path / "cpu-checkpoints"
    argv = _pde(files, tmp_path / "m.pt", "--checkpoint-dir", str(ckpt), "--max-cpu-minutes")
    assert main([*argv, "1e-9"]) == 3
    err = capsys.readouterr().err
    assert err.startswith("sciml pde train: stopped: CPU budget of ")
    assert "CPU-min used up after epoch 1 of 3" in err and (ckpt / "last.pt").is_file()
    assert main(_pde(files, tmp_path / "m.pt", "--resume", str(ckpt))) == 0
    assert (tmp_path / "m.pt").is_file()


def test_resume_without_checkpoints_is_a_one_line_error(files, tmp_path, capsys):
    assert main(_pde(files, tmp_path / "m.pt", "--resume")) == 2
    err = capsys.readouterr().err
    assert err.startswith("sciml pde") and err.count("\n") == 1
    assert err.endswith(
        f"error: nothing to resume: {tmp_path / 'm.checkpoints'} holds no "
        "last.pt checkpoint (run without --resume to start afresh)\n"
    )


def test_resume_options_are_refused_for_the_random_forest(files, tmp_path, capsys):
    assert (
        main(
            [
                "fit",
                "--train",
                str(files / "train.csv"),
                "--targets",
                "LogP",
                "--model",
                "rf",
                "--out",
                str(tmp_path / "rf"),
                "--resume",
            ]
        )
        == 2
    )
    assert (
        "--resume, --checkpoint-dir and --max-minutes (or --max-cpu-minutes) apply to models "
        "trained in epochs "
        "and stacks (best, gnn, transformer), not 'rf'" in capsys.readouterr().err
    )
    assert not (tmp_path / "rf").exists()


@pytest.mark.parametrize(
    "command", [["fit"], ["pretrain"], ["adapt"], ["rt", "train"], ["pde", "train"]]
)
def test_every_training_command_documents_the_same_options(command, capsys):
    with pytest.raises(SystemExit):
        main([*command, "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "--resume [DIR] continue a killed or time-limited run from its last checkpoint" in text
    assert "--checkpoint-dir DIR folder for the checkpoint written after every epoch" in text
    assert "--max-minutes M time budget (wall clock)" in text
    assert "--max-cpu-minutes M CPU budget" in text
