# Sourced by the scripts that vendor npm packages (vendor-graphiql.sh, vendor-redoc.sh).
#
# pack NAME VERSION: downloads the package tarball into $tmp/NAME and unpacks it there;
# prints the tarball's integrity (sha512) as the registry published it. $tmp must be set.
pack() {
	mkdir -p "$tmp/$1"
	(cd "$tmp/$1" && npm pack --json --silent "$1@$2" >pack.json && tar xzf ./*.tgz)
	node -e 'const p = require(process.argv[1])[0]; if (p.version !== process.argv[2]) process.exit(1); console.log(p.integrity)' \
		"$tmp/$1/pack.json" "$2"
}

# licence NAME: the licence its package.json declares.
licence() { node -e 'console.log(require(process.argv[1]).license)' "$tmp/$1/package/package.json"; }
