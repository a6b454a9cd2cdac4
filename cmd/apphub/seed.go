package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/mattn/go-isatty"

	"github.com/apphub/apphub"
	"github.com/apphub/apphub/booking"
	"github.com/apphub/apphub/demo"
)

// seed is the seed subcommand: it prepares the database and, with --demo, loads the demo
// dataset.
func seed(ctx context.Context, cfg config, logger *slog.Logger, stdout io.Writer) error {
	st, err := openStores(cfg, newLogger(io.Discard, "text", cfg.ferretDBLogLevel), logger)
	if err != nil {
		return err
	}
	defer st.close(context.Background())
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	inst, err := st.mongo.Installation(ctx)
	if err != nil {
		return fmt.Errorf("seed: %w", err)
	}
	logger.Info("database ready", "mongodb", st.mongoMode, "installation", inst.ID, "created", inst.CreatedAt)
	fmt.Fprintf(stdout, "installation %s (created %s)\n", inst.ID, inst.CreatedAt.Format(time.RFC3339))
	if cfg.demo {
		svc := booking.NewService(st.mongo, booking.Options{Logger: logger, Now: cfg.hooks.clock()})
		if err := loadDemo(ctx, svc, logger, stdout); err != nil {
			return err
		}
	}
	return nil
}

// loadDemo writes the demo calendar. Its items have fixed ids, so loading it again replaces
// them with the same values. On a terminal it draws a progress bar on w.
func loadDemo(ctx context.Context, svc *booking.Service, logger *slog.Logger, w io.Writer) error {
	// The operator who passed --demo loads it, as an admin: writing a calendar is an admin's,
	// and booking asks every caller who it is.
	ctx = apphub.NewContextWithPrincipal(ctx, apphub.Principal{PartyID: "apphub-demo", Roles: []string{apphub.RoleAdmin}})
	d := demo.Data()
	var progress func(done, total int)
	if f, ok := w.(*os.File); ok && isatty.IsTerminal(f.Fd()) {
		progress = func(done, total int) {
			const width = 40
			n := done * width / total
			fmt.Fprintf(f, "\rdemo calendar [%s%s] %d/%d", strings.Repeat("#", n), strings.Repeat(".", width-n), done, total)
			if done == total {
				fmt.Fprintln(f)
			}
		}
	}
	start := time.Now()
	if err := svc.SaveCalendar(ctx, d, progress); err != nil {
		return fmt.Errorf("demo data: %w", err)
	}
	logger.Info("demo data loaded", "resources", len(d.Resources), "categories", len(d.Categories),
		"zones", len(d.Zones), "places", len(d.Places), "holidayCalendars", len(d.HolidayCalendars),
		"took", time.Since(start))
	if w != nil {
		fmt.Fprintf(w, "demo data: %d resources, %d categories, %d zones, %d places, %d holiday calendars\n",
			len(d.Resources), len(d.Categories), len(d.Zones), len(d.Places), len(d.HolidayCalendars))
	}
	return nil
}
