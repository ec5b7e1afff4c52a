// Package client is the Go client of lienthong for department systems: post
// events (one or a batch) with retries that keep their ids, read the
// tracking API, consume a pull inbox with a persisted cursor, and verify the
// Standard Webhooks signature of lienthong's deliveries. It stands on public
// packages only, so a department system's module can import it without the
// broker or the server.
//
//	c, err := client.New(client.Config{BaseURL: "https://lienthong.tinh.gov.vn", Token: os.Getenv("LIENTHONG_TOKEN")})
//	ev, _ := event.New(id, event.Submitted, code, time.Now(), data)
//	ev.Source = event.AgencySource("HCC")
//	receipt, err := c.Post(ctx, ev)
//	var p *client.Problem
//	if errors.As(err, &p) { ... p.Type, p.Errors[i].Location ... }
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/go-retryablehttp"

	"github.com/lienthong/lienthong/adapters/webhook"
	"github.com/lienthong/lienthong/event"
	"github.com/lienthong/lienthong/problem"
	"github.com/lienthong/lienthong/router"
)

// Headers of lienthong's HTTP API and deliveries (the webhook ones are
// adapters/webhook's, named here for department systems).
const (
	HeaderWebhookID        = webhook.HeaderID
	HeaderWebhookTimestamp = webhook.HeaderTimestamp
	HeaderWebhookSignature = webhook.HeaderSignature
	HeaderIdempotencyKey   = "Idempotency-Key"
	HeaderRetryAfter       = "Retry-After"
)

// Config configures a Client. Zero values take the defaults.
type Config struct {
	BaseURL string // e.g. "https://lienthong.tinh.gov.vn"; required
	Token   string // the agency's bearer token; required
	// HTTPClient carries the transport (TLS client certificates, proxies).
	// nil: a client with a 60 s timeout (above the 30 s long-poll).
	HTTPClient *http.Client
	// RetryMax is how many times a request is retried after a network
	// error, 429 or 5xx (default 4; -1: never). A retried POST resends the
	// same bytes, hence the same ids: lienthong answers a repeat with the
	// first receipt.
	RetryMax int
	// RetryWaitMin and RetryWaitMax bound the wait between tries (defaults
	// 500 ms and 30 s); a server's Retry-After is honoured up to RetryWaitMax.
	RetryWaitMin, RetryWaitMax time.Duration
}

// Validate reports what is wrong with c.
func (c Config) Validate() error {
	var errs []error
	if c.BaseURL == "" {
		errs = append(errs, errors.New("client: BaseURL is required"))
	} else if u, err := url.Parse(c.BaseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		errs = append(errs, fmt.Errorf("client: BaseURL %q is not an http(s) URL", c.BaseURL))
	}
	if c.Token == "" {
		errs = append(errs, errors.New("client: Token is required"))
	}
	if c.RetryMax < -1 {
		errs = append(errs, errors.New("client: RetryMax must be -1 (never) or more"))
	}
	if c.RetryWaitMin < 0 || c.RetryWaitMax < 0 || (c.RetryWaitMax > 0 && c.RetryWaitMin > c.RetryWaitMax) {
		errs = append(errs, errors.New("client: RetryWaitMin and RetryWaitMax must be positive, min <= max"))
	}
	return errors.Join(errs...)
}

// Client talks to one lienthong as one agency (or the admin). It is safe for
// concurrent use.
type Client struct {
	base string
	tok  string
	rc   *retryablehttp.Client
	hc   *http.Client // without retries: long polls
}

