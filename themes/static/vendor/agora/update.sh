#!/bin/sh
# Vendor the Agora Web SDK (npm package agora-rtc-sdk-ng) as a static file: no CDN at run time.
#
#   themes/static/vendor/agora/update.sh [version]      (default: the version recorded in VERSION)
#
# Packs the package from the npm registry into a temporary directory, copies its UMD build to
# AgoraRTC_N-<version>.js, writes LICENSE and VERSION (version, npm integrity, sha256), and removes
# the previous build. Then set AGORA_SDK in portal/video.py to the new file name.
set -eu

HERE=$(cd "$(dirname "$0")" && pwd)
VERSION=${1:-$(sed -n 's/^version: //p' "$HERE/VERSION" 2>/dev/null || true)}
if [ -z "$VERSION" ]; then
  echo "usage: $0 <version>" >&2
  exit 2
fi

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT INT TERM
cd "$TMP"

npm pack --json "agora-rtc-sdk-ng@$VERSION" > pack.json
tar -xzf "agora-rtc-sdk-ng-$VERSION.tgz"
PACKED=$(node -p "require('./package/package.json').version")
if [ "$PACKED" != "$VERSION" ]; then
  echo "npm returned version $PACKED, expected $VERSION" >&2
  exit 1
fi
INTEGRITY=$(node -p "require('./pack.json')[0].integrity")
LICENSE_ID=$(node -p "require('./package/package.json').license")
TARGET="AgoraRTC_N-$VERSION.js"

for old in "$HERE"/AgoraRTC_N-*.js; do
  [ -e "$old" ] && [ "$(basename "$old")" != "$TARGET" ] && rm -f "$old"
done
cp package/AgoraRTC_N-production.js "$HERE/$TARGET"
SHA256=$(sha256sum "$HERE/$TARGET" | cut -d' ' -f1)

if ls package/LICENSE* >/dev/null 2>&1; then
  cat package/LICENSE* > "$HERE/LICENSE"
elif [ "$LICENSE_ID" = "MIT" ]; then
  # The package declares "license": "MIT" but ships no licence text; record the MIT terms it declares.
  NOTICE=$(head -n 3 package/AgoraRTC_N-production.js | sed -n 's/^ \* //p')
  cat > "$HERE/LICENSE" <<LICENSE
agora-rtc-sdk-ng $VERSION (https://www.npmjs.com/package/agora-rtc-sdk-ng)
Notice in the bundle: $NOTICE
The npm package declares its licence as "MIT" in package.json and ships no licence file;
the MIT licence text follows.

MIT License

Copyright (c) Agora Inc.

Permission is hereby granted, free of charge, to any person obtaining a copy
of this software and associated documentation files (the "Software"), to deal
in the Software without restriction, including without limitation the rights
to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
copies of the Software, and to permit persons to whom the Software is
furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all
copies or substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE
SOFTWARE.
LICENSE
else
  echo "agora-rtc-sdk-ng $VERSION declares licence '$LICENSE_ID' and ships no licence file: check it by hand." >&2
  exit 1
fi

cat > "$HERE/VERSION" <<INFO
package: agora-rtc-sdk-ng
version: $VERSION
file: $TARGET (the package's AgoraRTC_N-production.js, UMD build exporting window.AgoraRTC)
npm-integrity: $INTEGRITY
sha256: $SHA256
INFO

echo "Vendored agora-rtc-sdk-ng $VERSION as $TARGET."
grep -q "$TARGET" "$HERE/../../../../portal/video.py" || echo "Now set AGORA_SDK in portal/video.py to vendor/agora/$TARGET."
