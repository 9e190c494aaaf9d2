"""The training loop: frozen backbone prefix (optionally cached once per sample), trainable
tail + GAP heads, weighted two-class loss, attribute loss, a within-photo ranking loss, and a
map loss for samples whose defect region is known. Resumable from atomic checkpoints.

Loss of a batch (z = logit_high - logit_low):
  L = CE_w + a * BCE_att + r * rank + m * map
  CE_w  : cross-entropy weighted by sample weight x class-balance factor, / sum of weights
  rank  : hinge(margin - (z_i - z_j)) for pairs of one source photo whose pseudo means differ
          by >= 0.5 (RankIQA); zero for datasets without groups (AVA, AADB, CSV)
  map   : per-cell BCE of the signed map + bias (the AesAM cell logit) where a local defect's
          mask is known: cells mostly inside -> low, cells outside -> high
"""

from __future__ import annotations

import logging
import random
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
import torch.utils.data
from torch import nn

from ..core.atomic import atomic_writer
from ..core.backbones import SPECS
from ..core.head_spec import HeadSpec
from ..core.model import AesNet, Staged, build_model
from ..core.preprocess import normalize
from ..core.weights import pick_device
from .datasets import Sample, image_shape, sample_pixels
from .weighting import Weighting, class_balance, histogram_text, mean_score, mixed_weights

log = logging.getLogger("aesview.training")


@dataclass
class TrainConfig:
    architecture: str = "efficientnet_lite0"
    long_side: int = 320
    multiple: int = 32
    freeze: int = 12                 # backbone stages [0, freeze) are frozen
    cache_prefix: bool = True        # run the frozen prefix once per sample, keep it in RAM
    cache_file: str | None = None    # ... and on disk, keyed by sample, shared between runs
    epochs: int = 8
    batch_size: int = 32
    lr: float = 5e-4
    backbone_lr_scale: float = 1.0   # unfrozen MBConv blocks learn at lr x this (heads at lr)
    weight_decay: float = 1e-4
    measure: str = "vote"
    gamma: float = 1.0
    delta: float = 0.0
    threshold: float = 5.0
    balance: str = "weights"         # "weights" (class-balanced loss) or "none"
    att_weight: float = 0.5
    rank_weight: float = 1.0
    rank_margin: float = 1.0
    cross_rank_weight: float = 0.0   # clean photo above another photo's severe defect
    human_rank_weight: float = 0.0   # human-rated photos: ordered as people's mean opinions
    map_weight: float = 0.5
    flip: bool = True                # random mirror (only when the prefix is not cached)
    seed: int = 0
    device: str = "auto"
    amp: str = "auto"                # mixed precision on CUDA
    num_workers: int = 0
    imagenet: bool = True
    imagenet_weights: str | None = None  # vgg16 / resnet50: the user's torchvision .pth
    attributes: list = field(default_factory=list)
    levels: list | None = None       # backbone stages the heads read besides the last map

    def weighting(self) -> Weighting:
        return Weighting(self.measure, self.gamma, self.delta, self.threshold)

    def head(self) -> HeadSpec | None:
        """The multi-level head's spec, scales 1 (train() estimates them on training photos)."""
        if not self.levels:
            return None
        return HeadSpec(tuple(int(v) for v in self.levels), (1.0,) * len(self.levels))


def model_for(cfg: TrainConfig, n_attributes: int, imagenet: bool | None = None) -> AesNet:
    """The network `cfg` trains (backbone, ImageNet weights, the head's levels)."""
    return build_model(cfg.architecture, n_attributes,
                       imagenet=cfg.imagenet if imagenet is None else imagenet,
                       imagenet_weights=cfg.imagenet_weights, head=cfg.head())


def level_key(key: str, levels: list[int]) -> str:
    """The prefix cache's key for a sample's pooled levels below the freeze point: beside the
    stage output's own key, so caches written before the multi-level head stay valid."""
    return f"{key}#levels={','.join(str(i) for i in levels)}"


def setup_logging(out_dir: Path | None) -> None:
    log.setLevel(logging.INFO)
    fmt = logging.Formatter("%(asctime)s %(levelname)s %(message)s", "%H:%M:%S")
    for h in list(log.handlers):
        log.removeHandler(h)
        h.close()
    err = logging.StreamHandler(sys.stderr)
    err.setFormatter(fmt)
    log.addHandler(err)
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
        fh = logging.FileHandler(out_dir / "train.log")
        fh.setFormatter(fmt)
        log.addHandler(fh)
    log.propagate = False


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def freeze_prefix(net: AesNet, k: int) -> list[nn.Parameter]:
    for i, stage in enumerate(net.backbone.stages):
        for p in stage.parameters():
            p.requires_grad_(i >= k)
    return [p for p in net.parameters() if p.requires_grad]