// New returns a client for c.
func New(c Config) (*Client, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	if c.HTTPClient == nil {
		c.HTTPClient = &http.Client{Timeout: 60 * time.Second}
	}
	switch {
	case c.RetryMax == 0:
		c.RetryMax = 4
	case c.RetryMax < 0:
		c.RetryMax = 0
	}
	if c.RetryWaitMin == 0 {
		c.RetryWaitMin = 500 * time.Millisecond
	}
	if c.RetryWaitMax == 0 {
		c.RetryWaitMax = 30 * time.Second
	}
	rc := retryablehttp.NewClient()
	rc.HTTPClient = c.HTTPClient
	rc.Logger = nil
	rc.RetryMax = c.RetryMax
	rc.RetryWaitMin, rc.RetryWaitMax = c.RetryWaitMin, c.RetryWaitMax
	rc.Backoff = webhook.Backoff
	rc.CheckRetry = retryablehttp.ErrorPropagatedRetryPolicy
	// The last answer is kept (a problem to decode) instead of "giving up".
	rc.ErrorHandler = retryablehttp.PassthroughErrorHandler
	return &Client{base: strings.TrimRight(c.BaseURL, "/"), tok: c.Token, rc: rc, hc: c.HTTPClient}, nil
}

// FieldError locates one problem in the submitted event (a JSON Pointer).
type FieldError struct {
	Location string `json:"location"`
	Message  string `json:"message"`
}

// Problem is an RFC 9457 answer of lienthong: Type is a URN of the problem
// catalog (docs/PROBLEMS.md), Index the failing element of a batch.
type Problem struct {
	Type       string        `json:"type"`
	Title      string        `json:"title"`
	Status     int           `json:"status"`
	Detail     string        `json:"detail"`
	Errors     []FieldError  `json:"errors,omitempty"`
	Index      *int          `json:"index,omitempty"`
	RetryAfter time.Duration `json:"-"`
}

// Is lets errors.Is match a refused cursor with problem.ErrBadCursor, the
// sentinel the pull feed itself uses.
func (p *Problem) Is(target error) bool {
	return target == problem.ErrBadCursor && p.Type == problem.BadCursor.URN()
}

func (p *Problem) Error() string {
	s := fmt.Sprintf("lienthong: %d %s: %s", p.Status, p.Type, p.Detail)
	for _, e := range p.Errors {
		s += fmt.Sprintf("; %s: %s", e.Location, e.Message)
	}
	return s
}

// Receipt is the answer for one accepted event.
type Receipt struct {
	ID         string `json:"id"`
	Source     string `json:"source"`
	Subject    string `json:"subject"`
	AcceptedAt string `json:"accepted_at"`
	Duplicate  bool   `json:"duplicate"`
	// DueAt is a submission's due time (the appointment to print on the
	// receipt slip), RFC 3339 in the bus's calendar zone; empty for other
	// events and for dossiers filed online until their reception.
	DueAt string `json:"due_at,omitempty"`
}

// Post sends one event. A *Problem error is lienthong's refusal; other
// errors are the network's (after the retries).
func (c *Client) Post(ctx context.Context, ev event.Event) (Receipt, error) {
	body, err := json.Marshal(ev)
	if err != nil {
		return Receipt{}, fmt.Errorf("client: encode event %s: %w", ev.ID, err)
	}
	var r Receipt
	err = c.do(ctx, http.MethodPost, "/v1/events", event.ContentType, body, &r)
	return r, err
}

// PostBatch sends events as one batch: all are validated before any is
// accepted; a refusal names the element in Problem.Index.
func (c *Client) PostBatch(ctx context.Context, evs []event.Event) ([]Receipt, error) {
	body, err := json.Marshal(evs)
	if err != nil {
		return nil, fmt.Errorf("client: encode batch: %w", err)
	}
	var out struct {
		Receipts []Receipt `json:"receipts"`
	}
	err = c.do(ctx, http.MethodPost, "/v1/events", event.BatchContentType, body, &out)
	return out.Receipts, err
}

// Dossier returns a dossier's process-control slip.
func (c *Client) Dossier(ctx context.Context, code string) (router.DossierView, error) {
	var d router.DossierView
	err := c.do(ctx, http.MethodGet, "/v1/dossiers/"+url.PathEscape(code), "", nil, &d)
	return d, err
}

// ListOptions filter GET /v1/dossiers; zero fields match everything.
type ListOptions struct {
	Status, Agency, Procedure                string
	Overdue                                  *bool
	ReceivedFrom, ReceivedTo, DueFrom, DueTo time.Time
	Limit                                    int
	Cursor                                   string // Page.Next of the previous page
}

