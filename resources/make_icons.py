"""Regenerate the app icons: PNGs at every size (drawn by desktop/icon.py with QPainter) and the
SVG with the same geometry. Run from the repository root:

    QT_QPA_PLATFORM=offscreen .venv/bin/python resources/make_icons.py [OUT_DIR]

OUT_DIR defaults to resources/ itself (PNGs go to OUT_DIR/icons).
"""

from __future__ import annotations

import sys
from pathlib import Path

from PySide6.QtGui import QGuiApplication

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from desktop.icon import ICON_SIZES, THREAD, TILE_BOTTOM, TILE_TOP, icon_image  # noqa: E402

# The needle's outline as in desktop/icon.py: drawn around (0, 0), rotated 45° about the centre.
SVG = f"""<svg xmlns="http://www.w3.org/2000/svg" width="512" height="512" viewBox="0 0 512 512">
  <defs>
    <linearGradient id="tile" x1="0" y1="0" x2="0" y2="1">
      <stop offset="0" stop-color="{TILE_TOP}"/>
      <stop offset="1" stop-color="{TILE_BOTTOM}"/>
    </linearGradient>
    <mask id="eye">
      <rect x="-60" y="-230" width="120" height="440" fill="white"/>
      <rect x="-10" y="-185" width="20" height="62" rx="10" fill="black"/>
    </mask>
  </defs>
  <rect x="16" y="16" width="480" height="480" rx="104" fill="url(#tile)"/>
  <path d="M92 404 C170 240 300 310 365 147 C392 84 440 96 436 150" fill="none"
        stroke="{THREAD}" stroke-width="26"
        stroke-linecap="round"/>
  <g transform="translate(256 256) rotate(45)">
    <path d="M0 200 C18 60 30 -140 30 -170 A30 45 0 0 0 -30 -170 C-30 -140 -18 60 0 200 Z"
          fill="#ffffff" mask="url(#eye)"/>
  </g>
</svg>
"""


def main(argv: list[str]) -> int:
    app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])
    out = Path(argv[0]) if argv else HERE
    folder = out / "icons"
    folder.mkdir(parents=True, exist_ok=True)
    for size in ICON_SIZES:
        target = folder / f"needle-{size}.png"
        if not icon_image(size).save(str(target)):
            print(f"could not write {target}", file=sys.stderr)
            return 1
    (out / "needle.svg").write_text(SVG, encoding="utf-8")
    print(f"wrote {len(ICON_SIZES)} PNGs to {folder} and needle.svg")
    del app
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
