#!/usr/bin/env bash
# Pack "dist/Kling Studio.app" (made by packaging/pyinstaller/kling-studio.spec) into a drag-to-Applications
# disk image: dist/KlingStudio-<version>-macos-<arch>.dmg
#
#   pyinstaller --noconfirm packaging/pyinstaller/kling-studio.spec
#   bash packaging/macos/build-dmg.sh
#
# Signing and notarizing happen only when their secrets are in the environment (CI passes them from
# repository secrets); without them the image is unsigned and macOS Gatekeeper asks the user to confirm
# the first start (docs/INSTALL.md explains how).
#   MACOS_SIGN_IDENTITY            "Developer ID Application: Name (TEAMID)"  → codesign the app and the image
#   MACOS_CERTIFICATE_P12_BASE64   the Developer ID certificate (.p12, base64)  ┐ imported into a throw-away
#   MACOS_CERTIFICATE_PASSWORD     its password                                 ┘ keychain when both are set
#   APPLE_ID, APPLE_TEAM_ID, APPLE_APP_PASSWORD  → notarize with `xcrun notarytool` and staple the ticket
set -euo pipefail
cd "$(dirname "$0")/../.."

die() { echo "build-dmg: $*" >&2; exit 1; }

app="dist/Kling Studio.app"
[ -d "$app" ] || die "$app not found: build it first with pyinstaller packaging/pyinstaller/kling-studio.spec"
version=$(sed -n 's/^version = "\(.*\)"$/\1/p' pyproject.toml | head -1)
arch=$(uname -m)
dmg="dist/KlingStudio-${version}-macos-${arch}.dmg"
entitlements="packaging/macos/entitlements.plist"

keychain=""
cleanup() { [ -n "$keychain" ] && security delete-keychain "$keychain" 2>/dev/null || true; }
trap cleanup EXIT

if [ -n "${MACOS_CERTIFICATE_P12_BASE64:-}" ] && [ -n "${MACOS_CERTIFICATE_PASSWORD:-}" ]; then
  echo "build-dmg: importing the signing certificate into a temporary keychain"
  keychain="$(mktemp -d)/signing.keychain-db"
  keychain_password=$(uuidgen)
  printf '%s' "$MACOS_CERTIFICATE_P12_BASE64" | base64 --decode > "$(dirname "$keychain")/cert.p12"
  security create-keychain -p "$keychain_password" "$keychain"
  security set-keychain-settings -lut 3600 "$keychain"
  security unlock-keychain -p "$keychain_password" "$keychain"
  security import "$(dirname "$keychain")/cert.p12" -k "$keychain" -P "$MACOS_CERTIFICATE_PASSWORD" -T /usr/bin/codesign
  security set-key-partition-list -S apple-tool:,apple: -s -k "$keychain_password" "$keychain" >/dev/null
  security list-keychains -d user -s "$keychain" $(security list-keychains -d user | tr -d '"')
fi

if [ -n "${MACOS_SIGN_IDENTITY:-}" ]; then
  echo "build-dmg: signing $app as $MACOS_SIGN_IDENTITY (hardened runtime)"
  # Inside out: every library and plugin first, then the app itself.
  find "$app/Contents" -type f \( -name '*.dylib' -o -name '*.so' \) -print0 \
    | xargs -0 codesign --force --timestamp --options runtime --sign "$MACOS_SIGN_IDENTITY"
  codesign --force --timestamp --options runtime --entitlements "$entitlements" \
    --sign "$MACOS_SIGN_IDENTITY" "$app"
  codesign --verify --deep --strict "$app"
else
  echo "build-dmg: MACOS_SIGN_IDENTITY not set: the image will be unsigned"
fi

stage=$(mktemp -d)
cp -R "$app" "$stage/"
ln -s /Applications "$stage/Applications"
rm -f "$dmg"
hdiutil create -volname "Kling Studio" -srcfolder "$stage" -fs HFS+ -format UDZO -ov "$dmg"
rm -rf "$stage"

if [ -n "${MACOS_SIGN_IDENTITY:-}" ]; then
  codesign --force --timestamp --sign "$MACOS_SIGN_IDENTITY" "$dmg"
fi

if [ -n "${APPLE_ID:-}" ] && [ -n "${APPLE_TEAM_ID:-}" ] && [ -n "${APPLE_APP_PASSWORD:-}" ]; then
  [ -n "${MACOS_SIGN_IDENTITY:-}" ] || die "notarizing needs a signed app: set MACOS_SIGN_IDENTITY too"
  echo "build-dmg: notarizing $dmg (waits for Apple's answer)"
  xcrun notarytool submit "$dmg" --apple-id "$APPLE_ID" --team-id "$APPLE_TEAM_ID" \
    --password "$APPLE_APP_PASSWORD" --wait
  xcrun stapler staple "$dmg"
else
  echo "build-dmg: APPLE_ID / APPLE_TEAM_ID / APPLE_APP_PASSWORD not set: not notarized"
fi

echo "build-dmg: wrote $dmg ($(du -h "$dmg" | cut -f1))"
