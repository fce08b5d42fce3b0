#!/usr/bin/env bash
# Wrap "dist/Neural Playground.app" (made by packaging/build.sh on macOS) into a compressed .dmg
# with an /Applications link, using only hdiutil (ships with macOS).
#
#   packaging/macos/make_dmg.sh            -> dist/NeuralPlayground-<version>-macos-<arch>.dmg
#
# Signing/notarisation (needed for Gatekeeper on other Macs) is not done here; with a Developer ID:
#   PLAYGROUND_CODESIGN_IDENTITY="Developer ID Application: ..." packaging/build.sh   (spec signs)
#   codesign --sign "$ID" --timestamp "dist/NeuralPlayground-<v>-macos-<arch>.dmg"
#   xcrun notarytool submit <dmg> --keychain-profile <profile> --wait && xcrun stapler staple <dmg>
# Unsigned builds open with right-click > Open the first time.
set -euo pipefail
repo="$(cd "$(dirname "$0")/../.." && pwd)"
app="$repo/dist/Neural Playground.app"
[ -d "$app" ] || { echo "error: $app not found; run packaging/build.sh on macOS first" >&2; exit 1; }
[ "$(uname -s)" = Darwin ] || { echo "error: hdiutil needs macOS" >&2; exit 1; }

version="$(sed -nE 's/^__version__[[:space:]]*=[[:space:]]*["'\'']([^"'\'']+)["'\''].*/\1/p' "$repo/playground/__init__.py" | head -1)"
arch="$(uname -m)"
dmg="$repo/dist/NeuralPlayground-$version-macos-$arch.dmg"
stage="$(mktemp -d)"
trap 'rm -rf "$stage"' EXIT

cp -R "$app" "$stage/"
ln -s /Applications "$stage/Applications"
rm -f "$dmg"
hdiutil create -volname "Neural Playground $version" -srcfolder "$stage" -fs HFS+ -format UDZO \
    -imagekey zlib-level=9 -ov "$dmg"
du -h "$dmg"
