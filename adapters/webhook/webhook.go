// Package webhook is the Driver that POSTs each event to a department
// system's URL, signed per the Standard Webhooks spec (DESIGN.md section 7).
//
// Where retries live: the delivery engine owns them. It counts attempts the
// same way for every driver, honours Retry-After up to its cap, and waits
// between attempts without holding a concurrency slot or the dossiers behind
// it. So each Deliver is one attempt: the go-retryablehttp client that makes
// every request is set with RetryMax = Options.InCallRetries (default 0), a
// CheckRetry that retries in-call only connection failures (never a status:
// those go back to the engine with their Retry-After), a capped, jittered
// Backoff (Retry-After included, capped: go-retryablehttp does not cap it),
// and PassthroughErrorHandler so that the last status reaches the dead
// letter. Each Driver has its own client: go-retryablehttp drops every idle
// connection of a client on a failed attempt, so agencies must not share.
//
// Classification: any 2xx is success; network errors, 408, 425, 429 and 5xx
// are transient (*adapters.StatusError with Retry-After, seconds or an HTTP
// date); other statuses are permanent (adapters.Permanent).
package webhook

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/go-retryablehttp"

	"github.com/lienthong/lienthong/adapters"
	"github.com/lienthong/lienthong/event"
)

// Standard Webhooks header names.
const (
	HeaderID        = "webhook-id"
	HeaderTimestamp = "webhook-timestamp"
	HeaderSignature = "webhook-signature"
)

// Options configure one agency's webhook.
type Options struct {
	URL     string
	Secret  string        // "whsec_<base64>", the resolved Standard Webhooks secret
	Timeout time.Duration // per request, connection to last byte of the answer; 10s
	// InCallRetries is how many times one Deliver retries a connection
	// failure at once (50-500 ms apart) before handing the failure back to
	// the engine; 0 (the default) leaves every retry to the engine.
	InCallRetries int
	// Transport is the HTTP transport (TLS settings); nil: a pooled default.
	Transport http.RoundTripper
	// MaxRetryAfter caps a Retry-After hint passed to the engine; 1h. The
	// engine caps it again at its MaxBackoff.
	MaxRetryAfter time.Duration
	// Now is the clock of webhook-timestamp; nil: time.Now.
	Now func() time.Time
}

// Driver delivers to one agency's webhook. It is safe for concurrent use.
type Driver struct {
	o      Options
	url    string
	key    []byte
	client *retryablehttp.Client
}

var _ adapters.Driver = (*Driver)(nil)

// New checks the options and makes a driver with its own HTTP client.
func New(o Options) (*Driver, error) {
	u, err := url.Parse(o.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("webhook: url %q is not an absolute http(s) URL", o.URL)
	}
	key, err := DecodeSecret(o.Secret)
	if err != nil {
		return nil, fmt.Errorf("webhook %s: %w", u.Redacted(), err)
	}
	if o.Timeout <= 0 {
		o.Timeout = 10 * time.Second
	}
	if o.MaxRetryAfter <= 0 {
		o.MaxRetryAfter = time.Hour
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	tr := o.Transport
	if tr == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.MaxIdleConnsPerHost = 64
		tr = t
	}
	c := retryablehttp.NewClient()
	c.HTTPClient = &http.Client{
		Transport: tr,
		Timeout:   o.Timeout,
		// A webhook that redirects is misconfigured; following would re-POST
		// the signed body to wherever it points.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	c.Logger = nil
	c.RetryMax = o.InCallRetries
	c.RetryWaitMin = 50 * time.Millisecond
	c.RetryWaitMax = 500 * time.Millisecond
	c.CheckRetry = connectionRetryPolicy
	c.Backoff = Backoff
	c.ErrorHandler = retryablehttp.PassthroughErrorHandler
	return &Driver{o: o, url: o.URL, key: key, client: c}, nil
}

// DecodeSecret returns the HMAC key of a "whsec_<base64>" secret.
func DecodeSecret(secret string) ([]byte, error) {
	s, ok := strings.CutPrefix(secret, "whsec_")
	if !ok {
		return nil, errors.New("secret must start with whsec_")
	}
	key, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("secret is not base64 after whsec_: %w", err)
	}
	if len(key) < 16 {
		return nil, errors.New("secret is shorter than 16 bytes")
	}
	return key, nil
}

// Sign returns the webhook-signature value of a message: "v1," and the
// base64 HMAC-SHA256 of id.timestamp.body.
func Sign(key []byte, id string, ts int64, body []byte) string {
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id))
	mac.Write([]byte{'.'})
	mac.Write([]byte(strconv.FormatInt(ts, 10)))
	mac.Write([]byte{'.'})
	mac.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// Deliver POSTs m.Body once (see the package doc) and classifies the answer.
