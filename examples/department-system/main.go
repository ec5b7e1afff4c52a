// Command department-system is an example department system on lienthong,
// built as an integrator builds one: its own module, the public packages
// client, event and router, and the contract in docs/DESIGN.md. It plays
// two agencies of the land procedure (1.004227):
//
//   - registry: the land registration office (VPDK). It receives its
//     events by signed webhook (401 to a delivery that does not verify),
//     and on dossier.assigned for the verify step checks the form and posts
//     dossier.step.completed (the same event, same id, on every retry).
//   - submit, track, inbox: the one-stop desk (HCC). It submits a land
//     dossier (dossier.submitted v2 with the land form) and follows it on
//     the tracking API until its status changes; inbox reads the desk's pull
//     inbox, the cursor kept in the state directory.
//
// Configuration is by flags, each with an environment variable as its
// default (the token and the webhook secret only by environment):
//
//	LIENTHONG_URL             -url     lienthong's base URL (http://127.0.0.1:8080)
//	LIENTHONG_TOKEN                    the agency's bearer token
//	LIENTHONG_WEBHOOK_SECRET           registry: the whsec_ secret (-secret-env names another variable)
//	DEPT_AGENCY               -agency  the agency code (registry: VPDK; the desk: HCC)
//	DEPT_STATE_DIR            -state   the journal and cursor directory (./dept-state/<agency>)
//	DEPT_LISTEN               -listen  registry: the webhook listen address (127.0.0.1:9101, path /events)
package main

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/lienthong/lienthong/client"
	"github.com/lienthong/lienthong/event"
	"github.com/lienthong/lienthong/examples/department-system/dept"
	"github.com/lienthong/lienthong/router"
)

//go:embed sample-application.json
var sampleApplication []byte

// environ is what a command reads from and writes to, beside its flags.
type environ struct {
	Getenv         func(string) string
	Stdout, Stderr io.Writer
	// Listen opens the registry's listener (net.Listen).
	Listen func(network, address string) (net.Listener, error)
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], environ{Getenv: os.Getenv, Stdout: os.Stdout, Stderr: os.Stderr, Listen: net.Listen})
	stop()
	os.Exit(code)
}

const usage = `usage: department-system <command> [flags]

commands:
  registry   the land registration office (VPDK): receive lienthong's webhooks, complete the verify step
  submit     the one-stop desk (HCC): submit a land dossier, follow it until its status changes
  track      follow a dossier's slip: department-system track [flags] <code>
  inbox      the one-stop desk: read its pull inbox from the saved cursor

Run department-system <command> -h for the flags.
`

func run(ctx context.Context, args []string, e environ) int {
	if len(args) == 0 {
		fmt.Fprint(e.Stderr, usage)
		return 2
	}
	cmd, args := args[0], args[1:]
	var c common
	fs := flag.NewFlagSet(cmd, flag.ContinueOnError)
	fs.SetOutput(e.Stderr)
	var err error
	switch cmd {
	case "registry":
		listen := fs.String("listen", env(e, "DEPT_LISTEN", "127.0.0.1:9101"), "webhook listen address (env DEPT_LISTEN); lienthong posts to http://<it>/events")
		secretEnv := fs.String("secret-env", "LIENTHONG_WEBHOOK_SECRET", "the environment variable holding the webhook secret (whsec_...)")
		c.flags(fs, e, "VPDK")
		if fs.Parse(args) != nil {
			return 2
		}
		err = registry(ctx, e, c, *listen, e.Getenv(*secretEnv))
	case "submit":
		file := fs.String("application", "", "the application (applicant, documents, form) as JSON (default: the built-in sample)")
		code := fs.String("code", "", "the dossier code: resend a submission after a failure (default: the next code of the day)")
		wait := fs.Duration("wait", 2*time.Minute, "how long to follow the dossier after its receipt (0: do not)")
		c.flags(fs, e, "HCC")
		if fs.Parse(args) != nil {
			return 2
		}
		err = submit(ctx, e, c, *file, *code, *wait)
	case "track":
		step := fs.String("until-step", "", "follow until this step is in progress (default: until the status changes)")
		wait := fs.Duration("wait", 10*time.Minute, "how long to follow")
		c.flags(fs, e, "HCC")
		if fs.Parse(args) != nil {
			return 2
		}
		if fs.NArg() != 1 {
			fmt.Fprintln(e.Stderr, "usage: department-system track [flags] <dossier code>")
			return 2
		}
		err = track(ctx, e, c, fs.Arg(0), *step, *wait)
	case "inbox":
		idle := fs.Duration("idle", 0, "stop after this long without a new event (0: follow until interrupted)")
		c.flags(fs, e, "HCC")
		if fs.Parse(args) != nil {
			return 2
		}
		err = inbox(ctx, e, c, *idle)
	case "-h", "-help", "--help", "help":
		fmt.Fprint(e.Stdout, usage)
		return 0
	default:
		fmt.Fprintf(e.Stderr, "department-system: unknown command %q\n\n%s", cmd, usage)
		return 2
	}
	if err != nil {
		fmt.Fprintf(e.Stderr, "department-system %s: %v\n", cmd, err)
		return 1
	}
	return 0
}

// common are the flags of every command.
type common struct {
	url, agency, state, token string
}

func env(e environ, name, def string) string {
	if v := e.Getenv(name); v != "" {
		return v
	}
	return def
}

func (c *common) flags(fs *flag.FlagSet, e environ, agency string) {
	fs.StringVar(&c.url, "url", env(e, "LIENTHONG_URL", "http://127.0.0.1:8080"), "lienthong's base URL (env LIENTHONG_URL)")
	fs.StringVar(&c.agency, "agency", env(e, "DEPT_AGENCY", agency), "the agency code (env DEPT_AGENCY)")
	fs.StringVar(&c.state, "state", e.Getenv("DEPT_STATE_DIR"), "the state directory: journal and cursor (env DEPT_STATE_DIR; default ./dept-state/<agency>)")
	c.token = e.Getenv("LIENTHONG_TOKEN")
}

