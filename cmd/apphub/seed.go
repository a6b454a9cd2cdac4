package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"time"
)

// seed is the seed subcommand: it prepares the database and reports what it holds.
func seed(ctx context.Context, cfg config, logger *slog.Logger, stdout io.Writer) error {
	st, err := openStores(cfg, newLogger(io.Discard, "text", cfg.ferretDBLogLevel))
	if err != nil {
		return err
	}
	defer st.close(context.Background())
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	inst, err := st.mongo.Installation(ctx)
	if err != nil {
		return fmt.Errorf("seed: %w", err)
	}
	logger.Info("database ready", "mongodb", st.mongoMode, "installation", inst.ID, "created", inst.CreatedAt)
	fmt.Fprintf(stdout, "installation %s (created %s)\n", inst.ID, inst.CreatedAt.Format(time.RFC3339))
	return nil
}
