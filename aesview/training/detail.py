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
from ..core.detail import (
    DetailHead,
    DetailSpec,
    Views,
    _grey,
    _laplacian_abs,
    brighten,
    cut,
    decode_views,
    grid_boxes,
    patch_features,
    tile_scores,
    white_point_gain,
)
from ..core.imaging import load_image
from .bursts import NATIVE, TAKES, burst_files, native_defect, take

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


# Mean |Laplacian| a clean tile needs for its blurred version to count as soft. The shipped head
# was trained without it (0: the share lost alone decides, so a blurred flat sky counted as
# soft, and the head reads a bokeh background's flat patch as softness); 2/255 fixes that
# (docs/TRAINING.md: validation tie, less bokeh cost), for the next round.
BLUR_FLOOR = 2.0 / 255


def _labels(family: str, clean: np.ndarray, tiles: np.ndarray, blur_floor: float = 0.0) -> np.ndarray:
    """(N, 3) labels of a variant's tiles against the clean take's tiles (module docstring).
    `blur_floor`: a clean tile with less fine detail than this (a sky) is labelled clean when
    blurred, whatever share it lost (0 = the ratio alone decides)."""
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
        lab[ec < blur_floor, 1] = 0.0
    elif family == "native_jpeg":
        vis = np.abs(gd - gc).reshape(len(gd), -1).mean(axis=1) >= 1.0 / 255
        lab[:, 2] = np.where(vis, 1.0, np.nan)
    return lab


def global_z(net, arrays: list[np.ndarray], norm) -> np.ndarray:
    from .evaluate import predict
    z, _, _ = predict(net, arrays, norm)
    return np.asarray(z, np.float64)


def _add_rows(rows: dict[str, list], net, norm, v: Views, boxes: np.ndarray, tiles: np.ndarray,
              image: int, labels: np.ndarray | None = None, white_point: bool = False) -> None:
    """Append one view's tiles (features, tile scores, image index, labels; None: all ignored).
    `white_point`: tile scores and features at the frame's white point, as the app then looks
    (core/detail.py); labels and the global z stay the decoded frame's."""
    assert v.detail is not None
    gain = white_point_gain(v.work) if white_point else 1.0
    det, lum = tile_scores(brighten(v.work, gain), boxes, (v.detail.shape[1], v.detail.shape[0]))
    rows["feats"].append(_features(net.backbone, brighten(tiles, gain), norm))
    rows["det"].append(det)
    rows["lum"].append(lum)
    rows["image"].append(np.full(len(boxes), image))
    rows["labels"].append(np.full((len(boxes), 3), np.nan, np.float32) if labels is None else labels)


def _set_z(net, images: list[dict], works: list[np.ndarray], norm) -> None:
    """Global z of the last len(works) images, in order."""
    if not works:
        return
    for i, zz in enumerate(global_z(net, works, norm)):
        images[len(images) - len(works) + i]["z"] = float(zz)


def build_photo_set(net, photos: list[Path], decode_side: int, norm, seed: int = 0,
                    blur_floor: float = 0.0, white_point: bool = False) -> dict:
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
                tiles = cut(v.detail, boxes)
                if clean_tiles is None:
                    clean_tiles = tiles
                _add_rows(rows, net, norm, v, boxes, tiles, len(images),
                          _labels(fam, clean_tiles, tiles, blur_floor), white_point)
                images.append({"photo": p.name, "family": fam, "severity": sev,
                               "detail_size": [v.detail.shape[1], v.detail.shape[0]],
                               "boxes": boxes})
                works.append(v.work)
            _set_z(net, images, works, norm)
            log.info("%s: %d variants, %.1f s", p.name, len(works), time.time() - t0)
    return _stack(rows, images)


def _stack(rows: dict[str, list], images: list[dict]) -> dict:
    feats = {st: torch.cat([f[st] for f in rows["feats"]]) for st in STAGES} if rows["feats"] else {}
    return {"feats": feats, "det": np.concatenate(rows["det"]), "lum": np.concatenate(rows["lum"]),
            "image": np.concatenate(rows["image"]),
            "labels": np.concatenate(rows["labels"]) if rows["labels"] else np.zeros((0, 3)),
            "images": images}


