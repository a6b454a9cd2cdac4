#!/usr/bin/env bash
# Vendors the GraphQL explorer's browser assets into resolvers/explorer/vendor/ from the npm
# registry, so that the hub serves GraphiQL from its own binary with no CDN and no internet.
#
# GraphiQL 4.1.2 is the newest release that still ships a UMD build (graphiql.min.js, which
# bundles graphql-js and expects React and ReactDOM as globals); GraphiQL 5 is ESM-only with
# Monaco workers and would need a bundler. React 18.3.1 is the newest React with UMD builds
# (React 19 dropped them) and is within GraphiQL 4's peer range (^18 || ^19). GraphiQL's UMD
# build does not bundle a websocket client: graphql-ws 5.16.2, the newest release with a UMD
# build (global graphqlWs), gives its fetcher the client for subscriptions.
#
# The files are copied byte for byte from the registry tarballs (npm checks their integrity);
# VERSIONS records the versions, licences, tarball integrity and the sha256 of each file.
# Needs node and npm. Run from anywhere: bash scripts/vendor-graphiql.sh
set -euo pipefail

GRAPHIQL_VERSION=4.1.2
REACT_VERSION=18.3.1
GRAPHQL_WS_VERSION=5.16.2

cd "$(dirname "$0")/.."
dest=resolvers/explorer/vendor
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

source scripts/npm-pack.sh

graphiql_integrity=$(pack graphiql "$GRAPHIQL_VERSION")
react_integrity=$(pack react "$REACT_VERSION")
react_dom_integrity=$(pack react-dom "$REACT_VERSION")
graphql_ws_integrity=$(pack graphql-ws "$GRAPHQL_WS_VERSION")

rm -rf "$dest"
mkdir -p "$dest"
cp "$tmp/graphiql/package/graphiql.min.js" "$tmp/graphiql/package/graphiql.min.css" "$dest/"
cp "$tmp/react/package/umd/react.production.min.js" "$dest/"
cp "$tmp/react-dom/package/umd/react-dom.production.min.js" "$dest/"
cp "$tmp/graphql-ws/package/umd/graphql-ws.min.js" "$dest/"
cp "$tmp/graphiql/package/LICENSE" "$dest/LICENSE.graphiql"
cp "$tmp/react/package/LICENSE" "$dest/LICENSE.react"
cp "$tmp/react-dom/package/LICENSE" "$dest/LICENSE.react-dom"
cp "$tmp/graphql-ws/package/LICENSE.md" "$dest/LICENSE.graphql-ws"


{
	echo "# Written by scripts/vendor-graphiql.sh; do not edit. Files are byte-identical to the npm tarballs."
	echo "graphiql $GRAPHIQL_VERSION $(licence graphiql) $graphiql_integrity"
	echo "react $REACT_VERSION $(licence react) $react_integrity"
	echo "react-dom $REACT_VERSION $(licence react-dom) $react_dom_integrity"
	echo "graphql-ws $GRAPHQL_WS_VERSION $(licence graphql-ws) $graphql_ws_integrity"
	echo
	echo "# sha256 of the vendored files"
	(cd "$dest" && sha256sum graphiql.min.js graphiql.min.css react.production.min.js react-dom.production.min.js graphql-ws.min.js)
} >"$dest/VERSIONS"

du -ch "$dest"/* | tail -1
cat "$dest/VERSIONS"
