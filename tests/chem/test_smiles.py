import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rdkit import Chem

from sciml.chem.smiles import (
    InvalidSmilesError,
    canonicalize,
    canonicalize_batch,
    parse_batch,
    parse_smiles,
    standardize_mol,
)

BAD = ["C1CC", "", None, 42, "C(C)(C)(C)(C)C", "c1cccc1", float("nan"), "   "]


def test_canonicalize_gives_one_string_per_molecule():
    assert canonicalize("OCC") == canonicalize("C(O)C") == "CCO"
    assert canonicalize(" c1ccccc1O \n") == "Oc1ccccc1"


def test_canonicalize_keeps_or_drops_stereo():
    assert "@" in canonicalize("C[C@@H](N)C(=O)O")
    assert "@" not in canonicalize("C[C@@H](N)C(=O)O", isomeric=False)


def test_parse_smiles_raises_with_reason():
    with pytest.raises(InvalidSmilesError, match="unclosed ring") as info:
        parse_smiles("C1CC")
    assert isinstance(info.value, ValueError)
    assert info.value.invalid[0].value == "C1CC"


def test_error_lists_every_bad_row_with_index_and_value():
    inputs = ["CCO", *BAD, "c1ccccc1"]
    with pytest.raises(InvalidSmilesError) as info:
        canonicalize_batch(inputs)
    bad = info.value.invalid
    assert [b.index for b in bad] == list(range(1, 1 + len(BAD)))
    assert [b.value for b in bad][:6] == BAD[:6]
    reasons = [b.reason for b in bad]
    assert "unclosed ring" in reasons[0]
    assert reasons[1] == "empty string"
    assert "None" in reasons[2]
    assert "int" in reasons[3]
    assert "valence" in reasons[4]
    assert "kekulize" in reasons[5]
    assert "NaN" in reasons[6]
    assert reasons[7] == "empty string"
    message = str(info.value)
    assert f"{len(BAD)} invalid SMILES of {len(inputs)}" in message
    for b in bad:
        assert f"[{b.index}]" in message
    # RDKit's duplicated kekulisation line is reported once.
    assert reasons[5].count("Can't kekulize") == 1


def test_skip_drops_bad_rows_and_reports_them():
    batch = canonicalize_batch(["OCC", "C1CC", "c1ccccc1", None], errors="skip")
    assert batch.values == ["CCO", "c1ccccc1"]
    assert batch.index.tolist() == [0, 2]
    assert [b.index for b in batch.invalid] == [1, 3]
    assert batch.valid_mask.tolist() == [True, False, True, False]
    assert batch.n_input == 4


def test_nan_keeps_length_with_none():
    batch = parse_batch(["OCC", "C1CC", "N"], errors="nan")
    assert len(batch.values) == 3 and batch.values[1] is None
    assert batch.index.tolist() == [0, 1, 2]
    assert batch.values[2].GetNumAtoms() == 1
    assert [b.index for b in batch.invalid] == [1]


def test_bad_errors_argument():
    with pytest.raises(ValueError, match="errors must be one of"):
        parse_batch(["C"], errors="ignore")


def test_parsing_is_silent_on_stderr(capfd):
    canonicalize_batch(["C1CC", "c1cccc1", "[H]", "C(C)(C)(C)(C)C"], errors="skip")
    captured = capfd.readouterr()
    assert captured.err == ""


def test_standardize_keeps_largest_fragment_and_neutralises():
    assert canonicalize("CC(=O)[O-].[Na+]", standardize=True) == "CC(=O)O"
    assert canonicalize("C[NH3+].[Cl-]", standardize=True) == "CN"
    # A quaternary ammonium has no neutral form and stays charged.
    assert "+" in canonicalize("C[N+](C)(C)C.[Cl-]", standardize=True)
    mol = Chem.MolFromSmiles("CC(=O)[O-].[Na+]")
    standardize_mol(mol, neutralize=False)
    assert Chem.MolToSmiles(mol) == "CC(=O)[O-].[Na+]"  # input untouched
    only_fragment = standardize_mol(mol, neutralize=False)
    assert Chem.MolToSmiles(only_fragment) == "CC(=O)[O-]"


def test_sanitize_false_accepts_bad_valence():
    mol = parse_smiles("C(C)(C)(C)(C)C", sanitize=False)
    assert mol.GetNumAtoms() == 6


def test_canonical_form_is_stable_on_real_molecules(nci_smiles):
    batch = canonicalize_batch(nci_smiles[:1000], errors="skip")
    assert len(batch) > 950
    again = canonicalize_batch(batch.values)
    assert again.values == batch.values


def test_error_survives_pickling():
    import pickle

    with pytest.raises(InvalidSmilesError) as info:
        canonicalize_batch(["C", "C1"])
    clone = pickle.loads(pickle.dumps(info.value))
    assert clone.invalid == info.value.invalid
    assert str(clone) == str(info.value)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.none(), st.integers(), st.text(max_size=12)), max_size=8))
def test_arbitrary_input_never_crashes(values):
    batch = canonicalize_batch(values, errors="nan")
    assert len(batch.values) == len(values)
    bad = {b.index for b in batch.invalid}
    for i, value in enumerate(batch.values):
        assert (value is None) == (i in bad)
    assert np.array_equal(batch.valid_mask, [i not in bad for i in range(len(values))])


@pytest.mark.parametrize("text", ["CC O", "C C", "CCO\tmethanol", "c1ccccc1 benzene"])
def test_internal_whitespace_is_invalid(text):
    # RDKit alone reads the text after a space as the molecule's name: 'CC O' -> ethane.
    with pytest.raises(InvalidSmilesError, match="contains whitespace"):
        parse_smiles(text)
    batch = canonicalize_batch([text, " CCO "], errors="nan")
    assert batch.values == [None, "CCO"]
    assert "contains whitespace at position" in batch.invalid[0].reason
