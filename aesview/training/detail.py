"""Training and choosing the detail view's head (aesview/core/detail.py).

Everything the head sees goes through the app's own path: a defect is made on the photo at its
full resolution (training/bursts.py `NATIVE` families, or a low-quality JPEG), saved as a JPEG,
decoded by `core.detail.decode_views` like scoring decodes it, and cut into the same grid of
tiles the app chooses patches from. Every tile of every variant is passed once through the
frozen prefix and kept (fp16) with its tile scores, so the head (a 1x1 convolution) trains in
seconds and every selection rule and fusion weight can be compared on validation photos without
touching a pixel again.

Tile labels, per channel (noise, blur, compression), against the clean take's same tile:
* noise variants: noise 1 where the added grain is visible at detail scale (std of the
  difference >= 1.5/255), else the tile is ignored;
* shake / missed focus: blur 1 where the tile lost >= 35 % of its fine detail (mean
  |Laplacian|), 0 where it kept >= 90 % (a sky tile blurred is still a clean sky), ignored
  between;
* heavy JPEG: compression 1 where it changed the tile visibly (mean |difference| >= 1/255);
* the clean take: 0 in every channel. A defect's other channels are 0.
"""

from __future__ import annotations

import logging
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from ..core import defects as K
from ..core.detail import (DetailHead, DetailSpec, Views, _grey, _laplacian_abs, decode_views, grid_boxes,
                           patch_features, tile_scores)
from ..core.imaging import load_image
from .bursts import NATIVE, TAKES, native_defect, take

log = logging.getLogger(__name__)

JPEG_NATIVE = (25, 12)      # quality of the heavy-JPEG variants, saved at full resolution
CLEAN_QUALITY = 92
STAGES = (6, 9)             # candidate cuts: 40 ch at stride 8, 80 ch at stride 16
PATCH = 192
CELL = 16


def variants(full: np.ndarray, rng: np.random.Generator) -> list[tuple[str, int, np.ndarray, int]]:
    """(family, severity, full-resolution image, JPEG quality) for one photo."""
    out = [("clean", 0, full, CLEAN_QUALITY)]
    for fam in NATIVE:
        for sev in (1, 2, 3):
            out.append((fam, sev, native_defect(full, fam, sev, rng), CLEAN_QUALITY))
    for i, q in enumerate(JPEG_NATIVE):
        out.append(("native_jpeg", i + 1, full, q))
    return out


def through(img: np.ndarray, quality: int, tmp: Path, decode_side: int, long_side: int = 320) -> Views:
    f = tmp / "v.jpg"
    Image.fromarray(img).save(f, quality=quality)
    return decode_views(f, long_side, 32, _probe_spec(decode_side))


def _probe_spec(decode_side: int) -> DetailSpec:
    return DetailSpec(decode_side=decode_side, patch=PATCH, patches=3, stage=9, channels_in=80,
                      cell=CELL, alpha=0.0)


@dataclass
class TileSet:
    """All tiles of a set of images (one row per tile)."""
    feats: dict[int, torch.Tensor]   # stage -> (N, C, h, w) fp16
    det: np.ndarray                  # (N,) fine detail of the tile (global view)
    lum: np.ndarray                  # (N,) mean grey
    image: np.ndarray                # (N,) index of the image the tile belongs to
    labels: np.ndarray               # (N, 3) 1 / 0 / nan (ignored)


def _features(backbone, patches: np.ndarray, norm, stages=STAGES) -> dict[int, torch.Tensor]:
    out: dict[int, torch.Tensor] = {}
    with torch.inference_mode():
        x = None
        prev = 0
        for st in sorted(stages):
            if x is None:
                x = patch_features(backbone, patches, norm, st)
            else:
                x = backbone(x, start=prev, stop=st)
            prev = st
            out[st] = x.half().clone()
    return out


def _tiles(views: Views) -> np.ndarray:
    assert views.detail is not None
    h, w = views.detail.shape[:2]
    return grid_boxes(w, h, PATCH, CELL)