def param_groups(net: AesNet, cfg: TrainConfig) -> list[dict]:
    """The unfrozen backbone blocks at lr x backbone_lr_scale, the rest (the head conv, the last
    stage, and the GAP heads) at lr: ImageNet blocks moved less than the new layers."""
    if cfg.backbone_lr_scale == 1.0:
        return [{"params": freeze_prefix(net, cfg.freeze), "lr": cfg.lr}]
    trainable = freeze_prefix(net, cfg.freeze)
    blocks = {id(p) for stage in list(net.backbone.stages)[:-1] for p in stage.parameters()}
    slow = [p for p in trainable if id(p) in blocks]
    fast = [p for p in trainable if id(p) not in blocks]
    return [g for g in ({"params": slow, "lr": cfg.lr * cfg.backbone_lr_scale},
                        {"params": fast, "lr": cfg.lr}) if g["params"]]


def set_train_mode(net: AesNet) -> None:
    """Heads and dropout train; every BatchNorm keeps its ImageNet statistics (batches here are
    small and often one photo's variants, which would bias running statistics)."""
    net.train()
    for m in net.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            m.eval()


class Inputs:
    """Pixels and (optionally cached) frozen-prefix features per sample, batched by shape."""

    def __init__(self, samples: list[Sample], net: AesNet, cfg: TrainConfig, device):
        self.samples, self.net, self.cfg, self.device = samples, net, cfg, device
        self.norm = SPECS[cfg.architecture].normalization
        self.cache: dict[int, torch.Tensor] = {}
        # The head's levels below the freeze point come from the cache too, pooled to the last
        # map's grid (core/model.py), one tensor per sample.
        self.below = [i for i in getattr(net, "levels", ()) if i < cfg.freeze]
        self.pooled: dict[int, torch.Tensor] = {}
        self.bad: set[int] = set()
        self.shapes: list[tuple[int, int] | None] = []
        for i, s in enumerate(samples):
            try:
                self.shapes.append(image_shape(s, cfg.long_side, cfg.multiple))
            except Exception as exc:  # an unreadable file is left out; the rest go on
                self.bad.add(i)
                self.shapes.append(None)
                log.warning("%s: left out of training (%s)", s.path, exc)
        if cfg.cache_prefix and cfg.freeze > 0:
            self._fill_cache()

    def pixels(self, idx: int) -> np.ndarray:
        return sample_pixels(self.samples[idx], self.cfg.long_side, self.cfg.multiple)

    @torch.no_grad()
    def _prefix(self, arrays: list[np.ndarray]) -> torch.Tensor | Staged:
        x = normalize(np.stack(arrays), self.norm).to(self.device)
        self.net.backbone.eval()
        return self.net.prefix(x, stop=self.cfg.freeze)

    def complete(self, i: int) -> bool:
        return i in self.cache and (not self.below or i in self.pooled)

    def _fill_cache(self):
        from tqdm import tqdm
        stored: dict[str, torch.Tensor] = {}
        path = Path(self.cfg.cache_file) if self.cfg.cache_file else None
        if path is not None and path.is_file():
            stored = torch.load(path, map_location="cpu", weights_only=True)
        keys = [sample_key(s, self.cfg) for s in self.samples]
        lkeys = [level_key(k, self.below) for k in keys]
        for i, k in enumerate(keys):
            if k in stored:
                self.cache[i] = stored[k]
            if self.below and lkeys[i] in stored:
                self.pooled[i] = stored[lkeys[i]]
        order = [[i for i in b if not self.complete(i)]
                 for b in self.batches(np.random.default_rng(0), shuffle=False)]
        order = [b for b in order if b]
        if self.below:
            old = sum(1 for b in order for i in b if i in self.cache)
            if old:
                log.info("prefix cache %s holds stage %d's output but not the pooled levels %s "
                         "for %d samples: running stages 0..%d again for them (the stored "
                         "outputs are kept)", path, self.cfg.freeze - 1, self.below, old,
                         self.cfg.freeze - 1)
        t0 = time.time()
        last_save = time.time()
        for n, batch in enumerate(tqdm(order, desc="frozen prefix", unit="batch", leave=False,
                                       disable=not sys.stderr.isatty())):
            batch, arrays = self._load_batch(batch)
            if not batch:
                continue
            out = self._prefix(arrays)
            feats = (out.x if isinstance(out, Staged) else out).to("cpu", torch.float16)
            for i, f in zip(batch, feats):
                if keys[i] not in stored:
                    stored[keys[i]] = f.clone()
                self.cache[i] = stored[keys[i]]
            if isinstance(out, Staged):
                for i, p in zip(batch, out.pooled.to("cpu", torch.float16)):
                    self.pooled[i] = stored[lkeys[i]] = p.clone()
            # A long fill survives an interruption: what is done is on disk every few minutes.
            if path is not None and (time.time() - last_save > 300 or n == len(order) - 1):
                atomic_torch_save(stored, path)
                last_save = time.time()
                log.info("prefix cache: %d of %d samples done",
                         sum(map(self.complete, range(len(self.samples)))), len(self.samples))
        log.info("cached stages 0..%d%s for %d samples in %.1f s (%.0f MB)", self.cfg.freeze - 1,
                 f" and levels {self.below}" if self.below else "", len(self.samples),
                 time.time() - t0, sum(t.numel() * 2 for d in (self.cache, self.pooled)
                                       for t in d.values()) / 2**20)

    def batches(self, rng: np.random.Generator, shuffle: bool = True) -> list[list[int]]:
        """Same-shape batches. Samples of one source photo are kept together (in random order)
        so the ranking loss sees pairs of the same scene."""
        buckets: dict[tuple, list[int]] = {}
        for i, sh in enumerate(self.shapes):
            if sh is not None:
                buckets.setdefault(sh, []).append(i)
        out = []
        for key in sorted(buckets):
            idx = np.array(buckets[key])
            if shuffle:
                idx = idx[rng.permutation(len(idx))]
                groups = np.array([self.samples[i].group for i in idx])
                order = {g: r for r, g in enumerate(rng.permutation(np.unique(groups)))}
                idx = idx[np.argsort([order[g] for g in groups], kind="stable")]
            bs = self.cfg.batch_size
            out += [idx[j:j + bs].tolist() for j in range(0, len(idx), bs)]
        if shuffle:
            out = [out[j] for j in rng.permutation(len(out))]
        return out

    def _load_batch(self, batch: list[int]) -> tuple[list[int], list[np.ndarray]]:
        return _decode_batch(self.samples, self.bad, self.pixels, batch)

    def epoch(self, batches: list[list[int]], rng: np.random.Generator):
        """Yields (batch, input for net(x, start=freeze), mirrored?) for every usable batch.
        Uncached pixels are decoded by `num_workers` processes when asked for."""
        if self.cache:
            for b in batches:
                x = torch.stack([self.cache[i] for i in b]).to(self.device).float()
                if self.below:
                    pooled = torch.stack([self.pooled[i] for i in b]).to(self.device).float()
                    yield b, Staged(x, pooled), False
                else:
                    yield b, x, False
            return
        loader: Iterable[tuple[list[int], list[np.ndarray]]]
        if self.cfg.num_workers > 0:
            loader = torch.utils.data.DataLoader(
                _BatchLoader(self), batch_size=None, sampler=batches,
                num_workers=self.cfg.num_workers, collate_fn=_as_is)
        else:
            loader = map(self._load_batch, batches)
        for kept, arrays in loader:
            if not kept:
                continue
            flip = self.cfg.flip and rng.random() < 0.5
            if flip:
                arrays = [a[:, ::-1] for a in arrays]
            x = normalize(np.stack(arrays), self.norm).to(self.device)
            staged: torch.Tensor | Staged = x
            if self.cfg.freeze > 0:
                with torch.no_grad():
                    staged = self.net.prefix(x, stop=self.cfg.freeze)
            yield kept, staged, flip


