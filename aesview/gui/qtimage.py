"""numpy / PIL -> QImage. Safe in worker threads (QImage, unlike QPixmap, is not tied to the
GUI thread); every result owns its pixels, so the source buffer may go away."""

from __future__ import annotations

import numpy as np
from PySide6.QtGui import QImage


def rgb_to_qimage(arr: np.ndarray) -> QImage:
    arr = np.ascontiguousarray(arr, dtype=np.uint8)
    h, w = arr.shape[:2]
    if arr.ndim == 2:
        return QImage(arr.data, w, h, w, QImage.Format.Format_Grayscale8).copy()
    if arr.shape[2] == 4:
        return QImage(arr.data, w, h, 4 * w, QImage.Format.Format_RGBA8888).copy()
    return QImage(arr.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()


def pil_to_qimage(img) -> QImage:
    if img.mode not in ("RGB", "RGBA", "L"):
        img = img.convert("RGB")
    return rgb_to_qimage(np.asarray(img))
