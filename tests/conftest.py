"""Shared test configuration: quiet, CPU-only, fast mode for notebooks and benchmarks."""

import os

import pytest

os.environ.setdefault("SCIML_FAST", "1")
os.environ.setdefault("SCIML_DEVICE", "cpu")
os.environ.setdefault("MPLBACKEND", "Agg")


@pytest.fixture
def shared_data():
    """Path of the reference data directory; skip when SCIML_DATA_DIR is unset."""
    path = os.environ.get("SCIML_DATA_DIR")
    if not path or not os.path.isdir(path):
        pytest.skip("SCIML_DATA_DIR is not set to the reference data folder")
    return path
