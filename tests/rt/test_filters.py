import pytest

from sciml.rt.filters import DEFAULT_EXCLUDE, RADICAL, MoleculeFilter


@pytest.mark.parametrize(
    ("smiles", "reason"),
    [
        ("CCOOC", "peroxide"),
        ("C[CH]CC(C)C(C)=NO", RADICAL),  # the radical the RT demo wrote (issue 16)
        ("CC(=O)Cl", "acyl_halide"),
        ("C=C=CC", "cumulene"),
        ("CCN=[N+]=[N-]", "azide"),
        ("CC1CO1", "epoxide_aziridine"),
        ("CC(C)C(C)=NO", None),  # oximes are drug-like: not excluded
        ("CC(=O)Nc1ccc(O)cc1", None),
    ],
)
def test_default_filter_reasons(smiles, reason):
    assert MoleculeFilter().reason(smiles) == reason


def test_custom_and_empty_filters():
    carbonyl = MoleculeFilter({"carbonyl": "[CX3]=O"})
    assert carbonyl.names == [RADICAL, "carbonyl"]
    assert carbonyl.reason("CC(=O)C") == "carbonyl"
    assert carbonyl.reason("CCOOC") is None  # the defaults are replaced, not extended
    assert carbonyl.reason("C[CH]C") == RADICAL
    none = MoleculeFilter({})
    assert none.names == [] and none.reason("C[CH]COOC") is None
    assert MoleculeFilter().names == [RADICAL, *DEFAULT_EXCLUDE]


def test_bad_smarts_names_the_group():
    with pytest.raises(
        ValueError, match=r"unwanted group 'bad': RDKit cannot parse SMARTS 'C\(\('"
    ):
        MoleculeFilter({"bad": "C(("})
    with pytest.raises(ValueError, match="not a valid SMILES"):
        MoleculeFilter().reason("C1CC")
