package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"sort"
	"syscall"
	"time"

	"github.com/lienthong/lienthong/internal/app"
	"github.com/lienthong/lienthong/internal/config"
)

func init() {
	register("serve", "run the bus (gateway, router, delivery)", cmdServe)
}

// loadConfig reads --config, or the built-in example config when empty.
func loadConfig(path string, stderr io.Writer) (*config.Config, bool, error) {
	if path == "" {
		cfg, err := config.ExampleConfig()
		return cfg, true, err
	}
	cfg, err := config.Load(path)
	return cfg, false, err
}

func cmdServe(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := fs.String("config", "", "config file (default: the built-in example config and the embedded broker)")
	roles := fs.String("roles", "gateway,router,delivery", "roles to run: gateway,router,delivery")
	listen := fs.String("listen", "", "override the config's listen address")
	dataDir := fs.String("data-dir", "", "override the config's data_dir")
	var level slog.Level
	fs.TextVar(&level, "log-level", slog.LevelInfo, "log level: debug, info, warn, error")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	rs, err := app.ParseRoles(*roles)
	if err != nil {
		fmt.Fprintln(stderr, "lienthong serve:", err)
		return 2
	}
	cfg, example, err := loadConfig(*cfgPath, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "lienthong serve:", err)
		return 1
	}
	if *listen != "" {
		cfg.Listen = *listen
	}
	if *dataDir != "" {
		cfg.DataDir = *dataDir
	}
	log := slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: level}))
	logConfigWarnings(log, cfg, time.Now())
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	a, err := app.Start(ctx, cfg, app.Options{Roles: rs, Logger: log})
	if err != nil {
		fmt.Fprintln(stderr, "lienthong serve:", err)
		return 1
	}
	log.Info("lienthong serving", "addr", a.Addr(), "roles", rs)
	if example {
		printDevTokens(stdout, a.Addr())
	}
	code := 0
	select {
	case <-ctx.Done():
		log.Info("shutting down")
	case err := <-a.Errors():
		log.Error("fatal", "err", err)
		code = 1
	}
	sctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	a.Stop(sctx)
	log.Info("stopped")
	return code
}

// logConfigWarnings logs what `config check` warns about (a calendar
// without this year's or next year's holidays), one WARN line each.
func logConfigWarnings(log *slog.Logger, cfg *config.Config, now time.Time) {
	for _, w := range cfg.Warnings(now) {
		log.Warn("config: "+w.Message, "path", w.Path)
	}
}

// printDevTokens shows the example config's development tokens: they are
// public (in the repository) and only for the built-in example.
func printDevTokens(w io.Writer, addr string) {
	toks := config.ExampleDevTokens()
	names := make([]string, 0, len(toks))
	for n := range toks {
		names = append(names, n)
	}
	sort.Strings(names)
	fmt.Fprintf(w, "lienthong is running the built-in example config on http://%s\n", addr)
	fmt.Fprintln(w, "development tokens (example config only; never use them in production):")
	for _, n := range names {
		fmt.Fprintf(w, "  %-6s %s\n", n, toks[n])
	}
	fmt.Fprintf(w, "try: curl -s http://%s/v1/schemas | head\n", addr)
	_ = os.Stdout.Sync()
}