def build_burst_set(net, photos: list[Path], decode_side: int, norm, bursts_per_photo: int,
                    seed: int, white_point: bool = False) -> dict:
    """Bursts made the way training/bursts.py `burst_check` makes them (its TAKES, JPEG
    quality, decode), kept as tiles + global z so selection rules and alpha can be compared.
    Not the same draws: each burst's generator is seeded with the running count of takes, where
    `burst_check` counts bursts, so from the second burst on the jitter and defects differ (the
    shipped choice was made on these; keep it so that rebuilding gives the same set)."""
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
                    _add_rows(rows, net, norm, v, boxes, cut(v.detail, boxes), len(images),
                              white_point=white_point)
                    images.append({"photo": p.name, "burst": b, "take": kind, "boxes": boxes,
                                   "detail_size": [v.detail.shape[1], v.detail.shape[0]]})
                    works.append(v.work)
                _set_z(net, images, works, norm)
            log.info("bursts of %s done", p.name)
    return _stack(rows, images)


def build_file_set(net, files: list[tuple[str, float]], decode_side: int, norm,
                   white_point: bool = False) -> dict:
    """Tiles + global z of rated photo files (LIVE-C: path, MOS)."""
    rows: dict[str, list] = {"feats": [], "det": [], "lum": [], "image": [], "labels": []}
    images: list[dict] = []
    works = []
    for path, mos in files:
        v = decode_views(path, 320, 32, _probe_spec(decode_side))
        assert v.detail is not None
        boxes = _tiles(v)
        _add_rows(rows, net, norm, v, boxes, cut(v.detail, boxes), len(images), white_point=white_point)
        images.append({"photo": Path(path).name, "mos": mos, "boxes": boxes,
                       "detail_size": [v.detail.shape[1], v.detail.shape[0]]})
        works.append(v.work)
        if len(works) == 16:
            _set_z(net, images, works, norm)
            works = []
    _set_z(net, images, works, norm)
    return _stack(rows, images)