def _as_is(item):
    return item


def _decode_batch(samples: list[Sample], bad: set[int], pixels: Callable[[int], np.ndarray],
                  batch: list[int]) -> tuple[list[int], list[np.ndarray]]:
    """Pixels of a batch; an unreadable file is logged once and left out, the rest go on."""
    kept, arrays = [], []
    for i in batch:
        try:
            arrays.append(pixels(i))
            kept.append(i)
        except Exception as exc:
            if i not in bad:
                bad.add(i)
                log.warning("%s: left out of training (%s)", samples[i].path, exc)
    return kept, arrays


class _BatchLoader(torch.utils.data.Dataset):
    """Lets a DataLoader decode whole same-shape batches in worker processes."""

    def __init__(self, inputs: Inputs):
        self.samples, self.cfg = inputs.samples, inputs.cfg
        self.bad: set[int] = set()

    def __getitem__(self, batch: list[int]) -> tuple[list[int], list[np.ndarray]]:
        return _decode_batch(self.samples, self.bad, self.pixels, batch)

    def pixels(self, idx):
        return sample_pixels(self.samples[idx], self.cfg.long_side, self.cfg.multiple)


def sample_key(s: Sample, cfg: TrainConfig) -> str:
    """A sample's identity in the disk cache of frozen-prefix features: its file (with size and
    time, so an edited file is recomputed) or a hash of its generated pixels, plus everything
    that changes the features (backbone, working size, stages)."""
    import hashlib
    if s.image is not None:
        ident = hashlib.sha1(np.ascontiguousarray(s.image).tobytes()).hexdigest() + \
            str(s.image.shape)
    else:
        st = Path(str(s.path)).stat()
        ident = f"{Path(str(s.path)).resolve()}:{st.st_size}:{st.st_mtime_ns}:{int(s.mirror)}"
    return f"{cfg.architecture}/{cfg.long_side}/{cfg.multiple}/{cfg.freeze}/{ident}"