// Page is one page of dossiers; Next is "" on the last.
type Page struct {
	Items []router.Summary `json:"items"`
	Next  string           `json:"next"`
}

// List returns a page of the dossiers the caller may see.
func (c *Client) List(ctx context.Context, o ListOptions) (Page, error) {
	q := url.Values{}
	set := func(k, v string) {
		if v != "" {
			q.Set(k, v)
		}
	}
	setTime := func(k string, t time.Time) {
		if !t.IsZero() {
			q.Set(k, t.Format(time.RFC3339Nano))
		}
	}
	set("status", o.Status)
	set("agency", o.Agency)
	set("procedure", o.Procedure)
	if o.Overdue != nil {
		q.Set("overdue", strconv.FormatBool(*o.Overdue))
	}
	setTime("received_from", o.ReceivedFrom)
	setTime("received_to", o.ReceivedTo)
	setTime("due_from", o.DueFrom)
	setTime("due_to", o.DueTo)
	if o.Limit > 0 {
		q.Set("limit", strconv.Itoa(o.Limit))
	}
	set("cursor", o.Cursor)
	path := "/v1/dossiers"
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	var p Page
	err := c.do(ctx, http.MethodGet, path, "", nil, &p)
	return p, err
}

// Stats returns the on-time figures the caller may see, for the dossiers
// received from (inclusive) to (exclusive); zero times are unbounded.
func (c *Client) Stats(ctx context.Context, from, to time.Time) ([]router.StatRow, error) {
	q := url.Values{}
	if !from.IsZero() {
		q.Set("received_from", from.Format(time.RFC3339Nano))
	}
	if !to.IsZero() {
		q.Set("received_to", to.Format(time.RFC3339Nano))
	}
	path := "/v1/stats"
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	var out struct {
		Rows []router.StatRow `json:"rows"`
	}
	err := c.do(ctx, http.MethodGet, path, "", nil, &out)
	return out.Rows, err
}

// Raw sends a request as is (the CLI's send of files, dead-letter admin)
// and returns the status and body; a 4xx/5xx is not an error here.
func (c *Client) Raw(ctx context.Context, method, path, contentType string, body []byte) (int, []byte, error) {
	resp, err := c.send(ctx, method, path, contentType, body)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	out, err := readAll(resp)
	return resp.StatusCode, out, err
}

// readAll reads a body of at most 64 MiB.
func readAll(resp *http.Response) ([]byte, error) {
	return io.ReadAll(io.LimitReader(resp.Body, 64<<20))
}

func (c *Client) send(ctx context.Context, method, path, ct string, body []byte) (*http.Response, error) {
	var rd any
	if body != nil {
		rd = body // []byte: replayed on each retry without copying
	}
	req, err := retryablehttp.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return nil, fmt.Errorf("client: %s %s: %w", method, path, err)
	}
	req.Header.Set("Authorization", "Bearer "+c.tok)
	req.Header.Set("Accept", "application/json, application/problem+json")
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	resp, err := c.rc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("client: %s %s: %w", method, path, err)
	}
	return resp, nil
}

// do sends a request and decodes a 2xx answer into out, or returns the
// problem.
func (c *Client) do(ctx context.Context, method, path, ct string, body []byte, out any) error {
	resp, err := c.send(ctx, method, path, ct, body)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, err := readAll(resp)
	if err != nil {
		return fmt.Errorf("client: %s %s: read: %w", method, path, err)
	}
	if resp.StatusCode >= 300 {
		return problemOf(resp, raw)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			return fmt.Errorf("client: %s %s: decode: %w", method, path, err)
		}
	}
	return nil
}

func problemOf(resp *http.Response, raw []byte) *Problem {
	p := &Problem{}
	if json.Unmarshal(raw, p) != nil || p.Type == "" {
		p = &Problem{Type: "about:blank", Title: http.StatusText(resp.StatusCode), Detail: string(bytes.TrimSpace(raw))}
	}
	p.Status = resp.StatusCode
	if d, ok := webhook.ParseRetryAfter(resp.Header.Get(HeaderRetryAfter), time.Now()); ok {
		p.RetryAfter = d
	}
	return p
}
