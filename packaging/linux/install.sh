#!/bin/sh
# Install Needle for the current user: the bundle under ~/.local/share/needle-app, commands in
# ~/.local/bin, a menu entry and icons. Needs no root and no Python. Run from the unpacked archive.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
data_home=${XDG_DATA_HOME:-$HOME/.local/share}
bin_home=${NEEDLE_BIN_DIR:-$HOME/.local/bin}
app_dir="$data_home/needle-app"

[ -x "$here/needle/needle" ] || { echo "install.sh: run it from the unpacked Needle archive" >&2; exit 1; }

rm -rf "$app_dir.new"
mkdir -p "$app_dir.new" "$bin_home" "$data_home/applications"
cp -R "$here/needle/." "$app_dir.new/"
# Swap in the new copy only once it is complete, so a failed copy never breaks an installed app.
rm -rf "$app_dir"
mv "$app_dir.new" "$app_dir"

ln -sf "$app_dir/needle" "$bin_home/needle"
ln -sf "$app_dir/needle-desktop" "$bin_home/needle-desktop"

app_id=io.github.needle.Needle
# Icons (every size and SVG) and the AppStream metadata, named by the app id.
mkdir -p "$data_home/icons" "$data_home/metainfo"
cp -R "$here/share/icons/." "$data_home/icons/"
cp "$here/share/metainfo/$app_id.metainfo.xml" "$data_home/metainfo/"
# What versions before the app id installed.
rm -f "$data_home/applications/needle.desktop" "$data_home"/icons/hicolor/*/apps/needle.png
# Exec holds the path in double quotes, so a folder with spaces works. Desktop-entry rules: inside
# the quotes \ " ` $ take a backslash, and the value's own escaping doubles every backslash.
exec_path=$(printf '%s' "$app_dir/needle-desktop" | sed -e 's/\\/\\\\\\\\/g' -e 's/["`$]/\\\\&/g')
# awk with the value from the environment: no sed replacement syntax for the path to break.
NEEDLE_EXEC="\"$exec_path\"" awk '
    BEGIN { value = ENVIRON["NEEDLE_EXEC"] }
    {
        out = ""; rest = $0
        while ((at = index(rest, "@EXEC@")) > 0) {
            out = out substr(rest, 1, at - 1) value; rest = substr(rest, at + 6)
        }
        print out rest
    }' "$here/$app_id.desktop.in" > "$data_home/applications/$app_id.desktop"

command -v update-desktop-database >/dev/null 2>&1 && update-desktop-database -q "$data_home/applications" || true
command -v gtk-update-icon-cache >/dev/null 2>&1 && gtk-update-icon-cache -q -t "$data_home/icons/hicolor" || true

echo "Needle $(cat "$here/VERSION") installed in $app_dir"

# Qt's window plugins load a few X11/Wayland libraries from the system. Name the ones this machine
# lacks, so a window that does not open is explained now instead of by a terse Qt error later.
missing_libraries() {
    command -v ldd >/dev/null 2>&1 || return 0
    for plugin in "$app_dir"/_internal/PySide6/Qt/plugins/platforms/libqxcb.so \
                  "$app_dir"/_internal/PySide6/Qt/plugins/platforms/libqwayland.so; do
        [ -e "$plugin" ] || continue
        LD_LIBRARY_PATH="$app_dir/_internal:$app_dir/_internal/PySide6/Qt/lib" ldd "$plugin" 2>/dev/null
    done | sed -n 's/^[[:space:]]*\([^ ]*\) => not found.*/\1/p' | sort -u | tr '\n' ' '
}
missing=$(missing_libraries)
if [ -n "$missing" ]; then
    echo "Note: Needle's window plugins (X11, Wayland) need system libraries not found here: $missing"
    echo "  On Debian/Ubuntu: sudo apt install libxcb-icccm4 libxcb-keysyms1 libwayland-cursor0 libwayland-egl1 libegl1"
    echo "  (the 'needle' command works without them)"
fi
case ":$PATH:" in
    *":$bin_home:"*) ;;
    *) echo "Add $bin_home to your PATH to use the 'needle' command." ;;
esac
echo "Start it from your applications menu, or run: needle-desktop"