func (d *Driver) Deliver(ctx context.Context, m *adapters.Message) error {
	req, err := retryablehttp.NewRequestWithContext(ctx, http.MethodPost, d.url, m.Body)
	if err != nil {
		return adapters.Permanent(fmt.Errorf("webhook: build request: %w", err))
	}
	ts := d.o.Now().Unix()
	req.Header.Set("Content-Type", event.ContentType)
	req.Header.Set(HeaderID, m.ID)
	req.Header.Set(HeaderTimestamp, strconv.FormatInt(ts, 10))
	req.Header.Set(HeaderSignature, Sign(d.key, m.ID, ts, m.Body))
	if m.Traceparent != "" {
		req.Header.Set("traceparent", m.Traceparent)
	}
	// Lets net/http itself retry a POST on a connection the server had
	// already closed, and tells receivers what to dedupe on.
	req.Header.Set("Idempotency-Key", m.ID)
	req.Header.Set("User-Agent", "lienthong-webhook/1")

	resp, err := d.client.Do(req)
	if err != nil {
		if resp != nil {
			drain(resp.Body)
		}
		if ctx.Err() != nil {
			return fmt.Errorf("webhook %s: %w", m.ID, ctx.Err())
		}
		return &adapters.StatusError{Err: fmt.Errorf("webhook %s: %w", m.ID, redact(err))}
	}
	defer drain(resp.Body)
	return Classify(resp.StatusCode, resp.Header.Get("Retry-After"), d.o.Now(), d.o.MaxRetryAfter)
}

// Classify turns a webhook answer into nil (2xx), a transient
// *adapters.StatusError (408, 425, 429, 5xx) or a permanent one.
func Classify(status int, retryAfter string, now time.Time, maxRetryAfter time.Duration) error {
	if status >= 200 && status <= 299 {
		return nil
	}
	se := &adapters.StatusError{Status: status}
	if Transient(status) {
		if ra, ok := ParseRetryAfter(retryAfter, now); ok {
			se.RetryAfter = min(ra, maxRetryAfter)
		}
		return se
	}
	return adapters.Permanent(se)
}

// Transient reports whether a status is worth retrying (DESIGN.md section 7).
func Transient(status int) bool {
	switch status {
	case http.StatusRequestTimeout, http.StatusTooEarly, http.StatusTooManyRequests:
		return true
	}
	return status >= 500 && status <= 599
}

// ParseRetryAfter reads a Retry-After value: delay-seconds or an HTTP date.
// A date in the past gives 0.
func ParseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n < 0 {
			return 0, false
		}
		if n > int64(365*24*time.Hour/time.Second) {
			n = int64(365 * 24 * time.Hour / time.Second)
		}
		return time.Duration(n) * time.Second, true
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	return max(t.Sub(now), 0), true
}

// connectionRetryPolicy retries in-call only when no answer came (and never
// after ctx ended); every status goes back to the engine.
func connectionRetryPolicy(ctx context.Context, resp *http.Response, err error) (bool, error) {
	if ctx.Err() != nil {
		return false, ctx.Err()
	}
	if err == nil {
		return false, nil
	}
	var ue *url.Error
	if errors.As(err, &ue) && ue.Timeout() {
		// A timeout already used the whole per-request budget.
		return false, err
	}
	return true, err
}

// Backoff is adapters.Backoff in the shape of a go-retryablehttp Backoff
// (attempt counted from 0, the Retry-After read from resp: seconds or an
// HTTP date): exponential, capped, full jitter between min and the cap, a
// Retry-After honoured but capped at max (go-retryablehttp does not cap it,
// #247). The webhook driver and the public client both use it.
func Backoff(min, max time.Duration, attempt int, resp *http.Response) time.Duration {
	var hint time.Duration
	if resp != nil {
		hint, _ = ParseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
	}
	return adapters.Backoff(min, max, attempt+1, hint, rand.Float64())
}

// redact drops the URL from a transport error: webhook URLs may carry a
// token in their query.
func redact(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("%s: %w", ue.Op, ue.Err)
	}
	return err
}

func drain(b io.ReadCloser) {
	_, _ = io.Copy(io.Discard, io.LimitReader(b, 64<<10))
	_ = b.Close()
}

// Close drops the driver's idle connections.
func (d *Driver) Close() { d.client.HTTPClient.CloseIdleConnections() }
