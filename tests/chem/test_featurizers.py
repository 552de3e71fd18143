import numpy as np
import pytest
import torch
from rdkit import Chem

from sciml.chem.featurizers import ATOM_FDIM, BOND_FDIM, atom_features, bond_features, mol_to_graph
from sciml.chem.models._graph import GraphDataset
from sciml.chem.models.mpnn import BondMessagePassing, MPNNRegressor


def test_shapes_and_reverse_edge_pairs():
    mol = Chem.MolFromSmiles("CC(=O)Oc1ccccc1C(=O)O")
    g = mol_to_graph(mol)
    assert g.atom_features.shape == (mol.GetNumAtoms(), ATOM_FDIM)
    assert g.edge_index.shape == (2, 2 * mol.GetNumBonds())
    assert g.bond_features.shape == (2 * mol.GetNumBonds(), BOND_FDIM)
    # Edge 2k+1 is edge 2k reversed, with the same bond features.
    np.testing.assert_array_equal(g.edge_index[:, 1::2], g.edge_index[::-1, 0::2])
    np.testing.assert_array_equal(g.bond_features[1::2], g.bond_features[0::2])


def test_one_hot_blocks():
    mol = Chem.MolFromSmiles("c1ccccc1[U]")
    carbon, uranium = atom_features(mol.GetAtomWithIdx(0)), atom_features(mol.GetAtomWithIdx(6))
    assert carbon[5] == 1.0 and carbon[:54].sum() == 1.0  # atomic number 6 -> slot 5
    assert uranium[53] == 1.0 and uranium[:54].sum() == 1.0  # beyond iodine -> "other"
    assert carbon[-2] == 1.0 and uranium[-2] == 0.0  # aromatic flag
    assert carbon[-1] == pytest.approx(0.12011, abs=1e-4)  # mass / 100
    aromatic = bond_features(mol.GetBondWithIdx(0))
    assert aromatic[3] == 1.0 and aromatic[:5].sum() == 1.0
    assert aromatic[5] == 1.0 and aromatic[6] == 1.0  # conjugated, in ring


def test_single_atom_has_no_edges():
    g = mol_to_graph(Chem.MolFromSmiles("C"))
    assert g.n_atoms == 1 and g.n_edges == 0 and g.bond_features.shape == (0, BOND_FDIM)


def test_collate_offsets_edges_and_aligns_targets():
    graphs = [mol_to_graph(Chem.MolFromSmiles(s)) for s in ("CCO", "c1ccccc1", "C")]
    y = np.array([[1.0, np.nan], [2.0, 3.0], [np.nan, 4.0]])
    ds = GraphDataset(graphs, y, descriptors=np.arange(6.0).reshape(3, 2))
    batch = ds.collate([1, 0, 2])
    assert batch["n_atoms"].tolist() == [6, 3, 1]
    assert batch["atom_batch"].tolist() == [0] * 6 + [1] * 3 + [2]
    # The ethanol edges (second molecule) are shifted by benzene's 6 atoms.
    ethanol = batch["edge_index"][:, 12:]
    assert ethanol.min() == 6 and ethanol.max() == 8
    np.testing.assert_array_equal(batch["y"].numpy(), y[[1, 0, 2]].astype(np.float32))
    assert batch["descriptors"][0].tolist() == [2.0, 3.0]
    with pytest.raises(ValueError, match="rows"):
        GraphDataset(graphs, y[:2])


def _embed(net, smiles_list):
    ds = GraphDataset([mol_to_graph(Chem.MolFromSmiles(s)) for s in smiles_list])
    with torch.no_grad():
        return net.embed(ds.collate(list(range(len(ds)))))


def test_embedding_is_invariant_to_atom_order_and_batch_company():
    torch.manual_seed(0)
    net = MPNNRegressor(ATOM_FDIM, BOND_FDIM, n_tasks=1, hidden=32, depth=3, ffn_hidden=16).eval()
    mol = Chem.MolFromSmiles("CC(=O)Nc1ccc(O)cc1")
    order = list(range(mol.GetNumAtoms()))[::-1]
    shuffled = Chem.MolToSmiles(Chem.RenumberAtoms(mol, order), canonical=False)
    alone = _embed(net, ["CC(=O)Nc1ccc(O)cc1"])
    torch.testing.assert_close(_embed(net, [shuffled]), alone, atol=1e-5, rtol=1e-5)
    in_batch = _embed(net, ["c1ccccc1", "CC(=O)Nc1ccc(O)cc1", "CCN"])
    torch.testing.assert_close(in_batch[1:2], alone, atol=1e-5, rtol=1e-5)


def test_reverse_message_is_excluded():
    # In a two-atom molecule every incoming message to u comes from v along v->u, which is
    # exactly the reverse edge; so deeper message passing adds nothing beyond depth 1.
    torch.manual_seed(0)
    deep = BondMessagePassing(ATOM_FDIM, BOND_FDIM, hidden=8, depth=4)
    shallow = BondMessagePassing(ATOM_FDIM, BOND_FDIM, hidden=8, depth=1)
    shallow.load_state_dict(deep.state_dict())
    g = mol_to_graph(Chem.MolFromSmiles("CO"))
    args = [torch.from_numpy(a) for a in (g.atom_features, g.edge_index, g.bond_features)]
    torch.testing.assert_close(deep(*args), shallow(*args))