def _mask_cells(mask: np.ndarray, h: int, w: int) -> np.ndarray:
    t = torch.from_numpy(np.ascontiguousarray(mask, np.float32))[None, None]
    return F.adaptive_avg_pool2d(t, (h, w))[0, 0].numpy()


def batch_loss(out, net: AesNet, batch: list[int], data: Inputs, y, w, att, flipped,
               cfg: TrainConfig):
    logits = out.aes_logits.float()
    ce = F.cross_entropy(logits, y, reduction="none")
    wsum = w.sum()
    loss_cls = (ce * w).sum() / wsum.clamp_min(1e-8)
    terms = {"cls": loss_cls}
    if att.shape[1] and cfg.att_weight > 0:
        known = ~torch.isnan(att)
        if known.any():
            bce = F.binary_cross_entropy_with_logits(out.att_logits.float()[known], att[known])
            terms["att"] = cfg.att_weight * bce
    z = logits[:, 1] - logits[:, 0]
    if cfg.rank_weight > 0:
        groups = torch.tensor([data.samples[i].group for i in batch], device=z.device)
        means = torch.tensor(mean_score(np.stack([data.samples[i].votes for i in batch])),
                             device=z.device, dtype=torch.float32)
        pair = (groups[:, None] == groups[None, :]) & (groups[:, None] >= 0) & \
               (means[:, None] - means[None, :] >= 0.5)
        if pair.any():
            diff = z[:, None] - z[None, :]
            terms["rank"] = cfg.rank_weight * F.relu(cfg.rank_margin - diff[pair]).mean()
    if cfg.cross_rank_weight > 0:
        # A culling tool ranks a whole shoot: a clean photo (pseudo mean >= 7) should outrank a
        # clearly defective photo (mean <= 3.5, severity >= 2) of any *other* scene too.
        groups = torch.tensor([data.samples[i].group for i in batch], device=z.device)
        means = torch.tensor(mean_score(np.stack([data.samples[i].votes for i in batch])),
                             device=z.device, dtype=torch.float32)
        cross = (groups[:, None] != groups[None, :]) & (groups[:, None] >= 0) & \
                (groups[None, :] >= 0) & (means[:, None] >= 7.0) & (means[None, :] <= 3.5)
        if cross.any():
            diff = z[:, None] - z[None, :]
            terms["cross_rank"] = cfg.cross_rank_weight * \
                F.relu(cfg.rank_margin - diff[cross]).mean()
    if cfg.human_rank_weight > 0:
        # People's mean opinions order the photos (RankNet's logistic pair loss): it uses the
        # ranking inside each class that the two-class loss alone throws away.
        hm = torch.tensor([np.nan if data.samples[i].mean is None else data.samples[i].mean
                           for i in batch], device=z.device, dtype=torch.float32)
        ok = ~torch.isnan(hm)
        pair = ok[:, None] & ok[None, :] & (hm[:, None] - hm[None, :] >= 0.25)
        if pair.any():
            diff = z[:, None] - z[None, :]
            terms["human_rank"] = cfg.human_rank_weight * F.softplus(-diff[pair]).mean()
    masked = [(j, mask) for j, i in enumerate(batch) if (mask := data.samples[i].mask) is not None]
    if masked and cfg.map_weight > 0:
        feats = out.features.float()
        dw = net.aes_head.weight[1] - net.aes_head.weight[0]
        db = net.aes_head.bias[1] - net.aes_head.bias[0]
        cell_logits, targets = [], []
        for j, m in masked:
            if flipped:
                m = m[:, ::-1]
            cov = torch.from_numpy(_mask_cells(m, feats.shape[2], feats.shape[3])).to(z.device)
            cam = torch.einsum("c,chw->hw", dw, feats[j]) + db
            sel = (cov >= 0.5) | (cov <= 0.1)
            cell_logits.append(cam[sel])
            targets.append((cov[sel] <= 0.1).float())
        terms["map"] = cfg.map_weight * F.binary_cross_entropy_with_logits(
            torch.cat(cell_logits), torch.cat(targets))
    return sum(terms.values()), terms


