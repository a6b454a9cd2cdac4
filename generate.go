package apphub

//go:generate go tool gqlgen generate
