import os
import stat

import pytest

from sciml._io import atomic_path, atomic_write


def test_atomic_write_replaces_only_on_success(tmp_path):
    target = tmp_path / "table.csv"
    target.write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_write(target) as handle:
            handle.write("half")
            raise RuntimeError("killed")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["table.csv"]
    with atomic_write(target) as handle:
        handle.write("new")
    assert target.read_text() == "new"


def test_written_files_get_normal_permissions(tmp_path):
    umask = os.umask(0o022)
    try:
        with atomic_path(tmp_path / "model.pt") as tmp:
            tmp.write_bytes(b"x")
    finally:
        os.umask(umask)
    assert stat.S_IMODE((tmp_path / "model.pt").stat().st_mode) == 0o644
