"""Culling decisions in XMP sidecars, the way darktable, digiKam and Lightroom read them.

Mapping (documented in docs/GUI.md):
- stars 0..5        -> xmp:Rating 0..5
- reject            -> xmp:Rating -1 (the XMP spec's "rejected"; darktable and Lightroom agree)
                       and digiKam:PickLabel 1; its stars wait in aesview:RejectedRating and
                       come back as xmp:Rating on unreject
- pick              -> xmp:Label "Green" (a colour label: darktable, digiKam, Lightroom, Bridge)
                       and digiKam:PickLabel 3 ("accepted")
- unflag            -> xmp:Label removed if it is our "Green", digiKam:PickLabel 0 if present

Sidecar names: darktable's `IMG_1.jpg.xmp` by default; digiKam/Lightroom's `IMG_1.xmp` with the
"basename" style. Both names are read; the chosen style's file wins when both exist. Everything
else an existing sidecar holds (keywords, darktable history, unknown namespaces) is kept; a
sidecar that can't be parsed is never overwritten.

Writing is read-modify-write at write time (`update_sidecar`): the sidecar on disk is parsed
again just before the write and only the fields the user changed are touched, so a decision made
before the photo's sidecar was read can never put a default over another tool's stars or label.
A colour label another tool set is never replaced by our pick mark; the pick then lives in
digiKam:PickLabel alone. Sidecars deeper than MAX_DEPTH elements or bigger than MAX_BYTES are
refused (named in the error) rather than risk the recursion limit or memory.
"""

from __future__ import annotations

import io
import os
import stat
import threading
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import defusedxml.ElementTree as DET

from .atomic import atomic_write_bytes
from .culling import LABEL_COLOURS, MAX_STARS, Decision, Flag, check_colour

NS_X = "adobe:ns:meta/"
NS_RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
NS_XMP = "http://ns.adobe.com/xap/1.0/"
NS_DIGIKAM = "http://www.digikam.org/ns/1.0/"
NS_DARKTABLE = "http://darktable.sf.net/"
NS_AESVIEW = "http://ns.aesview.org/xmp/1.0/"
STANDARD_PREFIXES = {"x": NS_X, "rdf": NS_RDF, "xmp": NS_XMP, "digiKam": NS_DIGIKAM,
                     "darktable": NS_DARKTABLE, "aesview": NS_AESVIEW}

RATING = (NS_XMP, "Rating")
LABEL = (NS_XMP, "Label")
PICK_LABEL = (NS_DIGIKAM, "PickLabel")
PICK_COLOUR = "Green"
KEPT_STARS = (NS_AESVIEW, "RejectedRating")    # the stars of a rejected photo (Rating is -1)
DT_COLOURS = (NS_DARKTABLE, "colorlabels")     # rdf:Seq of 0 red .. 4 purple
DIGIKAM_COLOUR = (NS_DIGIKAM, "ColorLabel")   # 0 none, 1 red, 3 yellow, 4 green, 5 blue, 6 magenta
# One colour label in the three places tools keep it: xmp:Label (Lightroom, Bridge, Capture One),
# darktable:colorlabels, digiKam:ColorLabel.
COLOURS = {"Red": ("0", "1"), "Yellow": ("1", "3"), "Green": ("2", "4"), "Blue": ("3", "5"),
           "Purple": ("4", "6")}
DIGIKAM_PICK = {Flag.REJECT: "1", Flag.PICK: "3", Flag.NONE: "0"}


# Real sidecars are a dozen levels deep and a few hundred KB (darktable's history included).
MAX_DEPTH = 200
MAX_BYTES = 32 * 1024 * 1024


class SidecarError(RuntimeError):
    pass


