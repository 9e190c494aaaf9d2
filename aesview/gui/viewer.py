"""The selected photo, large: fit or 100 % zoom, wheel zoom, pan by dragging, the heat-map
overlay and the crop rectangle. Scene units are the photo's full-resolution pixels, so crop
boxes go to and from the core unchanged whatever size of the photo is on screen."""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QImage, QPainter, QPixmap
from PySide6.QtWidgets import (
    QFrame,
    QGraphicsItem,
    QGraphicsPixmapItem,
    QGraphicsScene,
    QGraphicsView,
    QLabel,
)

from .crop_item import HANDLE_PX, MIN_ZOOM, CropItem

PREVIEW_SIDE = 2048


def preview_of(image: QImage, side: int = PREVIEW_SIDE) -> QImage:
    """A screen-sized copy for fit-to-window zoom (call it in the worker that loaded the photo)."""
    if max(image.width(), image.height()) <= side:
        return image
    return image.scaled(side, side, Qt.AspectRatioMode.KeepAspectRatio,
                        Qt.TransformationMode.SmoothTransformation)


class ImageItem(QGraphicsItem):
    """Draws a QImage over the photo's full-resolution rectangle: a screen-sized preview while
    zoomed out, the full image once a photo pixel is bigger than a preview pixel. No QPixmap
    conversion, so even a 45-megapixel photo costs the GUI thread only the pixels it shows."""

    def __init__(self):
        super().__init__()
        self.preview: QImage | None = None
        self.full: QImage | None = None
        self._size = (0, 0)

    def set_images(self, preview: QImage | None, full: QImage | None,
                   size: tuple[int, int]) -> None:
        self.prepareGeometryChange()
        self.preview, self.full, self._size = preview, full, size
        self.update()

    def is_empty(self) -> bool:
        return self.preview is None or self.preview.isNull()

    def boundingRect(self) -> QRectF:
        return QRectF(0, 0, *self._size)

    def paint(self, painter: QPainter, option, widget=None):
        image = self.preview
        if image is None or image.isNull():
            return
        on_screen = self._size[0] * painter.worldTransform().m11()
        if self.full is not None and on_screen > image.width() * 1.05:
            image = self.full
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)
        painter.drawImage(self.boundingRect(), image)


