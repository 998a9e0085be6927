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

for icon in "$here"/icons/needle-*.png; do
    [ -e "$icon" ] || continue
    size=$(basename "$icon" .png | sed 's/needle-//')
    mkdir -p "$data_home/icons/hicolor/${size}x${size}/apps"
    cp "$icon" "$data_home/icons/hicolor/${size}x${size}/apps/needle.png"
done
sed -e "s#@EXEC@#$app_dir/needle-desktop#" -e "s#@ICON@#needle#" \
    "$here/needle.desktop.in" > "$data_home/applications/needle.desktop"

command -v update-desktop-database >/dev/null 2>&1 && update-desktop-database -q "$data_home/applications" || true
command -v gtk-update-icon-cache >/dev/null 2>&1 && gtk-update-icon-cache -q -t "$data_home/icons/hicolor" || true

echo "Needle $(cat "$here/VERSION") installed in $app_dir"
case ":$PATH:" in
    *":$bin_home:"*) ;;
    *) echo "Add $bin_home to your PATH to use the 'needle' command." ;;
esac
echo "Start it from your applications menu, or run: needle-desktop"
