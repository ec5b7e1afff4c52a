package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"time"

	"github.com/lienthong/lienthong/client"
)

func init() {
	register("send", "FILE...: post CloudEvent files to /v1/events", cmdSend)
	register("track", "[--csv] CODE: print a dossier's process-control slip (or export it as CSV)", cmdTrack)
	register("dlq", "list [--agency CODE] | replay ID|--all --agency CODE: dead letters (admin)", cmdDLQ)
}

// apiFlags are the connection flags of the HTTP client commands; the token
// comes from the environment so it stays out of shell history.
func apiFlags(fs *flag.FlagSet) (*string, *string) {
	base := fs.String("url", envOr("LIENTHONG_URL", "http://127.0.0.1:8080"), "lienthong base URL (env LIENTHONG_URL)")
	tokenEnv := fs.String("token-env", "LIENTHONG_TOKEN", "environment variable holding the bearer token")
	return base, tokenEnv
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

// call sends one request through the public client (retries on network
// errors, 429 and 5xx, Retry-After honoured) and returns the answer as is.
func call(method, base, tokenEnv, path, ct string, body []byte) (int, []byte, error) {
	c, err := client.New(client.Config{BaseURL: base, Token: os.Getenv(tokenEnv)})
	if err != nil {
		return 0, nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	return c.Raw(ctx, method, path, ct, body)
}

func pretty(w io.Writer, raw []byte) {
	var buf bytes.Buffer
	if json.Indent(&buf, raw, "", "  ") == nil {
		buf.WriteByte('\n')
		_, _ = w.Write(buf.Bytes())
		return
	}
	_, _ = w.Write(raw)
}

func cmdSend(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("send", flag.ContinueOnError)
	fs.SetOutput(stderr)
	base, tokenEnv := apiFlags(fs)
	if err := fs.Parse(args); err != nil || fs.NArg() == 0 {
		fmt.Fprintln(stderr, "usage: lienthong send [--url URL] FILE...   (token in $LIENTHONG_TOKEN)")
		return 2
	}
	code := 0
	for _, f := range fs.Args() {
		body, err := os.ReadFile(f)
		if err != nil {
			fmt.Fprintln(stderr, err)
			return 2
		}
		ct := "application/cloudevents+json"
		if t := bytes.TrimLeft(body, " \t\r\n"); len(t) > 0 && t[0] == '[' {
			ct = "application/cloudevents-batch+json"
		}
		st, out, err := call(http.MethodPost, *base, *tokenEnv, "/v1/events", ct, body)
		if err != nil {
			fmt.Fprintf(stderr, "%s: %v\n", f, err)
			return 1
		}
		fmt.Fprintf(stdout, "%s: %d\n", f, st)
		pretty(stdout, out)
		if st >= 300 {
			code = 1
		}
	}
	return code
}

func cmdTrack(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("track", flag.ContinueOnError)
	fs.SetOutput(stderr)
	base, tokenEnv := apiFlags(fs)
	asCSV := fs.Bool("csv", false, "export the slip as CSV")
	tz := fs.String("tz", os.Getenv("LIENTHONG_TZ"), "time zone of the times shown (default: the calendar's, as the bus states it; env LIENTHONG_TZ)")
	if err := fs.Parse(args); err != nil || fs.NArg() != 1 {
		fmt.Fprintln(stderr, "usage: lienthong track [--url URL] [--csv] [--tz ZONE] CODE   (token in $LIENTHONG_TOKEN)")
		return 2
	}
	if *tz != "" {
		if _, err := time.LoadLocation(*tz); err != nil {
			fmt.Fprintf(stderr, "lienthong track: --tz %s: %v\n", *tz, err)
			return 2
		}
	}
	st, out, err := call(http.MethodGet, *base, *tokenEnv, "/v1/dossiers/"+url.PathEscape(fs.Arg(0)), "", nil)
	if err != nil {
		fmt.Fprintln(stderr, "lienthong track:", err)
		return 1
	}
	if st != http.StatusOK {
		fmt.Fprintf(stderr, "lienthong track: %d\n", st)
		pretty(stderr, out)
		return 1
	}
	// Without --tz, the calendar's zone as the bus states it.
	zone := *tz
	if zone == "" {
		var v struct {
			TimeZone string `json:"time_zone"`
		}
		_ = json.Unmarshal(out, &v)
		zone = v.TimeZone
	}
	if zone == "" { // a bus older than the time_zone field
		zone = "Asia/Ho_Chi_Minh"
	}
	loc, err := time.LoadLocation(zone)
	if err != nil {
		fmt.Fprintf(stderr, "lienthong track: time zone %s: %v\n", zone, err)
		return 1
	}
	write := writeSlipText
	if *asCSV {
		write = writeSlipCSV
	}
	if err := write(stdout, out, loc); err != nil {
		fmt.Fprintln(stderr, "lienthong track:", err)
		return 1
	}
	return 0
}

// tzFlag is the time zone the slip and the report print times in: the
// calendar's (the example config's Asia/Ho_Chi_Minh unless LIENTHONG_TZ
// says otherwise); the API gives instants, not the calendar.
func tzFlag(fs *flag.FlagSet) *string {
	return fs.String("tz", envOr("LIENTHONG_TZ", "Asia/Ho_Chi_Minh"), "the calendar's time zone, for times (env LIENTHONG_TZ)")
}

func cmdDLQ(args []string, stdout, stderr io.Writer) int {
	usage := func() int {
		fmt.Fprintln(stderr, "usage: lienthong dlq list [--agency CODE] | lienthong dlq replay (ID | --all) [--agency CODE]   (admin token in $LIENTHONG_TOKEN)")
		return 2
	}
	if len(args) == 0 {
		return usage()
	}
	fs := flag.NewFlagSet("dlq", flag.ContinueOnError)
	fs.SetOutput(stderr)
	base, tokenEnv := apiFlags(fs)
	agency := fs.String("agency", "", "agency code")
	all := fs.Bool("all", false, "replay every dead letter of --agency")
	if err := fs.Parse(args[1:]); err != nil {
		return 2
	}
	q := ""
	if *agency != "" {
		q = "?agency=" + url.QueryEscape(*agency)
	}
	var st int
	var out []byte
	var err error
	switch args[0] {
	case "list":
		st, out, err = call(http.MethodGet, *base, *tokenEnv, "/v1/dlq"+q, "", nil)
	case "replay":
		switch {
		case *all && *agency != "":
			st, out, err = call(http.MethodPost, *base, *tokenEnv, "/v1/dlq/replay"+q, "", nil)
		case fs.NArg() == 1 && !*all:
			st, out, err = call(http.MethodPost, *base, *tokenEnv, "/v1/dlq/"+url.PathEscape(fs.Arg(0))+"/replay"+q, "", nil)
		default:
			return usage()
		}
	default:
		return usage()
	}
	if err != nil {
		fmt.Fprintln(stderr, "lienthong dlq:", err)
		return 1
	}
	pretty(stdout, out)
	if st >= 300 {
		return 1
	}
	return 0
}
