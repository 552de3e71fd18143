"""canonical_overlap: which query molecules a corpus holds, written in any SMILES form."""

from sciml.chem.corpus import _element_key, canonical_overlap


def test_overlap_finds_other_spellings_and_respects_stereo():
    queries = ["OCC", "c1ccccc1", "C[C@H](N)C(=O)O", "CCN", "not a smiles", "C[N+](C)(C)C"]
    corpus = ["CCO", "C1=CC=CC=C1", "C[C@@H](N)C(=O)O", "CCCl", "C[N+](C)(C)C", "xx"]
    # L- and D-alanine differ; the quaternary ammonium matches; garbage matches nothing.
    assert canonical_overlap(queries, corpus) == [0, 1, 5]
    assert canonical_overlap(queries, []) == []


def test_element_key_reads_atoms_not_bonds_or_hydrogens():
    assert _element_key("[2H]C([2H])Oc1ccc(Cl)cc1Br") == (("Br", 1), ("C", 7), ("Cl", 1), ("O", 1))
    assert _element_key("c1cc[nH]c1") == _element_key("C1=CNC=C1") == (("C", 4), ("N", 1))
    assert _element_key("C[Si](C)(C)OB(O)O") == (("B", 1), ("C", 3), ("O", 3), ("Si", 1))
