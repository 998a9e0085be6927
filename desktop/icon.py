"""The app icon: an indigo tile with a white needle whose thread loops through its eye. Drawn with
QPainter, so the PNGs in resources/ (resources/make_icons.py) and the runtime fallback are one
drawing. The SVG in resources/ uses the same geometry on a 512 grid."""

from __future__ import annotations

import sys
from pathlib import Path

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import (
    QBrush,
    QColor,
    QIcon,
    QImage,
    QLinearGradient,
    QPainter,
    QPainterPath,
    QPen,
    QPixmap,
)

ICON_SIZES = (16, 24, 32, 48, 64, 128, 256, 512)
TILE_TOP, TILE_BOTTOM = "#4c6ef5", "#364fc7"
THREAD = "#ffd43b"


def resources_dir() -> Path:
    """resources/ beside the package, or inside a PyInstaller bundle (sys._MEIPASS)."""
    bundle = getattr(sys, "_MEIPASS", None)
    base = Path(bundle) if bundle else Path(__file__).resolve().parents[1]
    return base / "resources"


def paint_icon(painter: QPainter, size: int) -> None:
    """Draw the icon into a size×size area; coordinates are designed on a 512 grid."""
    painter.save()
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.scale(size / 512, size / 512)
    gradient = QLinearGradient(0, 0, 0, 512)
    gradient.setColorAt(0, QColor(TILE_TOP))
    gradient.setColorAt(1, QColor(TILE_BOTTOM))
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(QBrush(gradient))
    painter.drawRoundedRect(QRectF(16, 16, 480, 480), 104, 104)

    # The thread: a loose curve from the lower left through the eye (at 365, 147 once the needle
    # is rotated), then a short tail over the top; the eye is a hole, so the thread shows in it.
    thread = QPainterPath(QPointF(92, 404))
    thread.cubicTo(QPointF(170, 240), QPointF(300, 310), QPointF(365, 147))
    thread.cubicTo(QPointF(392, 84), QPointF(440, 96), QPointF(436, 150))
    painter.setBrush(Qt.BrushStyle.NoBrush)
    painter.setPen(QPen(QColor(THREAD), 26, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap))
    painter.drawPath(thread)

    # The needle: a long slanted spindle from lower left to upper right, point at the bottom.
    painter.translate(256, 256)
    painter.rotate(45)
    needle = QPainterPath(QPointF(0, 200))
    needle.cubicTo(QPointF(18, 60), QPointF(30, -140), QPointF(30, -170))
    needle.arcTo(QRectF(-30, -215, 60, 90), 0, 180)
    needle.cubicTo(QPointF(-30, -140), QPointF(-18, 60), QPointF(0, 200))
    eye = QPainterPath()
    eye.addRoundedRect(QRectF(-10, -185, 20, 62), 10, 10)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(QColor("#ffffff"))
    painter.drawPath(needle.subtracted(eye))
    painter.restore()


def icon_image(size: int) -> QImage:
    image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    paint_icon(painter, size)
    painter.end()
    return image


def app_icon() -> QIcon:
    """The shipped PNGs when present, otherwise the same icon drawn now."""
    icon = QIcon()
    folder = resources_dir() / "icons"
    for size in ICON_SIZES:
        png = folder / f"needle-{size}.png"
        if png.exists():
            icon.addFile(str(png))
    if icon.isNull():
        for size in (16, 32, 64, 256):
            icon.addPixmap(_pixmap(size))
    return icon


def _pixmap(size: int) -> QPixmap:
    return QPixmap.fromImage(icon_image(size))
