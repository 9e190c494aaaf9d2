"""The questions the app asks with a dialog (which folder, which model file, which W:H). They
hand the answer to the session or a controller; nothing else lives here."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtWidgets import QFileDialog, QInputDialog, QWidget

if TYPE_CHECKING:
    from .controllers import CropController, CullingController, ReportController
    from .session import Session


class Dialogs:
    def __init__(self, parent: QWidget, session: Session, culling: CullingController,
                 crop: CropController, report: ReportController | None = None):
        self.parent, self.session, self.culling, self.crop = parent, session, culling, crop
        self.report = report

    def choose_folder(self) -> None:
        start = str(self.session.folder or Path.home())
        folder = QFileDialog.getExistingDirectory(self.parent, "Open a shoot", start)
        if folder:
            self.session.open_folder(folder)

    def open_samples(self) -> None:
        from ..paths import editable_samples_dir
        try:
            self.session.open_folder(editable_samples_dir())
        except OSError as exc:
            self.session.log("error", str(exc))

    def choose_export_dir(self) -> None:
        start = str(self.session.export_dir() or Path.home())
        d = QFileDialog.getExistingDirectory(self.parent, "Export folder", start)
        if d:
            self.session.settings.export_dir = d
            self.session.persist()
            self.session.log("info", f"exports go to {d}")

    def choose_transfer(self, move: bool) -> None:
        d = QFileDialog.getExistingDirectory(self.parent, ("Move" if move else "Copy") + " picks to",
                                             str(self.session.folder or Path.home()))
        if d:
            self.culling.transfer_picks(d, move)

    def choose_report(self) -> None:
        """Where to write the shoot's HTML report (one self-contained file)."""
        if self.report is None:
            return
        folder = self.session.folder
        start = str((folder / f"{folder.name}-report.html") if folder else Path.home() / "report.html")
        f, _ = QFileDialog.getSaveFileName(self.parent, "Export report", start, "HTML report (*.html)")
        if f:
            self.report.export_report(f if f.lower().endswith((".html", ".htm")) else f + ".html")

    def choose_model_file(self) -> None:
        f, _ = QFileDialog.getOpenFileName(self.parent, "Model file (with its .json card beside it)",
                                           "", "aesview models (*.pt *.json)")
        if f:
            self.session.set_model(f)

    def ask_custom_aspect(self) -> None:
        text, ok = QInputDialog.getText(self.parent, "Custom aspect",
                                        "Width:height (for example 7:5 or 2.39:1)")
        if ok and text.strip() and not self.crop.set_aspect(text.strip()):
            self.session.log("warning", f"“{text.strip()}” is not a W:H aspect")

    def set_embed_xmp(self, on: bool) -> None:
        """Writing into photo files is opt-in, and only after a clear warning."""
        from PySide6.QtWidgets import QMessageBox

        from ..core.embedded_xmp import WARNING
        if on and QMessageBox.warning(
                self.parent, "Write XMP into photo files?",
                WARNING + "\n\nWrite decisions into JPEG, TIFF and DNG files from now on?",
                QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
                QMessageBox.StandardButton.Cancel) != QMessageBox.StandardButton.Yes:
            on = False
        self.session.settings.embed_xmp = on
        self.session.persist()
        self.session.log("info", "decisions are also written into JPEG/TIFF/DNG files" if on
                         else "decisions go to sidecars only")
        act = getattr(self.parent, "actions_by_name", {}).get("embed_xmp")
        if act is not None:
            act.setChecked(on)      # a cancelled warning unticks the menu entry again

    def confirm_trash_rejects(self) -> None:
        """Rejects go to the system trash only after a yes (they can be put back from there)."""
        from PySide6.QtWidgets import QMessageBox
        n = len(self.culling.rejects())
        if not n:
            self.session.log("info", "no rejected photos")
            return
        if QMessageBox.question(
                self.parent, "Move rejects to the trash?",
                f"Move {n} rejected photo{'s' if n != 1 else ''} and {'their' if n != 1 else 'its'} "
                "XMP sidecars to the system trash? They can be restored from there; nothing is "
                "deleted.",
                QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
                QMessageBox.StandardButton.Cancel) == QMessageBox.StandardButton.Yes:
            self.culling.trash_rejects()

    def preferences(self) -> None:
        from .preferences import PreferencesDialog
        PreferencesDialog(self.session, self.parent).exec()

    def quit(self) -> None:
        self.parent.close()
