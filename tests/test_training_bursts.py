"""Full-resolution takes through the app's decode-and-shrink path (the burst check and the
training samples made the same way)."""

import numpy as np
import torch

from aesview.core.model import build_model
from aesview.training.bursts import TAKES, app_view, burst_check, native_defect, take, through_app
from aesview.training.evaluate import laplacian_variance

from .photos import shared_photo


def test_full_resolution_defects_survive_the_shrink_in_order(tmp_path):
    from aesview.core.imaging import load_image
    full = np.asarray(load_image(shared_photo("mate_Wood.jpg")).image.convert("RGB"))
    rng = np.random.default_rng(0)
    clean = through_app(full, 320, tmp_path)
    assert clean.shape == app_view(shared_photo("mate_Wood.jpg"), 320).shape
    noisy = [through_app(native_defect(full, "native_noise", s, rng), 320, tmp_path)
             for s in (1, 2, 3)]
    focus = [through_app(native_defect(full, "native_focus", s, rng), 320, tmp_path)
             for s in (1, 2, 3)]
    lv = laplacian_variance
    # Grain shrinks to faint extra texture, growing with severity; focus blur removes detail.
    assert lv(clean) < lv(noisy[0]) < lv(noisy[1]) < lv(noisy[2])
    assert lv(clean) > lv(focus[0]) > lv(focus[1]) > lv(focus[2])


def test_takes_jitter_the_framing_and_keep_the_size_close():
    img = np.random.default_rng(1).integers(0, 256, (300, 400, 3), dtype=np.uint8)
    rng = np.random.default_rng(2)
    outs = [take(img, k, rng) for k in TAKES]
    for o in outs:
        assert 0.95 * 300 <= o.shape[0] <= 300 and 0.95 * 400 <= o.shape[1] <= 400
    assert len({o.shape for o in outs}) > 1 or len({o.tobytes() for o in outs}) == len(outs)


def test_burst_check_reports_a_winner_per_burst():
    torch.manual_seed(0)
    net = build_model("efficientnet_lite0", 8, imagenet=True).eval()
    res = burst_check(net, [shared_photo("skimage_coffee.jpg")],
                      {"mean": [0.5] * 3, "std": [0.5] * 3}, bursts_per_photo=1)
    assert res["bursts"] == 1 and res["rows"][0]["winner"] in TAKES
    assert set(res["rows"][0]["z"]) == set(TAKES)
    assert res["clean_wins"] in (0.0, 1.0)
