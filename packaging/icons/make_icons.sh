#!/usr/bin/env bash
# Rasterise resources/icons/*.svg into the PNG / ICO / ICNS files the installers use.
# Needs: rsvg-convert (apt: librsvg2-bin), png2icns (apt: icnsutils) and Pillow (any venv; default
# /tmp/iconvenv, created on demand). The outputs are committed, so builds never need these tools.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
icons="$repo/resources/icons"
py="${ICON_PYTHON:-/tmp/iconvenv/bin/python}"

command -v rsvg-convert >/dev/null || { echo "need rsvg-convert (apt-get install librsvg2-bin)" >&2; exit 1; }
if [ ! -x "$py" ]; then
    python3 -m venv /tmp/iconvenv && /tmp/iconvenv/bin/pip install -q pillow
    py=/tmp/iconvenv/bin/python
fi

python3 "$here/gen_svg.py"
cd "$icons"
render() {  # render SIZE OUT: small sizes use the simplified drawing
    local size=$1 out=$2 src=playground.svg
    [ "$size" -le 32 ] && src=playground-small.svg
    rsvg-convert -w "$size" -h "$size" "$src" -o "$out"
}
for s in 16 24 32 48 64 128 256 512 1024; do render "$s" "playground-$s.png"; done
cp playground-512.png playground.png
for s in 16 32 48 64 128 256; do
    rsvg-convert -w "$s" -h "$s" application-x-playground.svg -o "application-x-playground-$s.png"
done
cp application-x-playground-256.png application-x-playground.png

# Windows .ico: every size Explorer asks for, each from its own rendering (not a downscale of 256)
"$py" - <<'PY'
from PIL import Image
sizes = [16, 24, 32, 48, 64, 128, 256]
imgs = [Image.open(f"playground-{s}.png").convert("RGBA") for s in sizes]
imgs[-1].save("playground.ico", sizes=[(s, s) for s in sizes], append_images=imgs[:-1])
doc = [16, 32, 48, 256]
d = [Image.open(f"application-x-playground-{s}.png").convert("RGBA") for s in doc]
d[-1].save("application-x-playground.ico", sizes=[(s, s) for s in doc], append_images=d[:-1])
PY

# macOS .icns: png2icns takes 16/32/48/128/256/512/1024 px PNGs
if command -v png2icns >/dev/null; then
    png2icns playground.icns playground-16.png playground-32.png playground-48.png \
        playground-128.png playground-256.png playground-512.png playground-1024.png >/dev/null
    png2icns application-x-playground.icns application-x-playground-16.png \
        application-x-playground-32.png application-x-playground-48.png \
        application-x-playground-256.png >/dev/null
else
    "$py" -c "from PIL import Image; Image.open('playground-1024.png').save('playground.icns')"
fi
rm -f playground-24.png playground-1024.png   # only needed as ICO/ICNS inputs
ls -la "$icons"
