#!/bin/sh
# Remove what install.sh put in place. Your library (index, settings) stays unless --purge is given.
set -eu
data_home=${XDG_DATA_HOME:-$HOME/.local/share}
bin_home=${NEEDLE_BIN_DIR:-$HOME/.local/bin}

rm -rf "$data_home/needle-app"
for exe in needle needle-desktop; do
    # Only remove links that point into our app folder; never someone else's command.
    if [ -L "$bin_home/$exe" ] && readlink "$bin_home/$exe" | grep -q "/needle-app/"; then
        rm -f "$bin_home/$exe"
    fi
done
app_id=io.github.needle.Needle
rm -f "$data_home/applications/$app_id.desktop" "$data_home/metainfo/$app_id.metainfo.xml"
rm -f "$data_home"/icons/hicolor/*/apps/"$app_id".png "$data_home"/icons/hicolor/*/apps/"$app_id".svg
# What versions before the app id installed.
rm -f "$data_home/applications/needle.desktop" "$data_home"/icons/hicolor/*/apps/needle.png
command -v update-desktop-database >/dev/null 2>&1 && update-desktop-database -q "$data_home/applications" || true
[ -d "$data_home/icons/hicolor" ] && command -v gtk-update-icon-cache >/dev/null 2>&1 &&
    gtk-update-icon-cache -q -t "$data_home/icons/hicolor" || true

if [ "${1:-}" = "--purge" ]; then
    rm -rf "$data_home/Needle" "${XDG_CONFIG_HOME:-$HOME/.config}/Needle" \
           "${XDG_CACHE_HOME:-$HOME/.cache}/Needle" "${XDG_STATE_HOME:-$HOME/.local/state}/Needle"
    echo "Needle and its library were removed."
else
    echo "Needle was removed. Your index and settings were kept (run with --purge to delete them)."
fi