@dataclass(frozen=True)
class DecisionChange:
    """What one user action changed; None leaves that part of the sidecar as it is on disk.

    `DecisionChange(flag=Flag.PICK)` marks a pick and keeps whatever stars are there;
    `DecisionChange(stars=3)` sets three stars and keeps the flag (a rejected photo stays
    rejected and its xmp:Rating stays -1, as darktable shows it)."""
    flag: Flag | None = None
    stars: int | None = None
    colour: str | None = None     # a colour label; "" removes ours

    def __post_init__(self) -> None:
        if self.colour:
            check_colour(self.colour)
        if self.stars is not None and not 0 <= self.stars <= MAX_STARS:
            raise ValueError(f"stars must be 0..{MAX_STARS}, not {self.stars}")
        if self.flag is not None:
            object.__setattr__(self, "flag", Flag(self.flag))

    @classmethod
    def between(cls, old: Decision, new: Decision) -> DecisionChange:
        """The change a key press made (the before/after pair of a culling Edit)."""
        return cls(flag=new.flag if new.flag != old.flag else None,
                   stars=new.stars if new.stars != old.stars else None,
                   colour=new.colour if new.colour != old.colour else None)

    def applied_to(self, decision: Decision) -> Decision:
        flag = decision.flag if self.flag is None else self.flag
        stars = decision.stars if self.stars is None else self.stars
        colour = decision.colour if self.colour is None else self.colour
        return Decision(flag, stars, colour)   # a reject keeps its stars (beside Rating -1)

    @property
    def empty(self) -> bool:
        return self.flag is None and self.stars is None and self.colour is None


def sidecar_paths(photo: str | os.PathLike[str], style: str = "darktable") -> list[Path]:
    """Both candidate names, the one `style` writes first ("both" writes both, darktable's
    name first)."""
    photo = Path(photo)
    darktable = photo.with_name(photo.name + ".xmp")
    basename = photo.with_suffix(".xmp")
    return [basename, darktable] if style == "basename" else [darktable, basename]


def find_sidecar(photo: str | os.PathLike[str], style: str = "darktable") -> Path | None:
    for p in sidecar_paths(photo, style):
        if p.is_file():
            return p
    return None


def _qn(prop: tuple[str, str]) -> str:
    return f"{{{prop[0]}}}{prop[1]}"


def _read_limited(path: Path) -> bytes:
    # O_NONBLOCK: a FIFO put in a sidecar's place must not hang the reader.
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    with os.fdopen(fd, "rb") as f:
        st = os.fstat(f.fileno())
        if not stat.S_ISREG(st.st_mode):
            raise SidecarError(f"{path}: not a regular file; left alone")
        if st.st_size > MAX_BYTES:
            raise SidecarError(f"{path}: sidecar of {st.st_size / 2**20:.0f} MB is larger than "
                               f"any real XMP ({MAX_BYTES // 2**20} MB limit); left alone")
        return f.read(MAX_BYTES + 1)


def _parse(path: Path) -> tuple[ET.Element, dict[str, str]]:
    """The tree and the prefixes it declared (ElementTree forgets them otherwise)."""
    prefixes: dict[str, str] = {}
    depth = 0
    try:
        data = _read_limited(path)
        it = DET.iterparse(io.BytesIO(data), events=("start-ns", "start", "end"))
        for event, item in it:
            if event == "start":
                depth += 1
                if depth > MAX_DEPTH:
                    raise SidecarError(f"{path}: XML nested more than {MAX_DEPTH} levels deep; "
                                       "not a real XMP sidecar, left alone")
            elif event == "end":
                depth -= 1
            else:
                prefixes.setdefault(*item)
        root = it.root  # type: ignore[attr-defined]  # set once parsing ends
    except SidecarError:
        raise
    except OSError as exc:
        raise SidecarError(f"{path}: cannot read sidecar ({exc.strerror or exc})") from exc
    except Exception as exc:  # ParseError, defusedxml's DTD/entity refusals, RecursionError
        raise SidecarError(f"{path}: not a readable XMP sidecar ({exc})") from exc
    if root is None:
        raise SidecarError(f"{path}: empty XMP sidecar")
    if root.tag != f"{{{NS_RDF}}}RDF" and root.find(f".//{{{NS_RDF}}}RDF") is None:
        raise SidecarError(f"{path}: not an XMP sidecar (no rdf:RDF inside); left alone")
    return root, prefixes