@torch.no_grad()
def estimate_level_scales(net: AesNet, data: Inputs, limit: int = 256) -> list[float]:
    """Each level's fixed scale: the root mean square of the last map's channel means over the
    level's, on up to `limit` training photos (people-rated ones first, in order), with the
    network as it starts. The heads then see every level's means at the last map's size, so one
    learning rate and one weight decay treat small early levels like the 1280 last channels
    (ridge on the frozen features standardised them for the same reason); a per-level constant,
    not a per-channel one, keeps each level's map a plain weighted sum of its channels."""
    n_levels = len(net.levels)
    net.set_level_scales([1.0] * n_levels)
    rated = [i for i, s in enumerate(data.samples) if s.mean is not None and i not in data.bad]
    is_rated = set(rated)
    rest = [i for i in range(len(data.samples)) if i not in is_rated and i not in data.bad]
    pick = set((rated + rest)[:limit])
    batches = [[i for i in b if i in pick]
               for b in data.batches(np.random.default_rng(0), shuffle=False)]
    was = net.training
    net.eval()
    means = []
    for _, x, _ in data.epoch([b for b in batches if b], np.random.default_rng(0)):
        means.append(net.features(x, start=data.cfg.freeze).float().mean(dim=(2, 3)).cpu())
    net.train(was)
    m = torch.cat(means).double()
    bounds = np.cumsum([0, *net.level_channels])
    rms = [float(m[:, a:b].pow(2).mean().sqrt()) for a, b in zip(bounds[:-1], bounds[1:])]
    last = float(m[:, bounds[-1]:].pow(2).mean().sqrt())
    return [last / max(r, 1e-12) for r in rms]


