"""Shared test configuration: quiet, CPU-only, fast mode for notebooks and benchmarks."""

import os

import pytest

os.environ.setdefault("SCIML_FAST", "1")
os.environ.setdefault("SCIML_DEVICE", "cpu")
os.environ.setdefault("MPLBACKEND", "Agg")


@pytest.fixture(scope="module")
def one_thread():
    """Run a module on one torch thread.

    Tiny models on a small shared CPU run fastest, and most repeatably, on one intra-op
    thread; a second one only adds synchronisation. Use with
    ``pytestmark = pytest.mark.usefixtures("one_thread")``.
    """
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def shared_data():
    """Path of the reference data directory; skip when SCIML_DATA_DIR is unset."""
    path = os.environ.get("SCIML_DATA_DIR")
    if not path or not os.path.isdir(path):
        pytest.skip("SCIML_DATA_DIR is not set to the reference data folder")
    return path


try:
    from hypothesis import settings

    # CI runs the same examples every time (no flaky new counter-examples on a green tree);
    # locally hypothesis keeps exploring.
    settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True)
    if os.environ.get("CI"):
        settings.load_profile("ci")
except ImportError:  # hypothesis is a test extra
    pass