def _descriptions(root: ET.Element) -> list[ET.Element]:
    return list(root.iter(f"{{{NS_RDF}}}Description"))


def _get(root: ET.Element, prop: tuple[str, str]) -> str | None:
    name = _qn(prop)
    for desc in _descriptions(root):
        if name in desc.attrib:
            return desc.attrib[name].strip()
        child = desc.find(name)
        if child is not None:
            return (child.text or "").strip()
    return None


def _set(root: ET.Element, prop: tuple[str, str], value: str | None) -> None:
    """Change a property where it already is (attribute or element); new ones become
    attributes of the first rdf:Description. None removes it."""
    name = _qn(prop)
    for desc in _descriptions(root):
        if name in desc.attrib:
            if value is None:
                del desc.attrib[name]
            else:
                desc.attrib[name] = value
            return
        child = desc.find(name)
        if child is not None:
            if value is None:
                desc.remove(child)
            else:
                child.text = value
            return
    if value is not None:
        _descriptions(root)[0].set(name, value)


def _whole(text: str | None) -> int | None:
    """A rating-like field's value, rounded; None when absent or not a number."""
    try:
        return round(float(text)) if text else None
    except ValueError:
        return None


def decision_from_tree(root: ET.Element) -> Decision:
    rating = _whole(_get(root, RATING)) or 0
    label = (_get(root, LABEL) or "").lower()
    colour = label.capitalize() if label.capitalize() in LABEL_COLOURS else ""
    pick_label = _get(root, PICK_LABEL)
    if rating < 0 or pick_label == DIGIKAM_PICK[Flag.REJECT]:
        # digiKam keeps the rating beside its reject; ours is kept in aesview:RejectedRating
        kept = rating if rating > 0 else (_whole(_get(root, KEPT_STARS)) or 0)
        return Decision(Flag.REJECT, min(max(kept, 0), MAX_STARS), colour)
    flag = Flag.PICK if label == PICK_COLOUR.lower() or pick_label == DIGIKAM_PICK[Flag.PICK] \
        else Flag.NONE
    return Decision(flag, min(rating, MAX_STARS), colour)


def read_sidecar(xmp_path: str | os.PathLike[str]) -> Decision:
    root, _ = _parse(Path(xmp_path))
    return decision_from_tree(root)


def read_decision(photo: str | os.PathLike[str], style: str = "darktable") -> Decision:
    """The photo's decision from whichever sidecar it has; no sidecar = no decision yet."""
    path = find_sidecar(photo, style)
    return read_sidecar(path) if path else Decision()


def _new_tree() -> ET.Element:
    root = ET.Element(f"{{{NS_X}}}xmpmeta", {f"{{{NS_X}}}xmptk": "aesview"})
    rdf = ET.SubElement(root, f"{{{NS_RDF}}}RDF")
    ET.SubElement(rdf, f"{{{NS_RDF}}}Description", {f"{{{NS_RDF}}}about": ""})
    return root


def _ensure_description(root: ET.Element) -> None:
    if not _descriptions(root):
        rdf = next(root.iter(f"{{{NS_RDF}}}RDF"), None)
        if rdf is None:
            raise SidecarError("sidecar has no rdf:RDF element")
        ET.SubElement(rdf, f"{{{NS_RDF}}}Description", {f"{{{NS_RDF}}}about": ""})


def _rating_of(root: ET.Element) -> int | None:
    return _whole(_get(root, RATING))


def _dt_colours(root: ET.Element) -> list[str]:
    el = next((d.find(_qn(DT_COLOURS)) for d in _descriptions(root)
               if d.find(_qn(DT_COLOURS)) is not None), None)
    return [] if el is None else [(li.text or "").strip() for li in el.iter(f"{{{NS_RDF}}}li")]