def bokeh_image(full: np.ndarray, work: np.ndarray, finder, radius: float) -> np.ndarray:
    """Synthetic shallow depth of field at full resolution: training/bokeh.py's subject mask
    (from the working view), lens blur of `radius` working-size pixels scaled to the photo
    (made at a quarter of the size and enlarged: at these radii the two look alike)."""
    from ..core import defects as K
    from ..core.maps import upsample
    h, w = full.shape[:2]
    m = upsample(finder.mask(work), (h, w))[..., None]
    s = max(h, w) / max(work.shape[:2])
    small = np.asarray(Image.fromarray(full).resize((max(1, w // 4), max(1, h // 4)), Image.Resampling.BOX))
    bl = K.convolve(small, K.disk_kernel(max(1.0, radius * s / 4)))
    bl_full = np.asarray(Image.fromarray(bl).resize((w, h), Image.Resampling.BICUBIC))
    out: np.ndarray = np.clip(full * m + bl_full * (1 - m) + 0.5, 0, 255).astype(np.uint8)
    return out


def build_bokeh_set(net, photos: list[Path], decode_side: int, norm, radii=(4.0, 8.0),
                    white_point: bool = False) -> dict:
    """Tiles + global z of each photo and its full-resolution synthetic bokeh versions."""
    from .bokeh import SubjectFinder
    finder = SubjectFinder()
    rows: dict[str, list] = {"feats": [], "det": [], "lum": [], "image": [], "labels": []}
    images: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="aesview-detail-") as tmp:
        for p in photos:
            full = np.asarray(load_image(p).image.convert("RGB"))
            clean = through(full, CLEAN_QUALITY, Path(tmp), decode_side)
            works = []
            for r in (0.0, *radii):
                v = clean if r == 0 else through(bokeh_image(full, clean.work, finder, r), CLEAN_QUALITY,
                                                 Path(tmp), decode_side)
                assert v.detail is not None
                boxes = _tiles(v)
                _add_rows(rows, net, norm, v, boxes, cut(v.detail, boxes), len(images),
                          white_point=white_point)
                images.append({"photo": p.name, "radius": r, "boxes": boxes,
                               "detail_size": [v.detail.shape[1], v.detail.shape[0]]})
                works.append(v.work)
            _set_z(net, images, works, norm)
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
        bias = head.conv.bias
        assert bias is not None
        bias.fill_(0.1)
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


# ------------------------------------------------------------------- checks through the scorer

def score_views(scorer, views: Views) -> tuple[float, float]:
    """(fused score's logit, global logit) of one decoded photo, as the app scores it."""
    rec = scorer.score_array(views.work, image_size=views.size, detail=views.detail)
    if rec.detail is not None:
        return rec.detail.logit, rec.detail.global_logit
    z = float(np.log(rec.score) - np.log1p(-rec.score))
    return z, z


def _decode(scorer, f: Path) -> Views:
    return decode_views(f, scorer.long_side, scorer.multiple, scorer.detail)


def burst_check_detail(scorer, photos, bursts_per_photo: int = 2, seed: int = 99) -> dict:
    """training/bursts.py `burst_check` (same takes, same seeds, so the same bursts) scored the
    way the app scores files: one decode, the global view and, if the model has one, the
    detail view. Reports the fused and the global-only winners."""
    rows: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="aesview-bursts-") as tmp:
        for p, b, files in burst_files(photos, bursts_per_photo, seed, Path(tmp)):
            zs, gs = [], []
            for f in files:
                z, g = score_views(scorer, _decode(scorer, f))
                zs.append(z)
                gs.append(g)
            rows.append({"photo": Path(p).name, "burst": b,
                         "winner": TAKES[int(np.argmax(zs))],
                         "winner_global": TAKES[int(np.argmax(gs))],
                         "z": dict(zip(TAKES, zs)), "z_global": dict(zip(TAKES, gs))})
    out: dict = {"bursts": len(rows), "rows": rows}
    for key, col in (("clean_wins", "winner"), ("clean_wins_global", "winner_global")):
        out[key] = float(np.mean([r[col] == "clean" for r in rows]))
        beaten: dict[str, int] = {}
        for r in rows:
            if r[col] != "clean":
                beaten[r[col]] = beaten.get(r[col], 0) + 1
        out[key.replace("clean_wins", "beaten_by")] = beaten
    return out


def native_check(scorer, photos, seed: int = 11) -> dict:
    """Clean beats its own full-resolution defect (NATIVE families and heavy JPEG), every
    variant saved as a JPEG and scored through the app's decode; fused and global-only."""
    wins: dict[str, dict[str, list[bool]]] = {"fused": {}, "global": {}}
    with tempfile.TemporaryDirectory(prefix="aesview-native-") as tmp:
        for pi, p in enumerate(photos):
            full = np.asarray(load_image(p).image.convert("RGB"))
            rng = np.random.default_rng([seed, pi])
            clean = None
            for fam, _sev, img, q in variants(full, rng):
                f = Path(tmp) / "v.jpg"
                Image.fromarray(img).save(f, quality=q)
                z, g = score_views(scorer, _decode(scorer, f))
                if clean is None:
                    clean = (z, g)
                    continue
                wins["fused"].setdefault(fam, []).append(clean[0] > z)
                wins["global"].setdefault(fam, []).append(clean[1] > g)
    return {k: {fam: float(np.mean(v)) for fam, v in d.items()} | {
        "all": float(np.mean([x for v in d.values() for x in v]))} for k, d in wins.items()}


def bokeh_check_native(scorer, photos, radii=(4.0, 8.0), finder=None) -> dict:
    """Synthetic shallow depth of field made at full resolution (training/bokeh.py's subject
    mask from the working view, lens blur of `radii` working-size pixels scaled to the photo),
    saved as JPEG and scored through the app's decode: the score it costs (fused, global)."""
    from ..core.maps import upsample
    from .bokeh import SubjectFinder
    finder = finder or SubjectFinder()
    rows = {}
    with tempfile.TemporaryDirectory(prefix="aesview-bokeh-") as tmp:
        for p in photos:
            full = np.asarray(load_image(p).image.convert("RGB"))
            f = Path(tmp) / "b.jpg"
            Image.fromarray(full).save(f, quality=CLEAN_QUALITY)
            base = _decode(scorer, f)
            cz, cg = score_views(scorer, base)
            h, w = full.shape[:2]
            m = upsample(finder.mask(base.work), (h, w))[..., None]
            s = max(h, w) / max(base.work.shape[:2])
            small = np.asarray(Image.fromarray(full).resize((max(1, w // 4), max(1, h // 4)),
                                                             Image.Resampling.BOX))
            out = []
            for r in radii:
                bl = K.convolve(small, K.disk_kernel(max(1.0, r * s / 4)))
                bl_full = np.asarray(Image.fromarray(bl).resize((w, h), Image.Resampling.BICUBIC))
                img = np.clip(full * m + bl_full * (1 - m) + 0.5, 0, 255).astype(np.uint8)
                Image.fromarray(img).save(f, quality=CLEAN_QUALITY)
                z, g = score_views(scorer, _decode(scorer, f))
                out.append({"radius": r, "cost": _p(cz) - _p(z), "cost_global": _p(cg) - _p(g)})
            rows[Path(p).name] = out
    costs = [o["cost"] for v in rows.values() for o in v]
    gcosts = [o["cost_global"] for v in rows.values() for o in v]
    return {"max_cost": float(max(costs)), "max_cost_global": float(max(gcosts)),
            "mean_cost": float(np.mean(costs)), "mean_cost_global": float(np.mean(gcosts)),
            "per_photo": rows}


def _p(z: float) -> float:
    return float(1 / (1 + np.exp(-z)))


def livec_check(scorer, samples) -> dict:
    """SRCC / PLCC (raw scores) of the fused and global-only scores against people's MOS."""
    from .evaluate import pearson, spearman
    zs, gs, mos = [], [], []
    for s in samples:
        z, g = score_views(scorer, _decode(scorer, Path(s.path)))
        zs.append(z)
        gs.append(g)
        mos.append(s.mean)
    ps, pg = [_p(z) for z in zs], [_p(g) for g in gs]
    return {"n": len(zs), "srcc": spearman(zs, mos), "plcc": pearson(ps, mos),
            "srcc_global": spearman(gs, mos), "plcc_global": pearson(pg, mos)}


# ------------------------------------------------------------------- choosing on validation

def _image_evidence(ds: dict, ev: np.ndarray, n_detail: int, n_smooth: int,
                    spec: DetailSpec | None = None) -> np.ndarray:
    """Each image's e (mean over its chosen tiles of the channel-summed evidence); with `spec`,
    each tile's channels masked as the app masks them (DetailSpec.smooth_mask)."""
    from ..core.detail import choose
    out = np.zeros(len(ds["images"]))
    for i, im in enumerate(ds["images"]):
        idx = np.where(ds["image"] == i)[0]
        if len(idx):
            pick = choose(im["boxes"], ds["det"][idx], ds["lum"][idx], n_detail, n_smooth)
            tiles = ev[idx[pick]]
            if spec is not None:
                tiles = tiles * spec.smooth_mask(len(pick))
            out[i] = tiles.sum(1).mean()
    return out


def validation_figures(photos: dict, bursts: dict, livec: dict, e: tuple, alpha: float) -> dict:
    """Fused figures on the validation sets for evidence `e` = (photos, bursts, livec)."""
    from .evaluate import pearson, spearman
    z = np.array([im["z"] for im in photos["images"]]) - alpha * e[0]
    clean = {im["photo"]: z[i] for i, im in enumerate(photos["images"]) if im["family"] == "clean"}
    fam: dict[str, list[bool]] = {}
    for i, im in enumerate(photos["images"]):
        if im["family"] != "clean":
            fam.setdefault(im["family"], []).append(bool(clean[im["photo"]] > z[i]))
    zb = np.array([im["z"] for im in bursts["images"]]) - alpha * e[1]
    wins: list[bool] = []
    beaten: dict[str, int] = {}
    n = len(TAKES)
    for k in range(0, len(zb), n):
        w = bursts["images"][k + int(np.argmax(zb[k:k + n]))]["take"]
        wins.append(w == "clean")
        if w != "clean":
            beaten[w] = beaten.get(w, 0) + 1
    zl = np.array([im["z"] for im in livec["images"]]) - alpha * e[2]
    mos = np.array([im["mos"] for im in livec["images"]])
    bursts_won = float(np.mean(wins))
    clean_beats = float(np.mean([v for vs in fam.values() for v in vs]))
    srcc = spearman(zl, mos)
    return {"bursts": bursts_won, "beaten_by": beaten, "clean_beats": clean_beats,
            "families": {k: float(np.mean(v)) for k, v in fam.items()},
            "srcc": srcc, "plcc": pearson(1 / (1 + np.exp(-zl)), mos),
            "select": (bursts_won + clean_beats + srcc) / 3}


PATCH_CHOICES = ((1, 0), (2, 0), (3, 0), (4, 0), (1, 1), (2, 1), (3, 1))
ALPHAS = (0.0, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.5, 0.75, 1.0, 2.0, 4.0)


def main(argv: list[str] | None = None) -> int:
    """Build the tile sets (resumable: each is saved once), train the head at each cut, choose
    cut, patches and alpha on validation data only, save the head and the choice."""
    import argparse
    import json

    from ..core.weights import load_model
    from .datasets import read_livec
    from .joint import split_names
    from .loop import atomic_torch_save
    from .selfsup import VALIDATION
    ap = argparse.ArgumentParser(prog="python -m aesview.training.detail", description=main.__doc__)
    ap.add_argument("--photos", required=True, help="the shared photos folder")
    ap.add_argument("--livec", required=True, help="the LIVE-C folder (split 0 validation part)")
    ap.add_argument("--out", required=True)
    ap.add_argument("--model", default="aesview-livec-lite0", help="the global model (its prefix is shared)")
    ap.add_argument("--decode-side", type=int, default=960)
    ap.add_argument("--epochs", type=int, default=300)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--blur-floor", type=float, default=0.0,
                    help="fine detail (mean |Laplacian|, 0..1) a clean tile needs for its blurred "
                         f"version to count as soft (default 0: the shipped head; {BLUR_FLOOR:.4f} = "
                         "2/255 keeps skies clean, see docs/TRAINING.md)")
    ap.add_argument("--white-point", action="store_true",
                    help="build every tile set at each frame's white point (core/detail.py)")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    torch.set_num_threads(1)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    m = load_model(args.model, device="cpu")
    norm, photos = m.card.normalization, Path(args.photos)
    lv = read_livec(args.livec)
    val_names = set(split_names([s.name for s in lv], 0)["val"])
    wp = args.white_point
    builders = {
        "train": lambda: build_photo_set(m.net, [photos / n for n in m.card.training["train_photos"]],
                                         args.decode_side, norm, seed=0, blur_floor=args.blur_floor,
                                         white_point=wp),
        "val": lambda: build_photo_set(m.net, [photos / n for n in VALIDATION], args.decode_side, norm, seed=1,
                                       white_point=wp),
        "valbursts": lambda: build_burst_set(m.net, [photos / n for n in VALIDATION], args.decode_side, norm,
                                             bursts_per_photo=6, seed=7, white_point=wp),
        "livecval": lambda: build_file_set(m.net, [(str(s.path), float(s.mean or 0.0)) for s in lv
                                                   if s.name in val_names], args.decode_side, norm,
                                           white_point=wp),
    }
    sets = {}
    for name, build in builders.items():
        f = out / f"{name}_{args.decode_side}.pt"
        if not f.is_file():
            t0 = time.time()
            atomic_torch_save(build(), f)
            log.info("%s tiles built in %.0f s", name, time.time() - t0)
        sets[name] = torch.load(f, weights_only=False)
    tr, va, vb, lc = (sets[k] for k in ("train", "val", "valbursts", "livecval"))
    rows = []
    for stage in STAGES:
        f = out / f"head_stage{stage}.pt"
        if f.is_file():
            head = DetailHead(tr["feats"][stage].shape[1])
            head.load_state_dict(torch.load(f, weights_only=True))
        else:
            t0 = time.time()
            head = train_head(tr["feats"][stage], tr["labels"], epochs=args.epochs, seed=args.seed)
            atomic_torch_save(head.state_dict(), f)
            log.info("stage %d: head trained in %.0f s", stage, time.time() - t0)
        ev = [tile_evidence(head.eval(), d["feats"][stage]) for d in (va, vb, lc)]
        for nd, ns in PATCH_CHOICES:
            e = tuple(_image_evidence(d, x, nd, ns) for d, x in zip((va, vb, lc), ev))
            for alpha in ALPHAS:
                r = validation_figures(va, vb, lc, e, alpha) | {"stage": stage, "detail_patches": nd,
                                                                "smooth_patches": ns, "alpha": alpha}
                rows.append(r)
                log.info("stage %d, %d+%d patches, alpha %.2f: bursts %.3f, clean beats %.3f, SRCC %.4f "
                         "-> %.4f", stage, nd, ns, alpha, r["bursts"], r["clean_beats"], r["srcc"], r["select"])
    best = max(rows, key=lambda r: r["select"])
    (out / "choice.json").write_text(json.dumps({"chosen": best, "all": rows}, indent=1))
    log.info("chosen on validation: %s", json.dumps(best))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