func (c common) open() (*client.Client, *dept.Journal, error) {
	if c.token == "" {
		return nil, nil, errors.New("LIENTHONG_TOKEN is not set: the agency's bearer token")
	}
	if !event.ValidAgencyCode(c.agency) {
		return nil, nil, fmt.Errorf("%q is not an agency code", c.agency)
	}
	cl, err := client.New(client.Config{BaseURL: c.url, Token: c.token})
	if err != nil {
		return nil, nil, err
	}
	j, err := dept.OpenJournal(c.dir())
	return cl, j, err
}

func (c common) dir() string {
	if c.state == "" {
		return filepath.Join("dept-state", c.agency)
	}
	return c.state
}

func registry(ctx context.Context, e environ, c common, listen, secret string) error {
	if !strings.HasPrefix(secret, "whsec_") {
		return errors.New("the webhook secret (LIENTHONG_WEBHOOK_SECRET, or the variable -secret-env names) must be whsec_<base64>")
	}
	cl, j, err := c.open()
	if err != nil {
		return err
	}
	log := slog.New(slog.NewJSONHandler(e.Stderr, nil)).With("agency", c.agency)
	r := &dept.Registry{Client: cl, Journal: j, Agency: c.agency, Logger: log}
	h, err := r.Handler(secret)
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.Handle("POST /events", h)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) })
	ln, err := e.Listen("tcp", listen)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 30 * time.Second, WriteTimeout: 60 * time.Second}
	log.Info("registry listening", "addr", ln.Addr().String(), "path", "/events", "lienthong", c.url)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shut, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return srv.Shutdown(shut)
}

func desk(c common) (*dept.Desk, error) {
	cl, j, err := c.open()
	if err != nil {
		return nil, err
	}
	return &dept.Desk{Client: cl, Journal: j, Agency: c.agency}, nil
}

func submit(ctx context.Context, e environ, c common, file, code string, wait time.Duration) error {
	d, err := desk(c)
	if err != nil {
		return err
	}
	raw := sampleApplication
	if file != "" {
		if raw, err = os.ReadFile(file); err != nil {
			return err
		}
	}
	var app dept.Application
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&app); err != nil {
		return fmt.Errorf("application: %w", err)
	}
	if code == "" {
		if code, err = d.NewCode(); err != nil {
			return err
		}
	}
	ev, r, err := d.Submit(ctx, code, app)
	var p *client.Problem
	if errors.As(err, &p) {
		fmt.Fprintf(e.Stdout, "lienthong refused dossier %s: %s (%d): %s\n", code, p.Type, p.Status, p.Detail)
		for _, fe := range p.Errors {
			fmt.Fprintf(e.Stdout, "  %s: %s\n", fe.Location, fe.Message)
		}
		return errors.New("refused")
	}
	if err != nil {
		return fmt.Errorf("dossier %s not sent (run again with -code %s to resend it): %w", code, code, err)
	}
	fmt.Fprintf(e.Stdout, "dossier %s received: event %s accepted at %s", code, ev.ID, r.AcceptedAt)
	if r.Duplicate {
		fmt.Fprint(e.Stdout, " (sent before)")
	}
	if r.DueAt != "" {
		fmt.Fprintf(e.Stdout, "; appointment (due) %s", r.DueAt)
	}
	fmt.Fprintln(e.Stdout)
	if wait <= 0 {
		return nil
	}
	return follow(ctx, e, d, code, wait, dept.StatusOtherThan(router.StatusReceived))
}

func track(ctx context.Context, e environ, c common, code, step string, wait time.Duration) error {
	d, err := desk(c)
	if err != nil {
		return err
	}
	var done func(router.DossierView) bool
	if step != "" {
		done = dept.StepInProgress(step)
	} else {
		first := ""
		done = func(v router.DossierView) bool {
			if first == "" {
				first = v.Status
			}
			return v.Status != first
		}
	}
	return follow(ctx, e, d, code, wait, done)
}

func follow(ctx context.Context, e environ, d *dept.Desk, code string, wait time.Duration, done func(router.DossierView) bool) error {
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	_, err := d.Track(ctx, code, 2*time.Second, func(v router.DossierView) { fmt.Fprintln(e.Stdout, dept.Summary(v)) }, done)
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("dossier %s: no change within %s", code, wait)
	}
	return err
}

func inbox(ctx context.Context, e environ, c common, idle time.Duration) error {
	d, err := desk(c)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	o := client.ConsumeOptions{}
	var timer *time.Timer
	if idle > 0 {
		o.Wait = min(idle, 25*time.Second)
		timer = time.AfterFunc(idle, cancel)
		defer timer.Stop()
	}
	err = d.Client.Consume(ctx, c.agency, client.FileCursor(filepath.Join(c.dir(), "inbox.cursor")), o, func(_ context.Context, ev event.Event) error {
		if timer != nil {
			timer.Reset(idle)
		}
		line := fmt.Sprintf("%s %s %s", ev.Time, ev.Type, ev.Subject)
		if ev.Type == event.StatusChanged {
			var s struct{ Status, Previous, Step string }
			if json.Unmarshal(ev.Data, &s) == nil {
				line += fmt.Sprintf(": %s -> %s", s.Previous, s.Status)
				if s.Step != "" {
					line += " (step " + s.Step + ")"
				}
			}
		}
		fmt.Fprintln(e.Stdout, line+" ["+ev.ID+"]")
		return nil
	})
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}