def _cut(detail: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    return np.stack([detail[y0:y1, x0:x1] for x0, y0, x1, y1 in boxes])


def _labels(family: str, clean: np.ndarray, tiles: np.ndarray) -> np.ndarray:
    """(N, 3) labels of a variant's tiles against the clean take's tiles (module docstring)."""
    lab = np.zeros((len(tiles), 3), np.float32)
    if family == "clean":
        return lab
    gc = np.stack([_grey(t) for t in clean])
    gd = np.stack([_grey(t) for t in tiles])
    if family == "native_noise":
        vis = (gd - gc).reshape(len(gd), -1).std(axis=1) >= 1.5 / 255
        lab[:, 0] = np.where(vis, 1.0, np.nan)
    elif family in ("native_shake", "native_focus"):
        ec = np.array([_laplacian_abs(g).mean() for g in gc])
        ed = np.array([_laplacian_abs(g).mean() for g in gd])
        r = ed / np.maximum(ec, 1e-6)
        lab[:, 1] = np.where(r <= 0.65, 1.0, np.where(r >= 0.9, 0.0, np.nan))
    elif family == "native_jpeg":
        vis = np.abs(gd - gc).reshape(len(gd), -1).mean(axis=1) >= 1.0 / 255
        lab[:, 2] = np.where(vis, 1.0, np.nan)
    return lab


def global_z(net, arrays: list[np.ndarray], norm) -> np.ndarray:
    from .evaluate import predict
    z, _, _ = predict(net, arrays, norm)
    return np.asarray(z, np.float64)


def build_photo_set(net, photos: list[Path], decode_side: int, norm, seed: int = 0) -> dict:
    """Tiles of every variant of every photo, with labels and each variant's global z."""
    rows: dict[str, list] = {"feats": [], "det": [], "lum": [], "image": [], "labels": []}
    images: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="aesview-detail-") as tmp:
        for pi, p in enumerate(photos):
            t0 = time.time()
            full = np.asarray(load_image(p).image.convert("RGB"))
            rng = np.random.default_rng([seed, pi])
            clean_tiles = None
            works = []
            for fam, sev, img, q in variants(full, rng):
                v = through(img, q, Path(tmp), decode_side)
                assert v.detail is not None
                boxes = _tiles(v)
                if not len(boxes):
                    break
                tiles = _cut(v.detail, boxes)
                if clean_tiles is None:
                    clean_tiles = tiles
                det, lum = tile_scores(v.work, boxes, (v.detail.shape[1], v.detail.shape[0]))
                rows["feats"].append(_features(net.backbone, tiles, norm))
                rows["det"].append(det)
                rows["lum"].append(lum)
                rows["image"].append(np.full(len(boxes), len(images)))
                rows["labels"].append(_labels(fam, clean_tiles, tiles))
                images.append({"photo": p.name, "family": fam, "severity": sev,
                               "detail_size": [v.detail.shape[1], v.detail.shape[0]],
                               "boxes": boxes})
                works.append(v.work)
            z = global_z(net, works, norm) if works else np.zeros(0)
            for i, zz in enumerate(z):
                images[len(images) - len(z) + i]["z"] = float(zz)
            log.info("%s: %d variants, %.1f s", p.name, len(works), time.time() - t0)
    return _stack(rows, images)


def _stack(rows: dict[str, list], images: list[dict]) -> dict:
    feats = {st: torch.cat([f[st] for f in rows["feats"]]) for st in STAGES} if rows["feats"] else {}
    return {"feats": feats, "det": np.concatenate(rows["det"]), "lum": np.concatenate(rows["lum"]),
            "image": np.concatenate(rows["image"]),
            "labels": np.concatenate(rows["labels"]) if rows["labels"] else np.zeros((0, 3)),
            "images": images}


