#!/usr/bin/env bash
# Install Neural Playground for the current user (no root needed).
#
#   ./install.sh                 install into ~/.local (app in ~/.local/share/neural-playground)
#   PREFIX=/opt/np ./install.sh  install elsewhere (e.g. sudo PREFIX=/usr/local ./install.sh)
#
# What it does: copies the app folder, links <prefix>/bin/playground, adds a desktop entry, icons
# (hicolor theme) and the application/x-playground MIME type for *.playground files. The desktop
# database, MIME database and icon cache are refreshed when their tools are installed; without
# them the app still runs from the terminal and the menu entry appears after the next login.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
PREFIX="${PREFIX:-$HOME/.local}"
app_src="$here/NeuralPlayground"
dest="$PREFIX/share/neural-playground"
bin="$PREFIX/bin"
apps="$PREFIX/share/applications"
icons="$PREFIX/share/icons/hicolor"
mime="$PREFIX/share/mime"
manifest="$dest/.install-manifest"

[ -x "$app_src/playground" ] || { echo "error: $app_src/playground not found (run from the unpacked tarball)" >&2; exit 1; }

echo "Installing Neural Playground into $dest"
if [ -e "$dest" ]; then
    echo "  replacing the existing installation"
    rm -rf "$dest"
fi
mkdir -p "$dest" "$bin" "$apps" "$mime/packages"
cp -a "$app_src/." "$dest/"
cp "$here/uninstall.sh" "$dest/uninstall.sh"
chmod +x "$dest/uninstall.sh"
installed=()

ln -sfn "$dest/playground" "$bin/playground"
ln -sfn "$dest/playground-cli" "$bin/playground-cli"
installed+=("$bin/playground" "$bin/playground-cli")

sed "s|@EXEC@|$dest/playground|g" "$here/neural-playground.desktop" > "$apps/neural-playground.desktop"
chmod 644 "$apps/neural-playground.desktop"
installed+=("$apps/neural-playground.desktop")

for png in "$here"/icons/playground-*.png; do
    size="$(basename "$png" .png)"; size="${size#playground-}"
    mkdir -p "$icons/${size}x${size}/apps"
    cp "$png" "$icons/${size}x${size}/apps/neural-playground.png"
    installed+=("$icons/${size}x${size}/apps/neural-playground.png")
done
for png in "$here"/icons/application-x-playground-*.png; do
    size="$(basename "$png" .png)"; size="${size#application-x-playground-}"
    mkdir -p "$icons/${size}x${size}/mimetypes"
    cp "$png" "$icons/${size}x${size}/mimetypes/application-x-playground.png"
    installed+=("$icons/${size}x${size}/mimetypes/application-x-playground.png")
done
mkdir -p "$icons/scalable/apps" "$icons/scalable/mimetypes"
cp "$here/icons/playground.svg" "$icons/scalable/apps/neural-playground.svg"
cp "$here/icons/application-x-playground.svg" "$icons/scalable/mimetypes/application-x-playground.svg"
installed+=("$icons/scalable/apps/neural-playground.svg" "$icons/scalable/mimetypes/application-x-playground.svg")

cp "$here/neural-playground-mime.xml" "$mime/packages/neural-playground.xml"
installed+=("$mime/packages/neural-playground.xml")
printf '%s\n' "${installed[@]}" > "$manifest"

# Refresh the desktop's databases when the tools are there; never fail the install over them.
if command -v update-mime-database >/dev/null 2>&1; then
    update-mime-database "$mime" >/dev/null 2>&1 || echo "  note: update-mime-database failed (harmless)"
else
    echo "  note: update-mime-database not found (apt install shared-mime-info); *.playground files"
    echo "        will not be recognised by the file manager until it runs"
fi
if command -v update-desktop-database >/dev/null 2>&1; then
    update-desktop-database -q "$apps" 2>/dev/null || true
fi
if command -v gtk-update-icon-cache >/dev/null 2>&1 && [ -f "$icons/index.theme" ]; then
    gtk-update-icon-cache -q -t -f "$icons" 2>/dev/null || true
fi
if command -v xdg-mime >/dev/null 2>&1; then
    xdg-mime default neural-playground.desktop application/x-playground 2>/dev/null || true
fi

# Qt's xcb platform plugin needs a few system libraries a minimal desktop may lack.
missing=()
if command -v ldconfig >/dev/null 2>&1; then
    for lib in libxcb-cursor.so.0 libxkbcommon-x11.so.0 libxcb-icccm.so.4 libxcb-keysyms.so.1 \
               libxcb-image.so.0 libxcb-render-util.so.0 libxcb-shape.so.0 libEGL.so.1 libGL.so.1 \
               libfontconfig.so.1 libdbus-1.so.3; do
        ldconfig -p 2>/dev/null | grep -q "$lib" || missing+=("$lib")
    done
fi
if [ "${#missing[@]}" -gt 0 ]; then
    echo
    echo "  warning: missing system libraries: ${missing[*]}"
    echo "  Debian/Ubuntu: sudo apt install libxcb-cursor0 libxkbcommon-x11-0 libxcb-icccm4 libxcb-keysyms1 \\"
    echo "                 libxcb-image0 libxcb-render-util0 libxcb-shape0 libegl1 libgl1 libfontconfig1 libdbus-1-3"
    echo "  Fedora:        sudo dnf install xcb-util-cursor libxkbcommon-x11 xcb-util-wm xcb-util-keysyms \\"
    echo "                 xcb-util-image xcb-util-renderutil mesa-libEGL mesa-libGL"
fi

# Compile the training kernels now, in the background, so the first start is not a cold one
# (numba caches are CPU-specific, so they cannot ship in the tarball). Only if the CLI offers it.
if "$dest/playground-cli" --help 2>/dev/null | grep -q "[{,]warmup[,}]"; then
    echo "  compiling the training engine in the background (a few seconds)"
    nohup "$dest/playground-cli" warmup >/dev/null 2>&1 &
fi

echo
echo "Done. Start it from the applications menu (Neural Playground) or run: $bin/playground"
case ":$PATH:" in *":$bin:"*) ;; *) echo "($bin is not on your PATH; add it to use 'playground' in a terminal)";; esac
echo "Uninstall: $dest/uninstall.sh"