def atomic_torch_save(obj, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_writer(path) as fh:
        torch.save(obj, fh)


def train(samples: list[Sample], cfg: TrainConfig, out_dir: Path | None = None,
          resume: bool = False, val_fn=None, select=None) -> tuple[AesNet, dict]:
    """Train on `samples`; returns (net in eval mode, summary). With `out_dir`, writes
    train.log and checkpoint.pt there after every epoch; `resume` continues from it.
    `val_fn(net) -> dict` adds validation figures to each epoch's log entry; with
    `select(entry) -> float` the epoch scoring highest is returned (early stopping on the
    validation split), not the last one."""
    out_dir = Path(out_dir) if out_dir else None
    seed_everything(cfg.seed)
    device = pick_device(cfg.device)
    use_amp = device.type == "cuda" and cfg.amp != "off"
    n_att = len(cfg.attributes) if cfg.attributes else len(samples[0].attributes)
    net = model_for(cfg, n_att).to(device)
    groups = param_groups(net, cfg)
    opt = torch.optim.AdamW(groups, lr=cfg.lr, weight_decay=cfg.weight_decay)
    t_start = time.time()

    votes = np.stack([s.votes for s in samples])
    means = np.array([np.nan if s.mean is None else s.mean for s in samples])
    stds = np.array([np.nan if s.std is None else s.std for s in samples])
    y_all, w_raw = mixed_weights(votes, means, stds, cfg.weighting())
    w_all = w_raw.copy()
    if cfg.balance == "weights":
        w_all = w_all * class_balance(y_all, w_all)
    elif cfg.balance != "none":
        raise ValueError(f"unknown balance {cfg.balance!r} (weights or none)")
    log.info("%d samples: %d high, %d low; weighting %s", len(samples), int(y_all.sum()),
             int((1 - y_all).sum()), cfg.weighting())
    log.info("sample weight histogram (before class balance):\n%s",
             histogram_text(w_raw))

    data = Inputs(samples, net, cfg, device)
    if net.levels and not (resume and out_dir is not None and (out_dir / "checkpoint.pt").is_file()):
        scales = estimate_level_scales(net, data)
        net.set_level_scales(scales)
        log.info("multi-level head: levels %s + the last map; scales %s", list(net.levels),
                 ", ".join(f"{v:.4g}" for v in scales))
    batches_per_epoch = len(data.batches(np.random.default_rng(0)))
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=[g["lr"] for g in groups], pct_start=0.15,
                                                total_steps=max(1, cfg.epochs * batches_per_epoch))
    scaler = torch.amp.GradScaler("cuda", enabled=use_amp)
    start_epoch, history, elapsed_before = 0, [], 0.0
    best_score, best_state, best_epoch = -np.inf, None, None
    ckpt = out_dir / "checkpoint.pt" if out_dir else None
    if resume and ckpt is not None and ckpt.is_file():
        state = torch.load(ckpt, map_location="cpu", weights_only=False)
        net.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        sched.load_state_dict(state["scheduler"])
        scaler.load_state_dict(state["scaler"])
        torch.set_rng_state(state["torch_rng"])
        start_epoch, history = state["epoch"], state["history"]
        elapsed_before = state.get("time_s", 0.0)
        best = state.get("best")
        if best is not None:
            best_score, best_epoch, best_state = best["score"], best["epoch"], best["state"]
        log.info("resumed from %s at epoch %d", ckpt, start_epoch)

    from tqdm import tqdm
    for epoch in range(start_epoch, cfg.epochs):
        rng = np.random.default_rng([cfg.seed, epoch])
        set_train_mode(net)
        sums: dict[str, float] = {}
        correct = seen = 0
        batches = [b for b in data.batches(rng) if not data.cache or data.complete(b[0])]
        batches = [[i for i in b if i not in data.bad] for b in batches]
        bar = tqdm(data.epoch([b for b in batches if b], rng), total=len(batches),
                   desc=f"epoch {epoch + 1}/{cfg.epochs}", unit="batch", leave=False,
                   disable=not sys.stderr.isatty())
        for batch, x, flipped in bar:
            y = torch.from_numpy(y_all[batch]).to(device)
            w = torch.from_numpy(w_all[batch]).float().to(device)
            att = torch.from_numpy(np.stack([samples[i].attributes for i in batch])).float()
            att = att.to(device)
            with torch.autocast(device.type, enabled=use_amp):
                out = net(x, start=cfg.freeze)
            loss, terms = batch_loss(out, net, batch, data, y, w, att, flipped, cfg)
            opt.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            scaler.step(opt)
            scaler.update()
            sched.step()
            for k, v in terms.items():
                sums[k] = sums.get(k, 0.0) + float(v.detach()) * len(batch)
            correct += int((out.aes_logits.argmax(1) == y).sum())
            seen += len(batch)
            bar.set_postfix(loss=f"{float(loss.detach()):.3f}")
        entry = {"epoch": epoch + 1, "train_acc": correct / max(seen, 1),
                 **{k: v / max(seen, 1) for k, v in sums.items()}}
        if val_fn is not None:
            net.eval()
            entry.update(val_fn(net))
        history.append(entry)
        if select is not None:
            score = float(select(entry))
            if score > best_score:
                best_score, best_epoch = score, epoch + 1
                best_state = {k: v.detach().clone() for k, v in net.state_dict().items()}
        log.info("epoch %d: %s", epoch + 1, ", ".join(f"{k}={v:.4f}" for k, v in entry.items()
                                                     if k != "epoch"))
        if ckpt is not None:
            atomic_torch_save({"model": net.state_dict(), "optimizer": opt.state_dict(),
                               "scheduler": sched.state_dict(), "scaler": scaler.state_dict(),
                               "torch_rng": torch.get_rng_state(), "epoch": epoch + 1,
                               "history": history, "config": asdict(cfg),
                               "best": None if best_state is None else
                               {"score": best_score, "epoch": best_epoch, "state": best_state},
                               "time_s": elapsed_before + time.time() - t_start}, ckpt)
    if best_state is not None:
        net.load_state_dict(best_state)
        log.info("selected epoch %d of %d on validation (score %.4f)", best_epoch, cfg.epochs,
                 best_score)
    net.eval()
    summary = {"selected_epoch": best_epoch or cfg.epochs, "history": history,
               "time_s": round(elapsed_before + time.time() - t_start, 1),
               "samples": len(samples), "high": int(y_all.sum()), "low": int((1 - y_all).sum())}
    return net, summary
