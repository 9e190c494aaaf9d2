"""Culling decisions in XMP sidecars, the way darktable, digiKam and Lightroom read them.

Mapping (documented in docs/GUI.md):
- stars 0..5        -> xmp:Rating 0..5
- reject            -> xmp:Rating -1 (the XMP spec's "rejected"; darktable and Lightroom agree)
                       and digiKam:PickLabel 1
- pick              -> xmp:Label "Green" (a colour label: darktable, digiKam, Lightroom, Bridge)
                       and digiKam:PickLabel 3 ("accepted")
- unflag            -> xmp:Label removed if it is our "Green", digiKam:PickLabel 0 if present

Sidecar names: darktable's `IMG_1.jpg.xmp` by default; digiKam/Lightroom's `IMG_1.xmp` with the
"basename" style. Both names are read; the chosen style's file wins when both exist. Everything
else an existing sidecar holds (keywords, darktable history, unknown namespaces) is kept; a
sidecar that can't be parsed is never overwritten.
"""

from __future__ import annotations

import io
import os
import xml.etree.ElementTree as ET
from pathlib import Path

import defusedxml.ElementTree as DET

from .atomic import atomic_write_bytes
from .culling import MAX_STARS, Decision, Flag

NS_X = "adobe:ns:meta/"
NS_RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
NS_XMP = "http://ns.adobe.com/xap/1.0/"
NS_DIGIKAM = "http://www.digikam.org/ns/1.0/"
STANDARD_PREFIXES = {"x": NS_X, "rdf": NS_RDF, "xmp": NS_XMP, "digiKam": NS_DIGIKAM}

RATING = (NS_XMP, "Rating")
LABEL = (NS_XMP, "Label")
PICK_LABEL = (NS_DIGIKAM, "PickLabel")
PICK_COLOUR = "Green"
DIGIKAM_PICK = {Flag.REJECT: "1", Flag.PICK: "3", Flag.NONE: "0"}


class SidecarError(RuntimeError):
    pass


def sidecar_paths(photo: str | os.PathLike, style: str = "darktable") -> list[Path]:
    """Both candidate names, the one `style` writes first."""
    photo = Path(photo)
    darktable = photo.with_name(photo.name + ".xmp")
    basename = photo.with_suffix(".xmp")
    return [darktable, basename] if style == "darktable" else [basename, darktable]


def find_sidecar(photo: str | os.PathLike, style: str = "darktable") -> Path | None:
    for p in sidecar_paths(photo, style):
        if p.is_file():
            return p
    return None


def _qn(prop: tuple[str, str]) -> str:
    return "{%s}%s" % prop


def _parse(path: Path) -> tuple[ET.Element, dict[str, str]]:
    """The tree and the prefixes it declared (ElementTree forgets them otherwise)."""
    prefixes: dict[str, str] = {}
    try:
        data = path.read_bytes()
        it = DET.iterparse(io.BytesIO(data), events=("start-ns",))
        for _event, (prefix, uri) in it:
            prefixes.setdefault(prefix, uri)
        root = it.root
    except OSError as exc:
        raise SidecarError(f"{path}: cannot read sidecar ({exc.strerror or exc})") from exc
    except Exception as exc:  # ParseError, defusedxml's DTD/entity refusals
        raise SidecarError(f"{path}: not a readable XMP sidecar ({exc})") from exc
    if root is None:
        raise SidecarError(f"{path}: empty XMP sidecar")
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


def decision_from_tree(root: ET.Element) -> Decision:
    rating_text = _get(root, RATING)
    try:
        rating = round(float(rating_text)) if rating_text else 0
    except ValueError:
        rating = 0
    label = (_get(root, LABEL) or "").lower()
    pick_label = _get(root, PICK_LABEL)
    if rating < 0 or pick_label == DIGIKAM_PICK[Flag.REJECT]:
        return Decision(Flag.REJECT, 0)
    flag = Flag.PICK if label == PICK_COLOUR.lower() or pick_label == DIGIKAM_PICK[Flag.PICK] \
        else Flag.NONE
    return Decision(flag, min(rating, MAX_STARS))


def read_sidecar(xmp_path: str | os.PathLike) -> Decision:
    root, _ = _parse(Path(xmp_path))
    return decision_from_tree(root)


def read_decision(photo: str | os.PathLike, style: str = "darktable") -> Decision:
    """The photo's decision from whichever sidecar it has; no sidecar = no decision yet."""
    path = find_sidecar(photo, style)
    return read_sidecar(path) if path else Decision()


def _new_tree() -> ET.Element:
    root = ET.Element(f"{{{NS_X}}}xmpmeta", {f"{{{NS_X}}}xmptk": "aesview"})
    rdf = ET.SubElement(root, f"{{{NS_RDF}}}RDF")
    ET.SubElement(rdf, f"{{{NS_RDF}}}Description", {f"{{{NS_RDF}}}about": ""})
    return root


def apply_decision(root: ET.Element, decision: Decision) -> None:
    if not _descriptions(root):
        rdf = next(root.iter(f"{{{NS_RDF}}}RDF"), None)
        if rdf is None:
            raise SidecarError("sidecar has no rdf:RDF element")
        ET.SubElement(rdf, f"{{{NS_RDF}}}Description", {f"{{{NS_RDF}}}about": ""})
    _set(root, RATING, "-1" if decision.rejected else str(decision.stars))
    label = _get(root, LABEL)
    if decision.picked:
        _set(root, LABEL, PICK_COLOUR)
    elif label is not None and label.lower() == PICK_COLOUR.lower():
        _set(root, LABEL, None)
    if decision.flag is not Flag.NONE or _get(root, PICK_LABEL) is not None:
        _set(root, PICK_LABEL, DIGIKAM_PICK[decision.flag])


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


def write_decision(photo: str | os.PathLike, decision: Decision,
                   style: str = "darktable") -> Path:
    """Record `decision` in the photo's sidecar of the chosen style and return its path.

    When only the other style's sidecar exists, the new one starts as a copy of it, so the
    user's keywords and edits travel along. Raises SidecarError (and writes nothing) when the
    existing sidecar can't be parsed."""
    target = sidecar_paths(photo, style)[0]
    source = find_sidecar(photo, style)
    if source is not None:
        root, prefixes = _parse(source)
    else:
        root, prefixes = _new_tree(), {}
    try:
        apply_decision(root, decision)
    except SidecarError as exc:
        raise SidecarError(f"{source}: {exc}") from exc
    atomic_write_bytes(target, _serialise(root, prefixes))
    return target
