import numpy as np
import pytest

from aesview.training import degradations as D
from aesview.training.datasets import load_rgb
from aesview.training.evaluate import laplacian_variance

from .photos import shared_photo


@pytest.fixture(scope="module")
def photo():
    return load_rgb(shared_photo("skimage_astronaut.jpg"), 160)


def _grey(a):
    return a.astype(np.float64).mean(axis=2) / 255


def _rng():
    return np.random.default_rng(7)


def _measure(name, clean, out):
    """A number that must grow with severity for each defect (the intended change)."""
    g, c = _grey(out), _grey(clean)
    if name in ("defocus", "motion_blur"):
        return -laplacian_variance(out)
    if name in ("noise", "jpeg", "tilt", "reframe", "local_blur", "local_noise"):
        return np.abs(out.astype(float) - clean).mean()
    if name == "underexposure":
        return c.mean() - g.mean()
    if name == "overexposure":
        return g.mean() - c.mean()
    if name == "flat_contrast":
        return c.std() - g.std()
    if name == "color_cast":
        m = out.reshape(-1, 3).mean(0) - clean.reshape(-1, 3).mean(0)
        return m.max() - m.min()
    raise AssertionError(name)


@pytest.mark.parametrize("name", list(D.DEFECTS))
def test_defect_changes_the_photo_more_with_each_severity(photo, name):
    values = []
    for sev in D.SEVERITIES:
        out, mask = D.apply(name, photo, sev, _rng())  # same draw: only the strength differs
        assert out.shape == photo.shape and out.dtype == np.uint8
        values.append(_measure(name, photo, out))
    assert values[0] > 0.0 if name not in ("defocus", "motion_blur") else \
        values[0] > -laplacian_variance(photo)
    assert values[0] < values[1] < values[2], values


def test_blur_removes_detail_and_exposure_moves_brightness(photo):
    sharp = laplacian_variance(photo)
    assert laplacian_variance(D.apply("defocus", photo, 3, _rng())[0]) < 0.3 * sharp
    assert _grey(D.apply("underexposure", photo, 3, _rng())[0]).mean() < 0.5 * _grey(photo).mean()


@pytest.mark.parametrize("name", ["local_blur", "local_noise"])
def test_local_defect_is_confined_to_its_mask(photo, name):
    for seed in range(4):
        out, mask = D.apply(name, photo, 3, np.random.default_rng(seed))
        assert mask is not None and mask.shape == photo.shape[:2]
        cover = (mask >= 0.5).mean()
        assert 0.15 <= cover <= 0.55, cover
        diff = np.abs(out.astype(int) - photo).max(axis=2)
        assert diff[mask == 0].max() == 0           # untouched outside the region
        assert diff[mask >= 0.99].mean() > 3         # clearly changed inside


def test_global_defects_have_no_mask(photo):
    for name in D.DEFECTS:
        if not name.startswith("local_"):
            assert D.apply(name, photo, 1, _rng())[1] is None


def test_near_lossless_variants_stay_close(photo):
    rng = np.random.default_rng(0)
    for _ in range(12):
        v = D.near_lossless(photo, rng)
        assert v.shape == photo.shape
        same = min(np.abs(v.astype(float) - photo).mean(),
                   np.abs(v[:, ::-1].astype(float) - photo).mean())
        assert same < 4.0, same  # well under any severity-1 defect


def test_unknown_defect_and_severity_are_refused(photo):
    with pytest.raises(ValueError, match="unknown defect"):
        D.apply("vignette", photo, 1, _rng())
    with pytest.raises(ValueError, match="severity"):
        D.apply("noise", photo, 4, _rng())
