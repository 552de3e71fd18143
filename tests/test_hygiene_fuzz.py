"""Property-based fuzzing of ``sciml predict`` over SMILES strings and CSV shapes (issue 30).

Whatever the SMILES (valid, broken, non-ASCII, isotopes, whitespace, commas, quotes) and
whatever the other columns (names that collide with the output's, cells with separators,
quotes and newlines), with ``--errors nan``:

- the command exits 0, with no traceback;
- every input row comes back, in order, either predicted or with ``invalid SMILES: ...``
  in its ``note``;
- every input column comes back under its own name with its cells unchanged.

With ``--errors raise`` the command lists exactly the rows that ``nan`` marked invalid.
Thirty examples keep it to a few seconds.
"""

import pandas as pd
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from sciml.chem.models import RandomForestModel
from sciml.cli import main
from tests.chem._molecules import SMILES, synthetic_targets

_VALID = [
    "CCO",
    "c1ccccc1",
    "CC(=O)O",
    "[2H]C([2H])([2H])O",
    "[14cH]1ccccc1",
    "CCN(CC)CC",
    "C[C@H](N)C(=O)O",
    "CC(=O)[O-].[Na+]",
    "  CCCO  ",
]
_SMILES_CHARS = "CNOScnos()=#[]123+-@/\\.HBrl \t,;\"'\uff2f\u00e9\u200b"
smiles_cells = st.one_of(
    st.sampled_from(_VALID), st.text(alphabet=_SMILES_CHARS, min_size=0, max_size=10)
)
_NAME_CHARS = "abcXYZ_-.;é\"' 0123"
column_names = st.one_of(
    st.sampled_from(["row", "note", "logp", "in_domain", "max_tanimoto", "id", "SMILES"]),
    st.text(alphabet=_NAME_CHARS, min_size=1, max_size=6).map(str.strip).filter(bool),
)
cells = st.text(alphabet="ab,;\"' \n0.5-NA\u00e9", min_size=0, max_size=6)


@st.composite
def tables(draw):
    n_rows = draw(st.integers(1, 5))
    names = draw(st.lists(column_names.filter(lambda n: n != "smiles"), max_size=3, unique=True))
    frame = pd.DataFrame(
        {name: draw(st.lists(cells, min_size=n_rows, max_size=n_rows)) for name in names}
    )
    frame.insert(
        draw(st.integers(0, len(names))),
        "smiles",
        draw(st.lists(smiles_cells, min_size=n_rows, max_size=n_rows)),
    )
    return frame


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    model = RandomForestModel(n_estimators=5, n_jobs=1, seed=0, descriptor_cache=False)
    model.fit(SMILES, synthetic_targets()[["logp"]])
    return model.save(tmp_path_factory.mktemp("fuzz_model"))


@settings(
    max_examples=30,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(frame=tables())
def test_every_row_comes_back_predicted_or_named(model_dir, tmp_path, capsys, frame):
    query, out = tmp_path / "q.csv", tmp_path / "p.csv"
    frame.to_csv(query, index=False)
    argv = [
        "predict",
        "--model",
        str(model_dir),
        "--input",
        str(query),
        "--out",
        str(out),
        "--overwrite",
    ]
    assert main([*argv, "--errors", "nan"]) == 0
    capsys.readouterr()
    table = pd.read_csv(out, dtype=str, keep_default_na=False)
    given_columns = list(frame.columns)
    row_name = "row_pred" if "row" in given_columns else "row"
    assert list(table.columns[: len(given_columns) + 1]) == [row_name, *given_columns]
    assert table[row_name].tolist() == [str(i) for i in range(len(frame))]
    pd.testing.assert_frame_equal(table[given_columns], frame.astype(str), check_dtype=False)
    prediction = "logp_pred" if "logp" in given_columns else "logp"
    note = "note_pred" if "note" in given_columns else "note"
    invalid = set()
    for i, (value, text) in enumerate(zip(table[prediction], table[note], strict=True)):
        if text.startswith("invalid SMILES: "):
            assert value == "", (frame["smiles"][i], text)
            invalid.add(i)
        else:
            assert float(value) == float(value), (frame["smiles"][i], text)  # a number

    event(f"invalid rows: {'some' if invalid else 'none'}")
    event(f"name collisions: {bool({'row', 'note', 'logp'} & set(given_columns))}")
    code = main(argv)  # errors=raise: exactly those rows, each named
    err = capsys.readouterr().err
    assert "Traceback" not in err
    if invalid:
        assert code == 2
        named = {
            int(line.split("]")[0].strip(" ["))
            for line in err.splitlines()[1:]
            if line.startswith("  [")
        }
        assert named == invalid, err
    else:
        assert code == 0
