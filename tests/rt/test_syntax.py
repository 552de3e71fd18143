import pytest
from rdkit import Chem, rdBase

from sciml.chem.tokenizer import tokenize_smiles
from sciml.rt._syntax import SmilesSyntax

VOCAB = ["C", "c", "O", "N", "(", ")", "1", "2", "=", "#", ".", "[nH]", "%10"]
IDS = {t: i for i, t in enumerate(VOCAB)}


def ids(smiles: str) -> list[int | None]:
    return [None if t == "?" else IDS[t] for t in (tokenize_smiles(smiles.replace("?", "C")))]


def with_holes(tokens: str) -> list[int | None]:
    return [None if t == "?" else IDS[t] for t in tokens.split()]


@pytest.mark.parametrize(
    "smiles", ["CCO", "c1ccccc1O", "CC(=O)Nc1ccc(O)cc1", "C1CC2CCC1C2", "C#N.O", "C%10CC%10"]
)
def test_valid_smiles_are_feasible(smiles):
    assert SmilesSyntax(VOCAB).feasible(ids(smiles))


@pytest.mark.parametrize(
    "tokens",
    [
        "C ( ) C",
        "( C",
        "C (",
        "C =",
        "C ( 1 C",
        "C = ) C",
        "C ) C",
        "C 1 C C",
        "C ( ( C ) )",
        ". C",
        "C ( C",
        "C 1 1",
    ],
)
def test_unparsable_sequences_are_not(tokens):
    with rdBase.BlockLogs():
        assert Chem.MolFromSmiles(tokens.replace(" ", ""), sanitize=False) is None
    assert not SmilesSyntax(VOCAB).feasible(with_holes(tokens))


@pytest.mark.parametrize(
    "tokens, ok",
    [
        ("C ( ? C", False),
        ("C ( ? ? ? C", True),
        ("C ( ? ? ( C", False),
        ("C 1 C ?", True),
        ("C 1 C 2 ?", False),
        ("C ? ( C", False),
        ("C ( ? ?", True),
        ("C ) ? C", False),
    ],
)
def test_holes_count_as_any_token(tokens, ok):
    # A necessary condition only: holes are assumed free, so it never rejects a completable row.
    assert SmilesSyntax(VOCAB).feasible(with_holes(tokens)) is ok