class PhotoView(QGraphicsView):
    zoomChanged = Signal(float)           # screen pixels per photo pixel
    cropChanged = Signal(QRectF)          # user moved/resized the crop

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setScene(QGraphicsScene(self))
        self.setBackgroundBrush(QColor(38, 38, 40))
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setRenderHints(QPainter.RenderHint.Antialiasing
                            | QPainter.RenderHint.SmoothPixmapTransform)
        self.setDragMode(QGraphicsView.DragMode.ScrollHandDrag)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.setResizeAnchor(QGraphicsView.ViewportAnchor.AnchorViewCenter)
        self.photo = ImageItem()
        self.overlay = QGraphicsPixmapItem()
        self.overlay.setTransformationMode(Qt.TransformationMode.SmoothTransformation)
        self.overlay.setZValue(1)
        self._overlay_source: int | None = None   # cacheKey of the QImage the overlay shows
        self.scene().addItem(self.photo)
        self.scene().addItem(self.overlay)
        self.crop = CropItem(QRectF(0, 0, 1, 1))
        self.crop.hide()
        self.crop.changed.connect(self.cropChanged)
        self.scene().addItem(self.crop)
        self.full_size: tuple[int, int] | None = None
        self.fit_mode = True
        self.path: str | None = None
        self.keep_zoom = False          # settings.keep_zoom: moving on keeps zoom and place
        self._kept_centre = (0.5, 0.5)
        # Says when the "full" image is not every pixel (a photo over VIEW_MAX_MEGAPIXELS):
        # 100 % must never pass off a reduced frame as the real pixels.
        self.note = QLabel(self)
        self.note.setObjectName("reduced_note")
        self.note.setStyleSheet("background: rgba(0,0,0,170); color: #ffd479; padding: 3px 8px;"
                                " border-radius: 3px;")
        self.note.hide()

    # --- content ---
    def clear(self) -> None:
        if self.full_size and not self.fit_mode:
            # where the user was looking, for keep_zoom on the next photo
            c = self.mapToScene(self.viewport().rect().center())
            self._kept_centre = (c.x() / self.full_size[0], c.y() / self.full_size[1])
        self.path = None
        self.full_size = None
        self.note.hide()
        self.photo.set_images(None, None, (0, 0))
        self.overlay.setPixmap(QPixmap())
        self._overlay_source = None
        self.crop.hide()
        # no photo, nothing to scroll (a filter that shows nothing left the last photo's
        # scroll bars round an empty view); the zoom itself stays for keep_zoom
        self.scene().setSceneRect(QRectF(0, 0, 1, 1))

    def show_image(self, path: str, preview: QImage, full_size: tuple[int, int] | None,
                   full: QImage | None = None) -> None:
        """Show the photo over its full-resolution rectangle: `preview` when zoomed out (a
        thumbnail stands in until the photo arrives), `full` at 100 %."""
        same = path == self.path and full_size == self.full_size
        self.path = path
        self.full_size = full_size or (preview.width(), preview.height())
        fw, fh = self.full_size
        self.photo.set_images(preview, full, self.full_size)
        self._set_note(full)
        rect = QRectF(0, 0, fw, fh)
        self.scene().setSceneRect(rect)
        self.crop.set_bounds(rect)
        if self.fit_mode or (not same and not self.keep_zoom):
            self.fit()
        elif not same:
            # keep_zoom: the next photo at the same zoom, on the same part of the frame
            cx, cy = self._kept_centre
            self.centerOn(QPointF(cx * fw, cy * fh))

    def _set_note(self, full: QImage | None) -> None:
        fw, fh = self.full_size or (0, 0)
        if full is None or full.isNull() or full.width() >= fw:
            self.note.hide()
            return
        factor = round(fw / max(1, full.width()))
        self.note.setText(f"Shown at 1/{factor} size: {full.width()} × {full.height()} of "
                          f"{fw} × {fh} pixels (over the viewer's memory budget); 100 % is not "
                          "every pixel")
        self.note.adjustSize()
        self._place_note()
        self.note.show()
        self.note.raise_()

    def note_text(self) -> str | None:
        """What the reduced-size note says, None when every pixel is shown."""
        return None if self.note.isHidden() else self.note.text()

    def _place_note(self) -> None:
        vp = self.viewport().geometry()
        self.note.move(vp.left() + 8, vp.bottom() - self.note.height() - 8)

    def set_overlay(self, image: QImage | None, opacity: float) -> None:
        if image is None or self.full_size is None:
            self.overlay.setPixmap(QPixmap())
            self._overlay_source = None
            return
        if image.cacheKey() != self._overlay_source:   # an opacity change keeps the pixmap
            self.overlay.setPixmap(QPixmap.fromImage(image))
            self._overlay_source = image.cacheKey()
        self.overlay.setScale(self.full_size[0] / max(1, image.width()))
        self.overlay.setOpacity(opacity)

    # --- crop ---
    def show_crop(self, box: tuple[int, int, int, int], aspect: float | None) -> None:
        left, top, right, bottom = box
        self.crop.aspect = aspect
        self.crop.set_rect(QRectF(left, top, right - left, bottom - top))
        self.crop.show()
        if self.fit_mode:
            self.fit()

    def hide_crop(self) -> None:
        if self.crop.isVisible():
            self.crop.hide()
            if self.fit_mode:
                self.fit()

    def crop_visible(self) -> bool:
        return self.crop.isVisible()

    def crop_box(self) -> tuple[int, int, int, int]:
        r = self.crop.rect()
        return (round(r.left()), round(r.top()), round(r.right()), round(r.bottom()))

    # --- zoom ---
    def zoom(self) -> float:
        return self.transform().m11()

    def fit(self) -> None:
        self.fit_mode = True
        if self.full_size:
            self.fitInView(self.scene().sceneRect(), Qt.AspectRatioMode.KeepAspectRatio)
            if self.crop.isVisible():
                # room around the photo for the crop's handles on its edges
                vp = self.viewport().rect()
                m = HANDLE_PX + 2
                f = min((vp.width() - 2 * m) / max(1, vp.width()),
                        (vp.height() - 2 * m) / max(1, vp.height()))
                if f > 0:
                    self.scale(f, f)
        self.zoomChanged.emit(self.zoom())

    def zoom_100(self) -> None:
        self.fit_mode = False
        self.resetTransform()
        self.zoomChanged.emit(self.zoom())

    def zoom_by(self, factor: float, at: QPointF | None = None) -> None:
        """Zoom by `factor`, keeping the photo point under `at` (viewport pixels) where it
        is; the centre of the view by default."""
        z = self.zoom() * factor
        if not MIN_ZOOM <= z <= 16:
            return
        vp_center = QPointF(self.viewport().rect().center())
        at = vp_center if at is None else QPointF(at)
        anchor = self.mapToScene(at.toPoint())
        self.fit_mode = False
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.NoAnchor)
        self.scale(factor, factor)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        # put the anchor back under `at`: centre the view on the point that is as far from
        # the anchor as the view's centre is from `at`, in photo pixels at the new zoom
        offset = (vp_center - at) / self.zoom()
        self.centerOn(anchor + offset)
        self.zoomChanged.emit(self.zoom())

    def wheelEvent(self, event):
        steps = event.angleDelta().y() / 120
        if steps:
            self.zoom_by(1.25 ** steps, event.position())
        event.accept()

    def mouseDoubleClickEvent(self, event):
        at = self.mapToScene(event.position().toPoint())
        if self.crop.isVisible() and self.crop.rect().contains(at):
            return super().mouseDoubleClickEvent(event)
        if self.fit_mode:
            self.zoom_100()
            self.centerOn(at)
        else:
            self.fit()

    def resizeEvent(self, event):
        super().resizeEvent(event)
        self._place_note()
        if self.fit_mode:
            self.fit()
