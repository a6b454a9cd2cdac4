package resolvers

// gqlgen writes ../graph from ../schema.graphqls and ../gqlgen.yml, and keeps the resolvers of
// this package in step with the schema: run `go generate ./...` after changing either.
//go:generate go -C .. tool gqlgen generate
