package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/lienthong/lienthong/adapters/webhook"
	"github.com/lienthong/lienthong/event"
)

// CursorStore keeps the pull feed's cursor across restarts. Save is called
// only after every event of a page was handled, so a crash re-reads (never
// skips) a page: handlers dedupe on the event id.
type CursorStore interface {
	Load() (string, error) // "" when there is none yet: from the oldest event kept
	Save(cursor string) error
}

// FileCursor keeps the cursor in a file, replaced atomically.
type FileCursor string

// Load implements CursorStore.
func (f FileCursor) Load() (string, error) {
	b, err := os.ReadFile(string(f))
	if errors.Is(err, os.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("client: read cursor: %w", err)
	}
	return string(b), nil
}

// Save implements CursorStore: write a temporary file, sync, rename.
func (f FileCursor) Save(cursor string) error {
	tmp, err := os.CreateTemp(filepath.Dir(string(f)), filepath.Base(string(f))+".*")
	if err != nil {
		return fmt.Errorf("client: save cursor: %w", err)
	}
	_, werr := tmp.WriteString(cursor)
	serr := tmp.Sync()
	cerr := tmp.Close()
	if err := errors.Join(werr, serr, cerr); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("client: save cursor: %w", err)
	}
	if err := os.Rename(tmp.Name(), string(f)); err != nil {
		return fmt.Errorf("client: save cursor: %w", err)
	}
	return nil
}

// ConsumeOptions tune Consume; zero values take the defaults.
type ConsumeOptions struct {
	Limit int           // events per page, default 100 (at most 1000)
	Wait  time.Duration // long-poll wait when the inbox is empty, default 25 s (at most 30 s)
}

// Consume reads agency's pull inbox until ctx ends, calling handle for each
// event in order and saving the cursor after each page. A handle error
// stops it (the page is read again next time); network errors and 5xx are
// retried with backoff; a refusal (401, 403, 404, a bad cursor) ends it.
func (c *Client) Consume(ctx context.Context, agency string, cur CursorStore, o ConsumeOptions, handle func(context.Context, event.Event) error) error {
	if o.Limit <= 0 {
		o.Limit = 100
	}
	if o.Wait <= 0 {
		o.Wait = 25 * time.Second
	}
	cursor, err := cur.Load()
	if err != nil {
		return err
	}
	for attempt := 0; ctx.Err() == nil; {
		q := url.Values{"limit": {strconv.Itoa(o.Limit)}, "wait": {o.Wait.String()}}
		if cursor != "" {
			q.Set("after", cursor)
		}
		var page struct {
			Events []event.Event `json:"events"`
			Next   string        `json:"next"`
		}
		err := c.get(ctx, "/v1/agencies/"+url.PathEscape(agency)+"/inbox?"+q.Encode(), &page)
		var p *Problem
		switch {
		case ctx.Err() != nil:
			return ctx.Err()
		case errors.As(err, &p) && p.Status < 500 && p.Status != http.StatusTooManyRequests:
			return err
		case err != nil:
			attempt++
			wait := webhook.Backoff(500*time.Millisecond, 30*time.Second, attempt, nil)
			if p != nil && p.RetryAfter > 0 {
				wait = min(p.RetryAfter, 30*time.Second)
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(wait):
			}
			continue
		}
		attempt = 0
		for _, ev := range page.Events {
			if err := handle(ctx, ev); err != nil {
				return fmt.Errorf("client: handle %s: %w", ev.ID, err)
			}
		}
		if page.Next != cursor {
			if err := cur.Save(page.Next); err != nil {
				return err
			}
			cursor = page.Next
		}
	}
	return ctx.Err()
}

// get is one GET without the retrying client: a long poll is retried by
// its loop.
func (c *Client) get(ctx context.Context, path string, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+path, nil)
	if err != nil {
		return fmt.Errorf("client: GET %s: %w", path, err)
	}
	req.Header.Set("Authorization", "Bearer "+c.tok)
	resp, err := c.hc.Do(req)
	if err != nil {
		return fmt.Errorf("client: GET %s: %w", path, err)
	}
	defer resp.Body.Close()
	raw, err := readAll(resp)
	if err != nil {
		return fmt.Errorf("client: GET %s: read: %w", path, err)
	}
	if resp.StatusCode >= 300 {
		return problemOf(resp, raw)
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("client: GET %s: decode: %w", path, err)
	}
	return nil
}

// ErrBadSignature is returned by VerifyWebhook for a delivery that is not
// signed with the agency's secret, or whose timestamp is too old or new.
var ErrBadSignature = errors.New("client: webhook signature does not verify")

// VerifyWebhook checks a delivery's Standard Webhooks signature (headers
// webhook-id, webhook-timestamp, webhook-signature) with the agency's
// secret ("whsec_<base64>", the value of its secret_env), and that the
// timestamp is within 5 minutes of now.
func VerifyWebhook(secret string, h http.Header, body []byte) error {
	wh, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		return fmt.Errorf("client: webhook secret: %w", err)
	}
	if err := wh.Verify(body, h); err != nil {
		return fmt.Errorf("%w: %v", ErrBadSignature, err)
	}
	return nil
}

// WebhookHandler is a department system's receiver: it verifies each
// delivery, decodes the CloudEvent and calls handle. It answers 401 to a
// delivery that does not verify (lienthong does not retry it: the secret is
// wrong), 400 to a body that is not a CloudEvent, 500 when handle fails (so
// lienthong retries) and 204 when it succeeds. handle must be idempotent:
// a retried delivery carries the same webhook-id (= the event id).
func WebhookHandler(secret string, handle func(context.Context, event.Event) error) (http.Handler, error) {
	wh, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		return nil, fmt.Errorf("client: webhook secret: %w", err)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := readAll(&http.Response{Body: http.MaxBytesReader(w, r.Body, 16<<20)})
		if err != nil {
			http.Error(w, "cannot read the body", http.StatusBadRequest)
			return
		}
		if err := wh.Verify(body, r.Header); err != nil {
			http.Error(w, "signature does not verify", http.StatusUnauthorized)
			return
		}
		var ev event.Event
		if err := json.Unmarshal(body, &ev); err != nil || ev.ID == "" || ev.Type == "" {
			http.Error(w, "not a CloudEvent", http.StatusBadRequest)
			return
		}
		if err := handle(r.Context(), ev); err != nil {
			http.Error(w, "not handled; retry", http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}), nil
}
