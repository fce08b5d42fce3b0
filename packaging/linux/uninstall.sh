#!/usr/bin/env bash
# Remove a Neural Playground installed by install.sh.
#   uninstall.sh            remove the app, menu entry, icons, MIME type
#   uninstall.sh --purge    also remove the compiled-kernel cache (~/.cache/neural-playground)
# Sessions you saved (*.playground files) and settings are never touched.
set -euo pipefail

PREFIX="${PREFIX:-$HOME/.local}"
dest="$PREFIX/share/neural-playground"
here="$(cd "$(dirname "$0")" && pwd)"
# Run from inside an installation: that installation wins over $PREFIX.
if [ -f "$here/.install-manifest" ]; then
    dest="$here"
    PREFIX="$(cd "$dest/../.." && pwd)"
fi
manifest="$dest/.install-manifest"

if [ ! -d "$dest" ]; then
    echo "Neural Playground is not installed in $dest"
    exit 0
fi
echo "Removing Neural Playground from $dest"
if [ -f "$manifest" ]; then
    while IFS= read -r path; do
        case "$path" in "$PREFIX"/*) rm -f -- "$path" ;; esac   # never outside the prefix
    done < "$manifest"
fi
rm -rf -- "$dest"
mimeapps="${XDG_CONFIG_HOME:-$HOME/.config}/mimeapps.list"
[ -f "$mimeapps" ] && sed -i '/^application\/x-playground=neural-playground\.desktop;\?$/d' "$mimeapps" 2>/dev/null || true

mime="$PREFIX/share/mime"
command -v update-mime-database >/dev/null 2>&1 && update-mime-database "$mime" >/dev/null 2>&1 || true
command -v update-desktop-database >/dev/null 2>&1 && update-desktop-database -q "$PREFIX/share/applications" 2>/dev/null || true
icons="$PREFIX/share/icons/hicolor"
if command -v gtk-update-icon-cache >/dev/null 2>&1 && [ -f "$icons/index.theme" ]; then
    gtk-update-icon-cache -q -t -f "$icons" 2>/dev/null || true
fi

if [ "${1:-}" = "--purge" ]; then
    cache="${XDG_CACHE_HOME:-$HOME/.cache}/neural-playground"
    echo "Removing the kernel cache $cache"
    rm -rf -- "$cache"
fi
echo "Done."