def build_burst_set(net, photos: list[Path], decode_side: int, norm, bursts_per_photo: int,
                    seed: int) -> dict:
    """Bursts made exactly as training/bursts.py `burst_check` makes them (its TAKES), kept as
    tiles + global z so selection rules and alpha can be compared."""
    rows: dict[str, list] = {"feats": [], "det": [], "lum": [], "image": [], "labels": []}
    images: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="aesview-detail-") as tmp:
        for p in photos:
            full = np.asarray(load_image(p).image.convert("RGB"))
            for b in range(bursts_per_photo):
                rng = np.random.default_rng([seed, b, len(images)])
                works = []
                for kind in TAKES:
                    v = through(take(full, kind, rng), CLEAN_QUALITY, Path(tmp), decode_side)
                    assert v.detail is not None
                    boxes = _tiles(v)
                    tiles = _cut(v.detail, boxes)
                    det, lum = tile_scores(v.work, boxes, (v.detail.shape[1], v.detail.shape[0]))
                    rows["feats"].append(_features(net.backbone, tiles, norm))
                    rows["det"].append(det)
                    rows["lum"].append(lum)
                    rows["image"].append(np.full(len(boxes), len(images)))
                    rows["labels"].append(np.full((len(boxes), 3), np.nan, np.float32))
                    images.append({"photo": p.name, "burst": b, "take": kind, "boxes": boxes,
                                   "detail_size": [v.detail.shape[1], v.detail.shape[0]]})
                    works.append(v.work)
                for i, zz in enumerate(global_z(net, works, norm)):
                    images[len(images) - len(works) + i]["z"] = float(zz)
            log.info("bursts of %s done", p.name)
    return _stack(rows, images)


def build_file_set(net, files: list[tuple[str, float]], decode_side: int, norm) -> dict:
    """Tiles + global z of rated photo files (LIVE-C: path, MOS)."""
    rows: dict[str, list] = {"feats": [], "det": [], "lum": [], "image": [], "labels": []}
    images: list[dict] = []
    works = []
    for path, mos in files:
        v = decode_views(path, 320, 32, _probe_spec(decode_side))
        assert v.detail is not None
        boxes = _tiles(v)
        tiles = _cut(v.detail, boxes)
        det, lum = tile_scores(v.work, boxes, (v.detail.shape[1], v.detail.shape[0]))
        rows["feats"].append(_features(net.backbone, tiles, norm))
        rows["det"].append(det)
        rows["lum"].append(lum)
        rows["image"].append(np.full(len(boxes), len(images)))
        rows["labels"].append(np.full((len(boxes), 3), np.nan, np.float32))
        images.append({"photo": Path(path).name, "mos": mos, "boxes": boxes,
                       "detail_size": [v.detail.shape[1], v.detail.shape[0]]})
        works.append(v.work)
        if len(works) == 16:
            for i, zz in enumerate(global_z(net, works, norm)):
                images[len(images) - len(works) + i]["z"] = float(zz)
            works = []
    if works:
        for i, zz in enumerate(global_z(net, works, norm)):
            images[len(images) - len(works) + i]["z"] = float(zz)
    return _stack(rows, images)


# ------------------------------------------------------------------------------- the head

def train_head(feats: torch.Tensor, labels: np.ndarray, epochs: int = 300, lr: float = 0.01,
               weight_decay: float = 1e-4, seed: int = 0) -> DetailHead:
    """Full-batch AdamW on the tiles: P(defect in channel c) = 1 - exp(-mean(map_c)), binary
    cross-entropy where the label is known. Channels are balanced (positives and negatives
    weigh alike within each)."""
    torch.manual_seed(seed)
    head = DetailHead(feats.shape[1])
    with torch.no_grad():
        head.conv.weight.mul_(0.1)
        head.conv.bias.fill_(0.1)
    y = torch.from_numpy(np.nan_to_num(labels, nan=0.0)).float()
    known = torch.from_numpy(~np.isnan(labels)).float()
    pos = (y * known).sum(0).clamp(min=1)
    neg = ((1 - y) * known).sum(0).clamp(min=1)
    w = known * (y / pos + (1 - y) / neg) * 0.5
    opt = torch.optim.AdamW(head.parameters(), lr=lr, weight_decay=weight_decay)
    x = feats.float()
    for _ in range(epochs):
        m = head(x).mean(dim=(2, 3))
        p = (1 - torch.exp(-m)).clamp(1e-6, 1 - 1e-6)
        loss = -(w * (y * torch.log(p) + (1 - y) * torch.log(1 - p))).sum() / 3
        opt.zero_grad()
        loss.backward()
        opt.step()
    return head.eval()


def tile_evidence(head: DetailHead, feats: torch.Tensor, batch: int = 2048) -> np.ndarray:
    """(N, C) mean map per channel for each tile."""
    out = []
    with torch.no_grad():
        for i in range(0, len(feats), batch):
            out.append(head(feats[i:i + batch].float()).mean(dim=(2, 3)).numpy())
    return np.concatenate(out) if out else np.zeros((0, 3))
