"""Resources resolve from the checkout, and a read-only sample shoot is copied before use."""

import os

from aesview import paths


def test_resources_and_weights_resolve():
    assert (paths.samples_dir() / "ATTRIBUTION.md").is_file()
    assert (paths.weights_dir() / "DEFAULT").is_file()


def test_read_only_samples_are_copied_once(tmp_path, monkeypatch):
    monkeypatch.setenv("AESVIEW_DATA_DIR", str(tmp_path))
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode: False if mode == os.W_OK else real_access(p, mode))
    first = paths.editable_samples_dir()
    assert first == tmp_path / "sample-shoot"
    bundled = sorted(p.name for p in paths.samples_dir().iterdir() if p.is_file())
    assert sorted(p.name for p in first.iterdir()) == bundled
    (first / "marker.xmp").write_text("kept")
    assert paths.editable_samples_dir() == first and (first / "marker.xmp").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".sample-shoot-")]


def test_writable_samples_are_used_in_place(monkeypatch):
    monkeypatch.setattr(os, "access", lambda p, mode: True)
    assert paths.editable_samples_dir() == paths.samples_dir()