def _set_dt_colour(root: ET.Element, index: str, on: bool) -> bool:
    """Add or remove one of darktable's colour labels; True if the tree changed."""
    have = _dt_colours(root)
    if (index in have) == on:
        return False
    want = sorted(set(have) | {index}) if on else [c for c in have if c != index]
    for desc in _descriptions(root):
        el = desc.find(_qn(DT_COLOURS))
        if el is not None:
            desc.remove(el)
    if want:
        el = ET.SubElement(_descriptions(root)[0], _qn(DT_COLOURS))
        seq = ET.SubElement(el, f"{{{NS_RDF}}}Seq")
        for c in want:
            ET.SubElement(seq, f"{{{NS_RDF}}}li").text = c
    return True


def set_colour_label(root: ET.Element, colour: str | None) -> bool:
    """Make xmp:Label, darktable:colorlabels and digiKam:ColorLabel all say `colour` (one of
    COLOURS) or, with None, no colour of ours; True if the tree changed."""
    _ensure_description(root)
    old = _get(root, LABEL)
    changed = False
    if old and old.capitalize() in COLOURS and old.capitalize() != colour:
        dt, dk = COLOURS[old.capitalize()]
        changed |= _set_dt_colour(root, dt, False)
        if _get(root, DIGIKAM_COLOUR) == dk:
            _set(root, DIGIKAM_COLOUR, None)
            changed = True
    if colour is None:
        if old is not None:
            _set(root, LABEL, None)
            changed = True
        return changed
    dt, dk = COLOURS[colour]
    if old != colour:
        _set(root, LABEL, colour)
        changed = True
    changed |= _set_dt_colour(root, dt, True)
    if _get(root, DIGIKAM_COLOUR) != dk:
        _set(root, DIGIKAM_COLOUR, dk)
        changed = True
    return changed


def apply_change(root: ET.Element, change: DecisionChange) -> bool:
    """Apply `change` to a parsed sidecar, touching only what it changes. True if anything did."""
    _ensure_description(root)
    before = decision_from_tree(root)
    after = change.applied_to(before)
    changed = False

    def put(prop: tuple[str, str], value: str | None) -> None:
        nonlocal changed
        if _get(root, prop) != value:
            _set(root, prop, value)
            changed = True

    want_rating = -1 if after.rejected else after.stars
    if (change.stars is not None or after.rejected != before.rejected) \
            and _rating_of(root) != want_rating:
        put(RATING, str(want_rating))
    # XMP has no field for "rejected, with 3 stars": the stars wait here until the unreject.
    if change.stars is not None or after.rejected != before.rejected:
        keep = str(after.stars) if after.rejected and after.stars and _rating_of(root) == -1 else None
        put(KEPT_STARS, keep)
    if change.flag is not None and after.flag is not before.flag:
        label = _get(root, LABEL)
        ours = label is not None and label.lower() == PICK_COLOUR.lower()
        if after.picked:
            if not label:  # another tool's colour label is the user's; the pick goes beside it
                changed |= set_colour_label(root, PICK_COLOUR)
        elif ours:
            changed |= set_colour_label(root, None)
        if after.flag is not Flag.NONE or _get(root, PICK_LABEL) is not None:
            put(PICK_LABEL, DIGIKAM_PICK[after.flag])
    if change.colour is not None and after.colour != before.colour:
        # a pick without a colour of its own wears the green label again
        changed |= set_colour_label(root, after.colour or (PICK_COLOUR if after.picked else None))
        if after.picked and _get(root, PICK_LABEL) != DIGIKAM_PICK[Flag.PICK]:
            put(PICK_LABEL, DIGIKAM_PICK[Flag.PICK])     # the pick must outlive its green
    return changed


def apply_decision(root: ET.Element, decision: Decision) -> None:
    """Make the tree say exactly `decision` (flag and stars), keeping everything else."""
    apply_change(root, DecisionChange(flag=decision.flag, stars=decision.stars))


def _serialise(root: ET.Element, prefixes: dict[str, str]) -> bytes:
    for prefix, uri in {**STANDARD_PREFIXES, **prefixes}.items():
        if prefix:
            try:
                ET.register_namespace(prefix, uri)
            except ValueError:  # prefixes like ns0 are ElementTree's own
                pass
    ET.indent(root, space=" ")
    body = ET.tostring(root, encoding="unicode")
    return ('<?xml version="1.0" encoding="UTF-8"?>\n' + body + "\n").encode("utf-8")


