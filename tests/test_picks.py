"""Copy/move picks with their sidecars; nothing is ever overwritten."""

import shutil

from aesview.core.culling import Decision, Flag
from aesview.core.picks import transfer_picks
from aesview.core.xmp import read_decision, write_decision
from aesview.paths import samples_dir


def _shoot(tmp_path, names=("coffee.jpg", "fig.jpg")):
    shoot = tmp_path / "shoot"
    shoot.mkdir()
    for n in names:
        shutil.copyfile(samples_dir() / n, shoot / n)
    return shoot


def test_copy_keeps_originals_and_brings_sidecars(tmp_path):
    shoot = _shoot(tmp_path)
    write_decision(shoot / "coffee.jpg", Decision(Flag.PICK, 4))
    (shoot / "coffee.xmp").write_text(
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/'
        '22-rdf-syntax-ns#"><rdf:Description rdf:about=""/></rdf:RDF></x:xmpmeta>')
    dest = tmp_path / "picks"
    [t] = transfer_picks([shoot / "coffee.jpg"], dest)
    assert t.error is None
    assert sorted(p.name for p in dest.iterdir()) == ["coffee.jpg", "coffee.jpg.xmp", "coffee.xmp"]
    assert (dest / "coffee.jpg").read_bytes() == (shoot / "coffee.jpg").read_bytes()
    assert read_decision(dest / "coffee.jpg") == Decision(Flag.PICK, 4)
    assert (shoot / "coffee.jpg").exists() and (shoot / "coffee.jpg.xmp").exists()


def test_name_clash_gets_a_new_name_with_matching_sidecar(tmp_path):
    shoot = _shoot(tmp_path)
    dest = tmp_path / "picks"
    dest.mkdir()
    shutil.copyfile(samples_dir() / "fig.jpg", dest / "coffee.jpg")   # a different photo
    before = (dest / "coffee.jpg").read_bytes()
    write_decision(shoot / "coffee.jpg", Decision(Flag.PICK, 2))
    [t] = transfer_picks([shoot / "coffee.jpg"], dest)
    assert t.error is None and t.target == str(dest / "coffee-1.jpg")
    assert (dest / "coffee.jpg").read_bytes() == before
    assert read_decision(dest / "coffee-1.jpg") == Decision(Flag.PICK, 2)
    assert (dest / "coffee-1.jpg.xmp").exists()


def test_move_removes_source_and_its_sidecar(tmp_path):
    shoot = _shoot(tmp_path)
    data = (shoot / "fig.jpg").read_bytes()
    write_decision(shoot / "fig.jpg", Decision(Flag.PICK, 0))
    seen = []
    results = transfer_picks([shoot / "fig.jpg", shoot / "missing.jpg"], tmp_path / "out",
                             move=True, progress=seen.append)
    assert len(seen) == 2
    assert results[0].error is None and results[1].error and "missing.jpg" in results[1].error
    assert not (shoot / "fig.jpg").exists() and not (shoot / "fig.jpg.xmp").exists()
    assert (tmp_path / "out" / "fig.jpg").read_bytes() == data
    assert read_decision(tmp_path / "out" / "fig.jpg").picked
    assert (shoot / "coffee.jpg").exists()


def test_refuses_its_own_folder(tmp_path):
    shoot = _shoot(tmp_path)
    [t] = transfer_picks([shoot / "coffee.jpg"], shoot)
    assert t.error and "own folder" in t.error
    assert sorted(p.name for p in shoot.iterdir()) == ["coffee.jpg", "fig.jpg"]
