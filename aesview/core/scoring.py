"""Scoring pipeline: cached records first, then decode in a thread pool while the model runs.

Decoding (PIL releases the GIL) overlaps inference; photos are decoded at reduced size since the
network needs a few hundred pixels; photos of one shape are batched together; maps come out of the
same forward pass as the scores (the CAM of a GAP network costs one tensor contraction).
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import torch
from PIL import Image

from . import detail as DV
from .bursts import make_embedding
from .cache import FileKey, ScoreCache, file_key
from .classes import HIGH, LOW
from .fused import fuse_segments
from .imaging import ImageLoadError
from .level_taps import LevelTaps
from .preprocess import normalize, target_size, to_array
from .records import ScoreRecord
from .subject_cue import ImageNetTail, subject_map
from .weights import LoadedModel


def embedding_stage(n_stages: int) -> int:
    """The stage whose pooled output describes what a photo shows, for grouping bursts: two
    thirds of the way down. The last stages learned aesthetics and defects (their features
    move with one stop of exposure); these are still the ImageNet-trained ones."""
    return max(0, round(n_stages * 2 / 3) - 1)


@dataclass
class _Prepared:
    path: str
    key: FileKey | None = None  # size, mtime and content fingerprint before decoding
    size: tuple[int, int] | None = None
    array: np.ndarray | None = None
    detail: np.ndarray | None = None  # the detail image (core/detail.py), when the model has a detail view
    error: str | None = None


class Scorer:
    def __init__(self, model: LoadedModel, long_side: int | None = None, batch_size: int = 8,
                 cache: ScoreCache | None = None, workers: int = 2, reduced_decode: bool = True,
                 detail: bool = True):
        """`workers` decode threads run ahead of inference (0: decode inline, no overlap);
        `reduced_decode=False` decodes at full resolution (only the benchmark wants that);
        `detail=False` scores with the global view alone, even if the model has a detail view."""
        self.model = model
        self.long_side = int(long_side or model.card.input.long_side)
        self.multiple = model.card.input.multiple
        self.batch_size = max(1, batch_size)
        self.lookahead = self.batch_size * 3  # decoded photos held in memory at most
        self.cache = cache
        self.workers = max(0, workers)
        self.reduced_decode = reduced_decode
        self.detail = model.card.detail if detail and model.net.detail_head is not None else None
        w_aes, _, w_att, _ = (torch.from_numpy(a).to(model.device) for a in model.net.head_weights())
        self._w_diff = w_aes[HIGH] - w_aes[LOW]
        self._w_high = w_aes[HIGH]
        self._w_att = w_att
        self._names = model.attributes

    @cached_property
    def _tail(self) -> ImageNetTail:
        # Built on the first inference, not at start-up: a pass served by the cache (or a
        # `crop` whose score is cached) never reads and hashes the classifier's weights.
        norm = self.model.card.normalization
        return ImageNetTail(self.model.net.backbone, self.model.card.architecture,
                            tuple(norm.mean), tuple(norm.std), self.model.device)

    @cached_property
    def _bounds(self) -> list[int]:
        """Where the backbone is cut: at every stage whose output the pass reads (the embedding
        stage's, the last one shared with the ImageNet tail, the detail prefix's end). A
        multi-level head's levels are not cuts: `_taps` reads them as the pass runs."""
        n = len(self.model.net.backbone.stages)
        cuts = {0, n, embedding_stage(n) + 1, self._tail.shared}
        if self.detail is not None:
            cuts.add(self.detail.stage)
        return sorted(cuts)     # fuse_segments refuses a cut outside 0..n

    @cached_property
    def _segments(self) -> list[torch.nn.Module]:
        # BN-folded, channels-last copies of the model's stages (core.fused), one per segment
        # between two cuts, each checked against the stages it replaces: about a quarter less
        # CPU than the model's own stages (tools/score_cpu.py). The model is left unchanged.
        ex = torch.rand(1, 3, 96, 128, device=self.model.device) * 2 - 1
        return fuse_segments(list(self.model.net.backbone.stages), self._bounds, ex)

    @cached_property
    def _taps(self) -> LevelTaps | None:
        """A multi-level head's levels, read by taps in this scorer's own segments (core/level_taps)."""
        if not self.model.net.levels:
            return None
        return LevelTaps(self.model.net, list(zip(self._bounds, self._segments)))

    def _global(self, x: torch.Tensor) -> tuple[dict[int, torch.Tensor], torch.Tensor]:
        """Every cut's output, and the map the heads read (the last map, after the pooled
        levels of a multi-level head)."""
        n = len(self.model.net.backbone.stages)
        taps = self._taps
        if taps is None:
            outs = self._through(x)
            return outs, outs[n]
        with taps.collecting(x):
            outs = self._through(x)
        return outs, taps.join(outs[n])

    def _through(self, x: torch.Tensor, stop: int | None = None) -> dict[int, torch.Tensor]:
        """The output of every cut up to `stop` (all of them by default), keyed by the cut."""
        each_alone = self.photo_at_a_time
        if each_alone is None:
            each_alone = torch.get_num_threads() == 1
        if len(x) > 1 and each_alone:
            each = [self._through(x[i:i + 1], stop) for i in range(len(x))]
            return {b: torch.cat([e[b] for e in each]) for b in each[0]}
        outs = {}
        for b, seg in zip(self._bounds[1:], self._segments):
            if stop is not None and b > stop:
                break
            x = outs[b] = seg(x)
        return outs

    # The network's pass runs one photo at a time inside a batch when torch has one intra-op
    # thread (the GUI's inference worker on a 2-core machine): a batch of 8 at 320 px holds
    # ~60 MB per activation, far past the caches, and cost 40-100 % more CPU per photo in the
    # stages than one photo at a time (tools/score_cpu.py --batch 8). With more threads the
    # batch keeps them busy. None: decide by the thread count; True / False: always / never.
    photo_at_a_time: bool | None = None

    @property
    def settings_id(self) -> str:
        """A short stable hash of what this scorer reads from the card besides the weights and
        the working size: the same weights under a card with another detail section (alpha,
        white point, ...), head, input rounding, normalisation or attribute names give other
        scores, maps or records. The detail section is the one in use (None: global view)."""
        card = self.model.card
        settings = {"architecture": card.architecture, "multiple": self.multiple,
                    "normalization": [list(card.normalization.mean), list(card.normalization.std)],
                    "attributes": list(card.attributes),
                    "head": card.head.to_dict() if card.head is not None else None,
                    "detail": self.detail.to_dict() if self.detail is not None else None}
        text = json.dumps(settings, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()[:12]

    @property
    def model_id(self) -> str:
        """The score cache's key for this scorer: the weights (name@sha256), the card's settings
        that change the results (`settings_id`) and the working size, which changes the maps and
        scores too."""
        off = ":global" if self.detail is None and self.model.card.detail is not None else ""
        return f"{self.model.model_id}+{self.settings_id}:{self.long_side}{off}"

    def _prepare(self, path: str) -> _Prepared:
        try:
            key = file_key(path)
            views = DV.decode_views(path, self.long_side, self.multiple, self.detail, self.reduced_decode)
            return _Prepared(path, key, views.size, views.work, views.detail)
        # Errors name the problem, not the file: every consumer shows them beside the path.
        except ImageLoadError as exc:
            return _Prepared(path, error=exc.reason)
        except OSError as exc:
            return _Prepared(path, error=f"cannot read the file ({exc.strerror or exc})")
        except Exception as exc:  # noqa: BLE001 - one bad file must not stop a folder
            return _Prepared(path, error=f"{type(exc).__name__}: {exc}")

    @torch.inference_mode()
    def _infer(self, batch: list[_Prepared]) -> list[ScoreRecord]:
        net, dev = self.model.net, self.model.device
        arrays = [p.array for p in batch if p.array is not None]
        if len(arrays) != len(batch):
            raise ValueError("a photo without its decoded array reached inference")
        x = normalize(np.stack(arrays), self.model.card.normalization)
        x = x.to(dev, non_blocking=True)
        n = len(net.backbone.stages)
        # The ImageNet tail continues from the last stage both networks share (subject_cue).
        tail = self._tail if self._tail.available else None
        cams = None
        with torch.autocast("cuda", enabled=dev.type == "cuda"):
            outs, feats_in = self._global(x)
            out = net.heads(feats_in)
            if tail is not None:
                cams = tail.cams(outs[tail.shared]).cpu().numpy()
        content = outs[embedding_stage(n) + 1].float().mean(dim=(2, 3)).cpu().numpy()
        feats = out.features.float()
        aes = torch.einsum("c,nchw->nhw", self._w_diff, feats).cpu().numpy()
        att = torch.einsum("kc,nchw->nkhw", self._w_att, feats).cpu().numpy()
        high = torch.einsum("c,nchw->nhw", self._w_high, feats).cpu().numpy()
        scores = out.score.cpu().numpy()
        attrs = out.attributes.cpu().numpy()
        details = self._details(batch, out.aes_logits.float(), arrays)
        recs = []
        for i, (p, array) in enumerate(zip(batch, arrays)):
            d = details[i]
            recs.append(ScoreRecord(
                path=p.path, score=float(scores[i]) if d is None else d.score, detail=d,
                attributes={n: float(v) for n, v in zip(self._names, attrs[i])},
                aesam=aes[i].astype(np.float32), attam=att[i].astype(np.float32),
                highmap=high[i].astype(np.float32), image_size=p.size,
                subject=subject_map(cams[i], array) if cams is not None else None,
                embedding=make_embedding(content[i], array)))
        return recs

    def _details(self, batch: list[_Prepared], logits: torch.Tensor,
                 arrays: list[np.ndarray]) -> list[DV.DetailResult | None]:
        """The detail view of each photo of the batch (None where the model has none or the
        detail image is smaller than one patch), its patches run through the prefix together."""
        spec, head = self.detail, self.model.net.detail_head
        out: list[DV.DetailResult | None] = [None] * len(batch)
        if spec is None or head is None:
            return out
        z = (logits[:, HIGH] - logits[:, LOW]).double().cpu().numpy()
        boxes, patches, owner, gains = [], [], [], []
        for i, (p, work) in enumerate(zip(batch, arrays)):
            if p.detail is None:
                continue
            b, pp, g = DV.patches_for(work, p.detail, spec)
            if len(b):
                boxes.append(b)
                patches.append(pp)
                owner.append(i)
                gains.append(g)
        if not patches:
            return out
        # One photo's patches at a time: on this CPU a batch of 16 patches cost about twice the
        # CPU per patch of a batch of 2 (tools/detail_cost.py measures the batch of one photo).
        # The prefix is the global pass's own first segments (same fused copies).
        norm, dev = self.model.card.normalization, self.model.device
        maps = np.concatenate([head(self._through(normalize(pp, norm).to(dev), spec.stage)[spec.stage]
                                    .float()).cpu().numpy() for pp in patches])
        at = 0
        for i, b, g in zip(owner, boxes, gains):
            p = batch[i]
            assert p.detail is not None and p.size is not None
            out[i] = DV.build_result(maps[at:at + len(b)], b, spec, float(z[i]),
                                     (p.detail.shape[1], p.detail.shape[0]), p.size, g)
            at += len(b)
        return out

    def working_array(self, image: Image.Image) -> np.ndarray:
        """A decoded PIL image -> the RGB uint8 array the network sees (what scoring feeds it)."""
        return to_array(image, target_size(*image.size, self.long_side, self.multiple))

    def score_array(self, array: np.ndarray, path: str = "",
                    image_size: tuple[int, int] | None = None,
                    detail: np.ndarray | None = None) -> ScoreRecord:
        """Score one in-memory RGB uint8 photo (H, W, 3) already at the working size (see
        `working_array`), as `score_paths` scores a file: same network, maps and record.
        `detail`: the same photo as the detail image (the decode `working_array` was made
        from), for models with a detail view; without it the score is the global view's.
        Nothing is cached or written; "what if" experiments use it."""
        size = image_size or (array.shape[1], array.shape[0])
        fine = np.ascontiguousarray(detail) if detail is not None and self.detail is not None else None
        return self._infer([_Prepared(path, size=size, array=np.ascontiguousarray(array), detail=fine)])[0]

    @property
    def decode_side(self) -> int:
        """The long side scoring decodes a photo at (at least): what `working_array` and the
        detail view are made from."""
        return DV.decode_side(self.long_side, self.detail)

    def _finish(self, batch: list[_Prepared]) -> list[ScoreRecord]:
        recs = self._infer(batch)
        if self.cache is not None:
            for p, rec in zip(batch, recs):
                self.cache.put(rec, self.model_id, p.key)
        return recs

    def _due(self, groups: dict[tuple[int, ...], list[_Prepared]], pending: int,
             more: bool) -> tuple[int, ...] | None:
        """The shape to run next: a full batch at once; when the input is exhausted or odd shapes
        pile up past the look-ahead, the biggest group."""
        if not pending:
            return None
        shape, group = max(groups.items(), key=lambda kv: len(kv[1]))
        if len(group) >= self.batch_size or not more or pending >= self.lookahead:
            return shape
        return None

    def score_paths(self, paths: Iterable[str | os.PathLike[str]],
                    cancel: threading.Event | None = None,
                    progress: Callable[[int], None] | None = None) -> Iterator[ScoreRecord]:
        """Yield one record per path as it finishes: cache hits at once, then the rest.
        `progress(n)` is told each time n more paths are done. Stops early when `cancel` is set."""
        todo = []
        for raw in paths:
            path = os.path.abspath(os.fspath(raw))
            hit = self.cache.get(path, self.model_id) if self.cache is not None else None
            if hit is not None:
                yield hit
                if progress:
                    progress(1)
            else:
                todo.append(path)
        if not todo:
            return
        groups: dict[tuple[int, ...], list[_Prepared]] = {}
        pending = 0
        pool = ThreadPoolExecutor(max(1, self.workers), thread_name_prefix="aesview-decode")
        try:
            queue: deque[Future[_Prepared]] = deque()
            it = iter(todo)

            def refill() -> None:
                while len(queue) < self.lookahead:
                    nxt = next(it, None)
                    if nxt is None:
                        return
                    if self.workers:
                        queue.append(pool.submit(self._prepare, nxt))
                    else:
                        done: Future[_Prepared] = Future()
                        done.set_result(self._prepare(nxt))
                        queue.append(done)

            refill()
            while queue:
                if cancel is not None and cancel.is_set():
                    return
                prep = queue.popleft().result()
                refill()
                if prep.error:
                    yield ScoreRecord(path=prep.path, error=prep.error)
                    if progress:
                        progress(1)
                elif prep.array is not None:
                    groups.setdefault(prep.array.shape, []).append(prep)
                    pending += 1
                while (shape := self._due(groups, pending, more=bool(queue))) is not None:
                    ready, groups[shape] = groups[shape][:self.batch_size], groups[shape][self.batch_size:]
                    pending -= len(ready)
                    yield from self._finish(ready)
                    if progress:
                        progress(len(ready))
        finally:
            # A consumer that stops early (cancel, closed generator) must not wait for decodes.
            pool.shutdown(wait=False, cancel_futures=True)

    def score_one(self, path: str | os.PathLike[str]) -> ScoreRecord:
        return next(iter(self.score_paths([path])))