class SidecarUpdate(NamedTuple):
    path: Path | None          # the sidecar now holding the decision; None when none was needed
    decision: Decision         # what the sidecar says after the update (what to show)
    written: bool              # False when the sidecar already said so (nothing was written)


_locks_guard = threading.Lock()
_locks: dict[str, threading.Lock] = {}


def _lock_for(path: Path) -> threading.Lock:
    with _locks_guard:
        return _locks.setdefault(os.path.abspath(path), threading.Lock())


def _writable_target(target: Path) -> Path:
    """The file to replace: a symlinked sidecar is written where it points (the link stays);
    a folder, FIFO or device in a sidecar's place is refused, never replaced."""
    if target.is_symlink():
        try:
            target = target.resolve(strict=True)
        except (OSError, RuntimeError) as exc:  # dangling link or a loop
            raise SidecarError(f"{target}: sidecar is a broken symbolic link; left alone") from exc
    try:
        st = target.stat()
    except FileNotFoundError:
        return target
    if not stat.S_ISREG(st.st_mode):
        raise SidecarError(f"{target}: not a regular file; left alone")
    return target


def update_sidecar(photo: str | os.PathLike[str], change: DecisionChange,
                   style: str = "darktable") -> SidecarUpdate:
    """Record one culling change in the photo's sidecar; safe to call at any time.

    The sidecar is read from disk *now*, under a per-file lock, and only what `change` names is
    altered: a `DecisionChange(flag=Flag.PICK)` never writes a rating, so a decision taken before
    the GUI had read the sidecar can't wipe the stars, colour label, keywords or history that
    are there. Build the change with `DecisionChange.between(old, new)` from a culling Edit.
    The write is atomic (old or new file, never half); when the sidecar already says it,
    nothing is written. Returns the path, the decision the sidecar now holds (show that) and
    whether a write happened. Every sidecar the photo has, under either name, is updated (so
    two never disagree); with none, the style's name is created ("both": both names). Raises
    SidecarError, naming the file and writing nothing, when a sidecar can't be read or parsed,
    or isn't a regular file."""
    names = sidecar_paths(photo, style)
    with _lock_for(names[0] if style != "basename" else names[1]):
        existing = [p for p in names if os.path.lexists(p)]
        # Whichever sidecars are there are the ones updated (never a second, disagreeing one
        # beside them); "both" keeps both names in step, making the missing one from the other.
        targets = names if style == "both" else (existing or names[:1])
        first = next((p for p in names if p.is_file()), None)
        planned = []
        for target in targets:
            source = target if target.is_file() else first
            if source is not None:
                root, prefixes = _parse(source)
            else:
                if os.path.lexists(target):  # a FIFO, folder or dangling link in its place
                    _writable_target(target)
                root, prefixes = _new_tree(), {}
            try:
                changed = apply_change(root, change)
            except SidecarError as exc:
                raise SidecarError(f"{source}: {exc}") from exc
            planned.append((target, source, root, prefixes, changed))
        # Every sidecar parsed before the first is written: one that can't be read stops all.
        updates = []
        for target, source, root, prefixes, changed in planned:
            if changed:
                atomic_write_bytes(_writable_target(target), _serialise(root, prefixes))
            updates.append(SidecarUpdate(target if changed else source,
                                         decision_from_tree(root), changed))
        return SidecarUpdate(updates[0].path, updates[0].decision,
                             any(u.written for u in updates))


def write_decision(photo: str | os.PathLike[str], decision: Decision,
                   style: str = "darktable") -> Path:
    """Make the photo's sidecar say exactly `decision` (flag and stars) and return its path.

    This sets the rating even if the user only changed the flag: the GUI, whose decisions may
    predate reading the sidecar, uses `update_sidecar` with just what changed instead."""
    return update_sidecar(photo, DecisionChange(decision.flag, decision.stars), style).path \
        or sidecar_paths(photo, style)[0]
