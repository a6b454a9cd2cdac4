#!/usr/bin/env bash
# Vendors the TMF646 API reference viewer into apidocs/vendor/ from the npm registry, so that
# the hub serves Redoc from its own binary with no CDN and no internet.
#
# Redoc 2.5.4 is the newest 2.x release: its standalone bundle (bundles/redoc.standalone.js)
# is one classic script that bundles React, styled-components, mobx, marked, DOMPurify and lunr
# and defines the global Redoc (Redoc.init). Redoc 3 (3.0.0, October 2026) is a different
# product: an ES module twice the size, with new peer dependencies, that sends usage telemetry
# unless told not to.
#
# The files are copied byte for byte from the registry tarball (npm checks its integrity);
# VERSIONS records the version, licence, tarball integrity and the sha256 of each file.
# Needs node and npm. Run from anywhere: bash scripts/vendor-redoc.sh
set -euo pipefail

REDOC_VERSION=2.5.4

cd "$(dirname "$0")/.."
dest=apidocs/vendor
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

source scripts/npm-pack.sh

redoc_integrity=$(pack redoc "$REDOC_VERSION")

rm -rf "$dest"
mkdir -p "$dest"
cp "$tmp/redoc/package/bundles/redoc.standalone.js" "$dest/"
# The notices of the packages the bundle holds (React, DOMPurify, marked…); the bundle's first
# line points to this file by name.
cp "$tmp/redoc/package/bundles/redoc.standalone.js.LICENSE.txt" "$dest/"
cp "$tmp/redoc/package/LICENSE" "$dest/LICENSE.redoc"


{
	echo "# Written by scripts/vendor-redoc.sh; do not edit. Files are byte-identical to the npm tarball."
	echo "redoc $REDOC_VERSION $(licence redoc) $redoc_integrity"
	echo
	echo "# sha256 of the vendored files"
	(cd "$dest" && sha256sum redoc.standalone.js redoc.standalone.js.LICENSE.txt LICENSE.redoc)
} >"$dest/VERSIONS"

du -ch "$dest"/* | tail -1
cat "$dest/VERSIONS"
