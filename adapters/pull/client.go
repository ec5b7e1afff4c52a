package pull

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Client reads an agency's inbox feed: what an integrator behind a firewall
// runs in a loop, keeping the cursor of the last page it has durably
// processed.
//
//	c := pull.Client{BaseURL: "https://lienthong.example", Agency: "HCC", Token: tok}
//	for {
//		page, err := c.Next(ctx, cursor, 100, 25*time.Second)
//		... process page.Events, dedupe on id, then save page.Next ...
//		cursor = page.Next
//	}
type Client struct {
	BaseURL string // e.g. "http://127.0.0.1:8080"
	Agency  string
	Token   string
	HTTP    *http.Client // nil: http.DefaultClient
}

// APIError is a non-200 answer of the feed; Problem holds its
// application/problem+json body when there is one.
type APIError struct {
	Status  int
	Problem struct {
		Type   string `json:"type"`
		Title  string `json:"title"`
		Detail string `json:"detail"`
	}
}

func (e *APIError) Error() string {
	return fmt.Sprintf("inbox feed: %d %s: %s", e.Status, e.Problem.Type, e.Problem.Detail)
}

// Next fetches the page after cursor ("" = from the start), holding up to
// wait when there is nothing new.
func (c *Client) Next(ctx context.Context, cursor string, limit int, wait time.Duration) (Page, error) {
	q := url.Values{}
	if cursor != "" {
		q.Set("after", cursor)
	}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	if wait > 0 {
		q.Set("wait", wait.String())
	}
	u := strings.TrimRight(c.BaseURL, "/") + "/v1/agencies/" + url.PathEscape(c.Agency) + "/inbox"
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return Page{}, fmt.Errorf("inbox feed: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+c.Token)
	req.Header.Set("Accept", "application/json")
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return Page{}, fmt.Errorf("inbox feed %s: %w", c.Agency, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 256<<20))
	if err != nil {
		return Page{}, fmt.Errorf("inbox feed %s: read: %w", c.Agency, err)
	}
	if resp.StatusCode != http.StatusOK {
		e := &APIError{Status: resp.StatusCode}
		_ = json.Unmarshal(body, &e.Problem)
		return Page{}, e
	}
	var p Page
	if err := json.Unmarshal(body, &p); err != nil {
		return Page{}, fmt.Errorf("inbox feed %s: decode: %w", c.Agency, err)
	}
	return p, nil
}
