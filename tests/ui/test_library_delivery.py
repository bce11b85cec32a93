"""Delivery from the library: an accepted take goes to a folder with its sidecar; the brief becomes Markdown."""

from __future__ import annotations

from library_takes import quick_take, spec
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog

from kling_studio.services.job_store import JobStore
from kling_studio.services.takes import Review, Verdict, save_review
from kling_studio.ui.library.delivery import DeliveryController
from kling_studio.ui.library.library_model import LibraryModel
from kling_studio.ui.library.library_panel import LibraryPanel


def test_export_asks_for_a_folder_and_copies_the_take_with_its_sidecar(qtbot, tmp_path):
    with JobStore(tmp_path / "jobs.sqlite3") as store:
        video = quick_take(store, tmp_path / "outputs", spec())
        save_review(video, Review(Verdict.ACCEPTED))
        model = LibraryModel(tmp_path / "outputs", store.ledger)
        panel = LibraryPanel(model)
        qtbot.addWidget(panel)
        panel.show()
        with qtbot.waitSignal(model.reloaded, timeout=10_000):
            model.reload()
        delivery = DeliveryController(panel)
        panel.select_take(video)

        qtbot.mouseClick(panel.export_button, Qt.MouseButton.LeftButton)
        dialog = panel.findChild(QFileDialog)
        assert dialog is not None and dialog.isVisible()
        with qtbot.waitSignal(delivery.delivered, timeout=10_000) as done:
            dialog.fileSelected.emit(str(tmp_path / "delivery"))
        assert [p.name for p in done.args[0]] == [video.name, video.with_suffix(".json").name]
        assert (tmp_path / "delivery" / video.name).read_bytes() == video.read_bytes()

        with qtbot.waitSignal(delivery.delivered, timeout=10_000) as done:
            delivery.markdown_to(panel.current_take(), tmp_path / "brief.md")
        assert (tmp_path / "brief.md").read_text(encoding="utf-8").startswith("# Espresso spot")
        dialog.close()
        model.close()
