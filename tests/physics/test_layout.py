"""The stage layout of sciml.physics, and the old import paths kept for users (deprecated)."""

import importlib
import re
import sys

import pytest

# The old paths warn on import (once per process); these tests exercise them on purpose.
pytestmark = pytest.mark.filterwarnings("ignore:sciml.physics.*deprecated:DeprecationWarning")

MOVED = {
    "sciml.physics.geometry": "sciml.physics.data.geometry",
    "sciml.physics.grf": "sciml.physics.data.grf",
    "sciml.physics.storage": "sciml.physics.data.storage",
    "sciml.physics.geometry_io": "sciml.physics.data.geometry_io",
    "sciml.physics._fd": "sciml.physics.data._fd",
    "sciml.physics._parallel": "sciml.physics.data._parallel",
    "sciml.physics.fisher": "sciml.physics.problems.fisher",
    "sciml.physics.darcy": "sciml.physics.problems.darcy",
    "sciml.physics.heat": "sciml.physics.problems.heat",
    "sciml.physics.deeponet": "sciml.physics.operator.networks",
}


@pytest.mark.parametrize("old, new", MOVED.items())
def test_old_module_paths_are_the_new_modules(old, new):
    assert importlib.import_module(old) is importlib.import_module(new)


@pytest.mark.parametrize("old", [*MOVED, "sciml.physics.pinn", "sciml.physics.operator_data"])
def test_old_module_paths_warn_with_the_new_path(old, monkeypatch):
    monkeypatch.delitem(sys.modules, old, raising=False)
    with pytest.warns(DeprecationWarning, match=r"removed in the next release; import"):
        importlib.import_module(old)


def test_package_code_imports_no_old_path():
    import pathlib

    old = [*MOVED, "sciml.physics.pinn", "sciml.physics.operator_data"]
    root = pathlib.Path(importlib.import_module("sciml").__file__).parent
    offenders = []
    for path in root.rglob("*.py"):
        if path.parent.name == "physics" and path.stem in {o.rsplit(".", 1)[1] for o in old}:
            continue  # the shims themselves
        text = path.read_text()
        for name in old:
            package, _, leaf = name.rpartition(".")
            if re.search(
                rf"(from {re.escape(package)} import [^\n]*\b{leaf}\b|"
                rf"import {re.escape(name)}\b|from {re.escape(name)} import)",
                text,
            ):
                offenders.append(f"{path.relative_to(root)}: {name}")
    assert not offenders, offenders


def test_old_pinn_module_re_exports_the_split_parts():
    from sciml.physics import pinn
    from sciml.physics.operator import derivatives, inverse, residuals

    assert pinn.trunk_derivatives is derivatives.trunk_derivatives
    assert pinn.FisherResidual is residuals.FisherResidual
    assert pinn.fit_fisher_inverse is inverse.fit_fisher_inverse


def test_checkpoint_class_paths_of_old_models_still_resolve():
    from sciml.physics.operator.inverse import FisherInverseDeepONet
    from sciml.physics.operator.networks import DeepONet, MTDeepONet
    from sciml.train import registered_models

    module = importlib.import_module("sciml.physics.deeponet")
    assert module.MTDeepONet is MTDeepONet
    registry = registered_models()
    assert registry["sciml.physics.deeponet.MTDeepONet"] is MTDeepONet
    assert registry["sciml.physics.deeponet.DeepONet"] is DeepONet
    assert registry["sciml.physics.pinn.FisherInverseDeepONet"] is FisherInverseDeepONet


def test_old_operator_data_builders_ask_the_problems():
    from sciml.physics import operator_data
    from sciml.physics.problems.fisher import FisherConfig, generate_fisher

    ds = generate_fisher(2, FisherConfig(nx=8, n_times=3))
    data = operator_data.fisher_dataset(ds)
    assert tuple(data.arrays["branch"].shape) == (2, 8) and data.n_coefficients == 4


def test_library_code_does_not_import_cli_modules():
    import pathlib
    import re

    root = pathlib.Path(importlib.import_module("sciml").__file__).parent / "physics"
    cli_modules = re.compile(r"from sciml(\.physics)?\.(cli|operator_cli) import|import sciml\.cli")
    for path in root.rglob("*.py"):
        if path.name in ("cli.py", "operator_cli.py"):
            continue
        assert not cli_modules.search(path.read_text()), path


def test_no_problem_name_switches_outside_the_resolver():
    import pathlib
    import re

    root = pathlib.Path(importlib.import_module("sciml").__file__).parent / "physics"
    switch = re.compile(r"""(problem|pde)\s*(==|!=|in)\s*\(?["']""")
    for path in root.rglob("*.py"):
        assert not switch.search(path.read_text()), path


def test_inverse_default_family_is_the_logistic_source():
    import numpy as np

    from sciml.physics.operator.inverse import LOGISTIC_VECTOR, FisherInverseDeepONet
    from sciml.physics.problems.fisher import FAMILIES

    np.testing.assert_allclose(LOGISTIC_VECTOR, FAMILIES["logistic"].coefficients(1.0))
    zeldovich = FAMILIES["zeldovich"].coefficients(1.0)
    net = FisherInverseDeepONet(zeldovich, branch_in=4, coord_dim=2, p=4)
    np.testing.assert_allclose(net.reaction_coefficients(2)[0].detach(), 0.5 * zeldovich)
