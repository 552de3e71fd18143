"""``sciml pretrain`` options for large corpora: token cache, epoch size, dropout, vocabulary."""

import pytest
import torch

from sciml.chem.transformer import load_stage
from sciml.chem.transformer_cli import _use_token_cache
from sciml.cli import main
from tests.chem._molecules import SMILES
from tests.test_resume import Killed, _kill_after

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture
def corpus(tmp_path):
    path = tmp_path / "corpus.smi"
    path.write_text("\n".join(SMILES) + "\n")
    (tmp_path / "extra.smi").write_text("C[N+](C)(C)CC(=O)[O-]\nIc1ccccc1\n")
    return path


def _pretrain(corpus, out, *more):
    return main(
        [
            "pretrain",
            "--corpus",
            str(corpus),
            "--size",
            "tiny",
            "--batch-size",
            "16",
            "--epoch-size",
            "24",
            "--epochs",
            "3",
            "--dropout",
            "0",
            "--token-cache",
            "on",
            "--vocab-from",
            str(corpus.parent / "extra.smi"),
            "--out",
            str(out),
            "--no-progress",
            *more,
        ]
    )


def test_pretrain_large_corpus_options(corpus, tmp_path, capsys):
    assert _pretrain(corpus, tmp_path / "pre.pt") == 0
    stage = load_stage(tmp_path / "pre.pt")
    last = stage.info["stages"][-1]
    assert last["molecules_seen"] == 72 and last["epochs"] == 3
    assert stage.model.hparams["encoder"]["dropout"] == 0.0
    assert {"[N+]", "[O-]", "I"} <= set(stage.tokenizer.vocab)
    assert list((tmp_path / "cache" / "corpus").glob("tokens-*"))  # ids came from the cache
    assert "3 epochs" in capsys.readouterr().out


def test_pretrain_resumes_to_the_same_weights(corpus, tmp_path, monkeypatch):
    assert _pretrain(corpus, tmp_path / "whole.pt") == 0
    with monkeypatch.context() as patch:
        _kill_after(patch, 2)
        with pytest.raises(Killed):
            _pretrain(corpus, tmp_path / "resumed.pt")
    assert _pretrain(corpus, tmp_path / "resumed.pt", "--resume") == 0
    whole, resumed = (
        load_stage(tmp_path / f"{n}.pt").model.state_dict() for n in ("whole", "resumed")
    )
    for key, value in whole.items():
        torch.testing.assert_close(resumed[key], value)


def test_token_cache_auto_by_corpus_size():
    assert _use_token_cache("auto", 100_000) and not _use_token_cache("auto", 99_999)
    assert _use_token_cache("on", 10) and not _use_token_cache("off", 10**7)
