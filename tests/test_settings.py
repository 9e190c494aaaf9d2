"""Settings: typed, saved atomically as JSON in the config folder, robust to damage."""

import json

from aesview.core.settings import MAX_RECENT, Settings, load_settings, save_settings, settings_path


def test_round_trip_in_the_config_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("AESVIEW_CONFIG_DIR", str(tmp_path / "cfg"))
    assert settings_path() == tmp_path / "cfg" / "settings.json"
    assert load_settings() == Settings()                   # first run: defaults
    s = Settings(device="cpu", thumbnail_size=200, overlay="attam", overlay_opacity=0.3,
                 overlay_cmap="PiYG", window_geometry="AAAA", model="my-model")
    s.add_recent(tmp_path / "shoot1")
    s.add_recent(tmp_path / "shoot2")
    s.add_recent(tmp_path / "shoot1")                      # moves to the front, no duplicate
    save_settings(s)
    assert [p.name for p in (tmp_path / "cfg").iterdir()] == ["settings.json"]  # no temp left
    back = load_settings()
    assert back == s
    assert back.recent_folders == [str(tmp_path / "shoot1"), str(tmp_path / "shoot2")]


def test_recent_list_is_bounded(tmp_path):
    s = Settings()
    for i in range(MAX_RECENT + 5):
        s.add_recent(tmp_path / f"s{i}")
    assert len(s.recent_folders) == MAX_RECENT
    assert s.recent_folders[0].endswith(f"s{MAX_RECENT + 4}")


def test_damaged_file_falls_back_per_value(tmp_path):
    path = tmp_path / "settings.json"
    path.write_text(json.dumps({"device": "tpu", "thumbnail_size": "big", "overlay_opacity": 7,
                                "recent_folders": ["/a", 3], "sort_key": "name",
                                "auto_advance": False, "unknown_key": 1}))
    s = load_settings(path)
    assert s.device == "auto"                # not a device we know
    assert s.thumbnail_size == 160           # wrong type
    assert s.overlay_opacity == 1.0          # clamped
    assert s.recent_folders == []            # not a list of strings
    assert s.sort_key == "name" and s.auto_advance is False   # the good values survive


def test_unreadable_file_gives_defaults(tmp_path):
    path = tmp_path / "settings.json"
    path.write_text("{not json")
    assert load_settings(path) == Settings()
    path.write_text("[1, 2]")
    assert load_settings(path) == Settings()
