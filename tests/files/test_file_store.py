"""The content-addressed file store."""

from __future__ import annotations

import hashlib

import pytest

from portal.files.store import FileStore, HashMismatch


def test_content_is_stored_once_under_its_hash(tmp_path):
    store = FileStore(tmp_path / "files")
    source = tmp_path / "scan.pdf"
    source.write_bytes(b"%PDF-1.4 scan")
    digest = hashlib.sha256(b"%PDF-1.4 scan").hexdigest()

    first = store.put_file(source, digest)
    second = store.put_file(source, digest)

    assert first == second == tmp_path / "files" / digest[:2] / digest[2:4] / digest
    assert store.put_bytes(b"%PDF-1.4 scan") == digest
    with store.open(digest) as handle:
        assert handle.read() == b"%PDF-1.4 scan"
    assert [p.name for p in first.parent.iterdir()] == [digest]  # no temporary file left behind


def test_bytes_that_do_not_match_their_hash_are_not_stored(tmp_path):
    store = FileStore(tmp_path)
    source = tmp_path / "scan.pdf"
    source.write_bytes(b"changed")
    wrong = hashlib.sha256(b"original").hexdigest()

    with pytest.raises(HashMismatch):
        store.put_file(source, wrong)

    assert not store.exists(wrong)
    assert list(store.path_for(wrong).parent.iterdir()) == []


@pytest.mark.parametrize("bad", ["../../etc/passwd", "ABC", "g" * 64, "A" * 64])
def test_only_sha256_hex_names_a_path(tmp_path, bad):
    with pytest.raises(ValueError):
        FileStore(tmp_path).path_for(bad)
