#!/usr/bin/env bash
# Build the Neural Playground desktop bundle (called by `make package`).
#
#   packaging/build.sh            build dist/NeuralPlayground/ (+ Linux tarball, + AppImage if possible)
#   packaging/build.sh --fresh    recreate the packaging venv first
#
# 1. a clean venv in build/pkg-venv (recreated when pyproject.toml or this script changes), with the
#    project installed NON-editably (`pip install .`) plus pyinstaller + pyinstaller-hooks-contrib;
#    a dev venv would drag optional heavyweights (torch, scipy) into the bundle;
# 2. PyInstaller with packaging/playground.spec -> dist/NeuralPlayground/ (onedir, two executables);
# 3. Linux: dist/NeuralPlayground-<version>-linux-x86_64.tar.gz with install.sh/uninstall.sh, and an
#    AppImage when `appimagetool` is on PATH (it cannot be installed from PyPI or Debian; see README).
#    Windows: run packaging/windows/neural-playground.iss with Inno Setup afterwards.
#    macOS: the spec also makes "dist/Neural Playground.app"; packaging/macos/make_dmg.sh wraps it.
#
# Environment: PYTHON (interpreter for the venv, default python3.11 or python3), PKG_VENV.
set -euo pipefail

start=$(date +%s)
repo="$(cd "$(dirname "$0")/.." && pwd)"
cd "$repo"
venv="${PKG_VENV:-$repo/build/pkg-venv}"
vbin="$venv/bin"; case "$(uname -s)" in MINGW*|MSYS*|CYGWIN*) vbin="$venv/Scripts" ;; esac
PYTHON="${PYTHON:-$(command -v python3.11 || command -v python3)}"

version="$(sed -nE 's/^__version__[[:space:]]*=[[:space:]]*["'\'']([^"'\'']+)["'\''].*/\1/p' playground/__init__.py | head -1)"
[ -n "$version" ] || { echo "error: no __version__ in playground/__init__.py" >&2; exit 1; }
echo "== Neural Playground $version: packaging with $("$PYTHON" --version 2>&1)"

# --- 1. clean packaging venv -------------------------------------------------------------------
stamp_want="$(cat pyproject.toml packaging/build.sh | sha256sum | cut -c1-16)-$("$PYTHON" -c 'import sys; print(sys.version.split()[0])')"
if [ "${1:-}" = "--fresh" ] || [ "$(cat "$venv/.pkg-stamp" 2>/dev/null)" != "$stamp_want" ]; then
    echo "== creating clean venv $venv"
    rm -rf "$venv"
    "$PYTHON" -m venv "$venv"
    "$vbin/python" -m pip install --quiet --upgrade pip
    "$vbin/python" -m pip install --quiet "pyinstaller>=6.10" "pyinstaller-hooks-contrib>=2024.8"
    echo "$stamp_want" > "$venv/.pkg-stamp.pending"
fi
echo "== installing the project (non-editable)"
# A fresh wheel every time: the tree changes between builds while the dependencies rarely do.
rm -rf "$repo/build/lib" "$repo/build/bdist."* "$repo/build/wheel"   # stale setuptools output
had_egg_info=$(ls -d "$repo"/*.egg-info 2>/dev/null || true)
"$vbin/python" -m pip wheel --quiet --no-deps --no-cache-dir -w "$repo/build/wheel" "$repo"
[ -n "$had_egg_info" ] || rm -rf "$repo"/*.egg-info   # leave the tree as we found it
wheel="$(ls "$repo"/build/wheel/neural_playground-*.whl | head -1)"
"$vbin/python" -m pip install --quiet --force-reinstall --no-deps "$wheel"
"$vbin/python" -m pip install --quiet "$wheel"   # dependencies (no-op when satisfied)
[ -f "$venv/.pkg-stamp.pending" ] && mv "$venv/.pkg-stamp.pending" "$venv/.pkg-stamp"

# Things that must never be bundled: fail loudly if something pulled them into the venv.
forbidden="$("$vbin/python" - <<'PY'
import importlib.util
bad = ["torch", "scipy", "sklearn", "matplotlib", "PyQt5", "PyQt6", "tensorflow", "pandas"]
print(" ".join(m for m in bad if importlib.util.find_spec(m) is not None))
PY
)"
if [ -n "$forbidden" ]; then
    echo "error: the packaging venv contains $forbidden (a dependency pulled it in); it would bloat the bundle" >&2
    exit 1
fi

# --- 2. PyInstaller --------------------------------------------------------------------------
echo "== PyInstaller"
pyi_start=$(date +%s)
# Run from build/ so that the source tree is not importable by accident: the installed copy is bundled.
mkdir -p "$repo/build"
(cd "$repo/build" && "$vbin/pyinstaller" --noconfirm --clean --log-level WARN \
    --workpath "$repo/build/pyinstaller" --distpath "$repo/dist" "$repo/packaging/playground.spec")
pyi_time=$(( $(date +%s) - pyi_start ))
app="$repo/dist/${PLAYGROUND_PYI_NAME:-NeuralPlayground}"
[ -x "$app/playground" ] || [ -x "$app/playground.exe" ] || { echo "error: no executable in $app" >&2; exit 1; }

# --- 3. per-OS artefacts -----------------------------------------------------------------------
case "$(uname -s)" in
Linux)
    arch="$(uname -m)"
    name="NeuralPlayground-$version-linux-$arch"
    stage="$repo/build/$name"
    echo "== assembling $name.tar.gz"
    rm -rf "$stage" && mkdir -p "$stage/icons"
    cp -al "$app" "$stage/NeuralPlayground" 2>/dev/null || cp -a "$app" "$stage/NeuralPlayground"
    cp packaging/linux/neural-playground.desktop packaging/linux/neural-playground-mime.xml "$stage/"
    cp packaging/linux/install.sh packaging/linux/uninstall.sh "$stage/"
    cp resources/icons/playground-*.png resources/icons/playground.svg \
       resources/icons/application-x-playground-*.png resources/icons/application-x-playground.svg "$stage/icons/"
    cp packaging/linux/README.txt "$stage/README.txt"
    chmod +x "$stage/install.sh" "$stage/uninstall.sh"
    tar -C "$repo/build" -czf "$repo/dist/$name.tar.gz" "$name"

    appdir="$repo/build/NeuralPlayground.AppDir"
    bash packaging/linux/make_appdir.sh "$app" "$appdir" >/dev/null
    if command -v appimagetool >/dev/null 2>&1; then
        echo "== AppImage"
        ARCH="$arch" appimagetool --no-appstream "$appdir" "$repo/dist/NeuralPlayground-$version-$arch.AppImage"
    else
        echo "== AppImage skipped: appimagetool not on PATH (AppDir ready in ${appdir#"$repo"/}; see packaging/README.md)"
    fi
    ;;
Darwin)
    echo "== macOS: dist/Neural Playground.app built; run packaging/macos/make_dmg.sh for the .dmg"
    ;;
MINGW*|MSYS*|CYGWIN*)
    echo "== Windows: now compile packaging/windows/neural-playground.iss with Inno Setup (iscc)"
    ;;
esac

# --- report ------------------------------------------------------------------------------------
echo
echo "== built in $(( $(date +%s) - start )) s (PyInstaller $pyi_time s)"
du -sh "$app" | sed 's/^/   app folder: /'
for f in "$repo"/dist/*.tar.gz "$repo"/dist/*.AppImage "$repo"/dist/*.dmg "$repo"/dist/*.exe; do
    [ -f "$f" ] && du -h "$f" | sed 's/^/   /'
done
exit 0
