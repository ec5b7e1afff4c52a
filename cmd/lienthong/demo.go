package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/lienthong/lienthong/internal/demo"
)

func init() {
	register("demo", "the bus with simulated agencies and a stream of sample dossiers", cmdDemo)
}

func cmdDemo(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	rate := fs.Float64("rate", 2, "new dossiers per second")
	duration := fs.Duration("duration", 0, "stop after this long (0: until Ctrl-C)")
	dataDir := fs.String("data-dir", "", "data directory (default: a fresh temporary one)")
	listen := fs.String("listen", "", "HTTP address (default: the example config's, :8080)")
	supp := fs.Float64("supplement", 0.15, "probability that the land office asks for a supplement")
	ret := fs.Bool("return", false, "the desk returns each result to the citizen (status returned)")
	verbose := fs.Bool("v", false, "log lienthong's own messages to stderr")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	dir := *dataDir
	if dir == "" {
		var err error
		if dir, err = os.MkdirTemp("", "lienthong-demo"); err != nil {
			fmt.Fprintln(stderr, "lienthong demo:", err)
			return 1
		}
		defer os.RemoveAll(dir)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if *verbose {
		log = slog.New(slog.NewJSONHandler(stderr, nil))
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	d, err := demo.Start(ctx, demo.Options{Listen: *listen, DataDir: dir, Rate: *rate, Duration: *duration,
		SupplementP: *supp, ReturnResult: *ret, Out: stdout, Logger: log})
	if err != nil {
		fmt.Fprintln(stderr, "lienthong demo:", err)
		return 1
	}
	fmt.Fprintf(stdout, "data in %s\n", dir)
	d.Run(ctx)
	d.Stop()
	return 0
}
