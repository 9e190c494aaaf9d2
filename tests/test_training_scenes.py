import numpy as np
from PIL import Image

from aesview.training import degradations as D
from aesview.training.evaluate import laplacian_variance
from aesview.training.selfsup import build, load_large, scene_variant

from .photos import shared_photo


def test_scene_variants_are_sharp_working_size_windows_of_the_photo():
    path = shared_photo("skimage_astronaut.jpg")   # 512 px: a 0.5 window would need upscaling
    big = load_large(path, 640)
    rng = np.random.default_rng(3)
    variants = [scene_variant(big, rng) for _ in range(6)]
    for v in variants:
        assert v.dtype == np.uint8 and max(v.shape[:2]) == 320
        assert v.shape[0] % 32 == 0 and v.shape[1] % 32 == 0
        # A clean scene: far more detail than its mildest defocus.
        assert laplacian_variance(v) > 2 * laplacian_variance(D.apply("defocus", v, 1, rng)[0])
    assert len({v.tobytes() for v in variants}) == len(variants)


def test_rotation_leaves_no_empty_corners():
    white = Image.new("RGB", (900, 600), (255, 255, 255))
    rng = np.random.default_rng(0)
    for _ in range(20):
        v = scene_variant(white, rng, max_angle=1.0, zoom=(0.9, 0.9))
        assert v.min() >= 0.94 * 255


def test_build_adds_each_scene_as_a_source_with_its_own_defects():
    photo = shared_photo("skimage_coffee.jpg")
    samples = build([photo], long_side=160, near_lossless=1, copies=1, scene_crops=2,
                    families=("defocus", "noise"))
    groups = sorted({s.group for s in samples})
    assert groups == [0, 1, 2]
    cleans = [s for s in samples if s.family == "clean"]
    assert len(cleans) == 3 and len({c.image.tobytes() for c in cleans}) == 3
    for g in groups:
        fams = sorted((s.family, s.severity) for s in samples if s.group == g)
        assert fams == [("clean", 0), ("defocus", 1), ("defocus", 2), ("defocus", 3),
                        ("near_lossless", 0), ("noise", 1), ("noise", 2), ("noise", 3)]
