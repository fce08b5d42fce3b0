#!/usr/bin/env bash
# Lay out an AppImage AppDir around the PyInstaller folder:  make_appdir.sh <app folder> <AppDir>
# Turning it into an .AppImage needs appimagetool (or any type-2 runtime + mksquashfs), which is not
# packaged on PyPI or Debian; build.sh runs it when it is on PATH.
set -euo pipefail
src="$1"
appdir="$2"
here="$(cd "$(dirname "$0")" && pwd)"
icons="$here/../../resources/icons"

rm -rf "$appdir"
mkdir -p "$appdir/usr/lib" "$appdir/usr/share/applications" "$appdir/usr/share/mime/packages" \
         "$appdir/usr/share/icons/hicolor/256x256/apps"
cp -al "$src" "$appdir/usr/lib/neural-playground" 2>/dev/null || cp -a "$src" "$appdir/usr/lib/neural-playground"
cat > "$appdir/AppRun" <<'EOF'
#!/bin/sh
# AppImage entry: `NeuralPlayground.AppImage` opens the app; `... train spec.json` runs the CLI.
here="$(dirname "$(readlink -f "$0")")"
exec "$here/usr/lib/neural-playground/playground" "$@"
EOF
chmod +x "$appdir/AppRun"
sed 's|@EXEC@|playground|g; /^TryExec=/d' "$here/neural-playground.desktop" > "$appdir/neural-playground.desktop"
cp "$appdir/neural-playground.desktop" "$appdir/usr/share/applications/"
cp "$icons/playground-256.png" "$appdir/neural-playground.png"
cp "$icons/playground-256.png" "$appdir/usr/share/icons/hicolor/256x256/apps/neural-playground.png"
ln -sfn neural-playground.png "$appdir/.DirIcon"
cp "$here/neural-playground-mime.xml" "$appdir/usr/share/mime/packages/neural-playground.xml"
echo "$appdir"
