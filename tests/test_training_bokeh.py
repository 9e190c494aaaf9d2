"""Synthetic shallow depth of field: the subject from the ImageNet classifier's CAM stays sharp,
the background gets lens blur; subject blur is the opposite."""

import numpy as np
import pytest

from aesview.training.bokeh import SubjectFinder, background_blur, subject_blur
from aesview.training.datasets import load_rgb
from aesview.training.evaluate import laplacian_variance

from .photos import shared_photo


@pytest.fixture(scope="module")
def finder():
    return SubjectFinder()


def test_background_blur_keeps_the_subject_and_softens_the_rest():
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, (96, 128, 3), dtype=np.uint8)
    mask = np.zeros((96, 128), np.float32)
    mask[30:70, 40:90] = 1.0
    out = background_blur(img, mask, 4.0)
    assert np.array_equal(out[30:70, 40:90], img[30:70, 40:90])
    assert laplacian_variance(out[:25]) < 0.2 * laplacian_variance(img[:25])
    inv = subject_blur(img, mask, 4.0)
    assert np.array_equal(inv[:25], img[:25])
    assert laplacian_variance(inv[35:65, 45:85]) < 0.2 * laplacian_variance(img[35:65, 45:85])


def test_cam_finds_a_small_subject_on_a_plain_background(finder):
    # A ladybird on a grass stem in front of soft background: the mask is a small part of the
    # frame and lies where the photo is sharpest (the subject), not on the blur.
    img = load_rgb(shared_photo("mate_LadyBird.jpg"), 320)
    m = finder.mask(img)
    assert m.shape == img.shape[:2] and 0.03 < m.mean() < 0.5
    g = img.astype(np.float32).mean(axis=2)
    lap = np.abs(4 * g[1:-1, 1:-1] - g[:-2, 1:-1] - g[2:, 1:-1] - g[1:-1, :-2] - g[1:-1, 2:])
    inside, outside = lap[m[1:-1, 1:-1] > 0.5].mean(), lap[m[1:-1, 1:-1] < 0.1].mean()
    assert inside > 1.5 * outside
