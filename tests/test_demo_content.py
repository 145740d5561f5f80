"""The committed demo JSON is exactly what tools/demo_content generates (a hand edit would be lost)."""

from __future__ import annotations

import shutil

from tools.demo_content import ROOT, differences, generate


def test_committed_demo_content_is_what_the_generators_write():
    assert differences() == []


def test_a_changed_or_missing_file_is_named(tmp_path):
    paths = sorted(generate())
    for path in paths:
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(ROOT / path, tmp_path / path)
    edited, removed = paths[0], paths[1]
    (tmp_path / edited).write_bytes((tmp_path / edited).read_bytes().rstrip(b"\n"))  # one byte less
    (tmp_path / removed).unlink()
    assert sorted(differences(tmp_path)) == sorted([edited, removed])
