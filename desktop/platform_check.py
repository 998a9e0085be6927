"""Before Qt opens a window on X11: are the system libraries its X11 plugin needs here?

When one is missing, Qt stops the process with a message that names the plugin, not the library
("could not load the Qt platform plugin xcb … even though it was found"), and people reinstall
Qt instead of installing one small package. Run first, this names the missing libraries and the
Debian/Ubuntu packages that provide them (README.md lists them for a source install)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

# What Qt's xcb plugin loads from the system, and the Debian/Ubuntu package of each.
DEBIAN_PACKAGES: Mapping[str, str] = {
    "libxcb-icccm.so.4": "libxcb-icccm4",
    "libxcb-keysyms.so.1": "libxcb-keysyms1",
    "libxcb-cursor.so.0": "libxcb-cursor0",
    "libxcb-image.so.0": "libxcb-image0",
    "libxcb-render-util.so.0": "libxcb-render-util0",
    "libxcb-xkb.so.1": "libxcb-xkb1",
    "libxcb-shape.so.0": "libxcb-shape0",
    "libxcb-randr.so.0": "libxcb-randr0",
    "libxcb-sync.so.1": "libxcb-sync1",
    "libxcb-xfixes.so.0": "libxcb-xfixes0",
    "libxcb-shm.so.0": "libxcb-shm0",
    "libxcb-render.so.0": "libxcb-render0",
    "libxcb-util.so.1": "libxcb-util1",
    "libxcb-glx.so.0": "libxcb-glx0",
    "libxcb-xinput.so.0": "libxcb-xinput0",
    "libxcb.so.1": "libxcb1",
    "libX11-xcb.so.1": "libx11-xcb1",
    "libX11.so.6": "libx11-6",
    "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
    "libxkbcommon.so.0": "libxkbcommon0",
    "libEGL.so.1": "libegl1",
    "libGL.so.1": "libgl1",
    "libOpenGL.so.0": "libopengl0",
    "libfontconfig.so.1": "libfontconfig1",
    "libfreetype.so.6": "libfreetype6",
    "libdbus-1.so.3": "libdbus-1-3",
    "libglib-2.0.so.0": "libglib2.0-0",
}


def uses_xcb(environ: Mapping[str, str]) -> bool:
    """Will Qt pick its X11 plugin? Only with an X display and no other platform chosen."""
    platform = environ.get("QT_QPA_PLATFORM", "")
    if platform:
        return platform.split(":")[0] == "xcb"
    return bool(environ.get("DISPLAY")) and not environ.get("WAYLAND_DISPLAY")


def xcb_plugin(plugins_dir: Path) -> Path:
    return plugins_dir / "platforms" / "libqxcb.so"


def missing_from_ldd(output: str) -> list[str]:
    """The libraries `ldd` reports as "not found", each once, in order."""
    missing: list[str] = []
    for line in output.splitlines():
        name, arrow, rest = line.strip().partition("=>")
        if arrow and rest.strip().startswith("not found"):
            library = name.strip()
            if library not in missing:
                missing.append(library)
    return missing


def missing_libraries(plugin: Path) -> list[str]:
    """What `plugin` needs that the system does not have (empty when unknown: no ldd)."""
    ldd = shutil.which("ldd")
    if ldd is None or not plugin.exists():
        return []
    try:
        result = subprocess.run(
            [ldd, str(plugin)], capture_output=True, text=True, timeout=10, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return []
    return missing_from_ldd(result.stdout)


def explain(missing: list[str]) -> str:
    packages = [DEBIAN_PACKAGES[name] for name in missing if name in DEBIAN_PACKAGES]
    lines = [
        "Needle cannot open its window: Qt's X11 support needs system libraries that are not "
        "installed here:",
        *(f"  {name}" for name in missing),
    ]
    if packages:
        lines.append(
            f"On Debian or Ubuntu install them with: sudo apt install {' '.join(packages)}"
        )
    lines.append(
        "Other systems name the packages differently (look for xcb-util-wm and "
        "xcb-util-keysyms). The 'needle' command works without them."
    )
    return "\n".join(lines)


def check_display_libraries(plugins_dir: Path, environ: Mapping[str, str] | None = None) -> str:
    """The explanation to show before exiting, or "" when the window can open (or this is not
    Linux on X11, where the check does not apply)."""
    environment = os.environ if environ is None else environ
    if not sys.platform.startswith("linux") or not uses_xcb(environment):
        return ""
    missing = missing_libraries(xcb_plugin(plugins_dir))
    return explain(missing) if missing else ""
