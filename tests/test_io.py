import gzip
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


def test_compression_is_found_by_content(tmp_path):
    from sciml._io import compression_of, read_csv

    plain = tmp_path / "plain.csv.gz"  # named .gz, but plain text
    plain.write_text("smiles,id\nCCO,007\n")
    disguised = tmp_path / "data.csv"  # named .csv, but gzip
    disguised.write_bytes(gzip.compress(plain.read_bytes()))
    assert compression_of(plain) is None and compression_of(disguised) == "gzip"
    for path in (plain, disguised):
        assert read_csv(path, dtype=str).to_dict("list") == {"smiles": ["CCO"], "id": ["007"]}


def test_input_checks_name_the_file(tmp_path):
    from sciml._io import FileCheckError, check_input_file, read_csv

    with pytest.raises(FileCheckError, match=f"input {tmp_path} is a directory"):
        check_input_file(tmp_path)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        check_input_file(tmp_path / "absent.csv")
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(FileCheckError, match=f"data file {empty} is empty"):
        check_input_file(empty, "data")
    empty_gz = tmp_path / "empty.csv.gz"
    empty_gz.write_bytes(gzip.compress(b""))
    with pytest.raises(FileCheckError, match="is empty"):
        check_input_file(empty_gz)
    binary = tmp_path / "binary.csv"
    binary.write_bytes(b"\xff\xfe\x00garbage\x80\x81")
    with pytest.raises(FileCheckError, match="is not a UTF-8 text"):
        read_csv(binary)


def test_output_checks(tmp_path, monkeypatch):
    import errno
    import tempfile

    from sciml._io import FileCheckError, check_output_dir, check_output_file

    assert (
        check_output_file(tmp_path / "new" / "deeper" / "out.csv")
        == tmp_path / "new" / "deeper" / "out.csv"
    )
    assert not (tmp_path / "new").exists()  # checking creates nothing
    assert list(tmp_path.iterdir()) == []  # and leaves no probe file
    with pytest.raises(FileCheckError, match="is an existing directory"):
        check_output_file(tmp_path)
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(FileCheckError, match=f"{blocker} is a file, not a folder"):
        check_output_file(blocker / "out.csv")
    with pytest.raises(FileCheckError, match="is an existing file, not a folder"):
        check_output_dir(blocker)

    def read_only(*args, **kwargs):
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(tempfile, "mkstemp", read_only)
    with pytest.raises(FileCheckError, match="is not writable \\(Read-only file system\\)"):
        check_output_dir(tmp_path / "model")
