from sciml.rt._repair import UNPARSABLE, chemistry_problems, repair


def test_chemistry_problems_counts_rdkit_problems():
    assert chemistry_problems("CCO") == 0
    assert chemistry_problems("FC(F)(F)(F)F") == 1  # pentavalent carbon
    assert chemistry_problems("C1CC") == UNPARSABLE


def test_repair_swaps_a_generated_atom_for_a_valid_candidate():
    tokens = ["F", "C", "(", "F", ")", "(", "F", ")", "(", "F", ")", "F"]
    fixed = repair(tokens, {1: ["C", "[Si]", "P"]})
    assert fixed == ["F", "P", *tokens[2:]]
    # A five-membered all-carbon aromatic ring cannot be kekulised; pyrrole can.
    ring = ["c", "1", "c", "c", "c", "c", "1"]
    assert repair(ring, {0: ["c", "[nH]"]}) == ["[nH]", "1", "c", "c", "c", "c", "1"]


def test_repair_leaves_valid_molecules_and_gives_up_without_a_fix():
    assert repair(["C", "C", "O"], {1: ["N"]}) == ["C", "C", "O"]
    bad = ["F", "C", "(", "F", ")", "(", "F", ")", "(", "F", ")", "F"]
    assert repair(bad, {0: ["Cl", "Br"]}) is None
    assert repair(bad, {}) is None
