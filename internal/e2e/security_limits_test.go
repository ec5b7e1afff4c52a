package e2e

import (
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lienthong/lienthong/internal/app"
)

// The HTTP limits of the config's http: section hold against callers that
// send too much, too slowly or too often.
func TestSecurityLimits(t *testing.T) {
	extra := `http:
  max_header_bytes: 1024
  max_body_bytes: 4096
  read_header_timeout: 1s
  rate_per_second: 0.5
  burst: 3
`
	e := startWith(t, extra, nil, nil, nil, app.RoleGateway)
	c := e.client

	t.Run("header over max_header_bytes is 431", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodGet, e.base+"/healthz", nil)
		// Go's server allows 4 KiB of slack over MaxHeaderBytes.
		req.Header.Set("X-Padding", strings.Repeat("a", 8<<10))
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
			t.Fatalf("status %d, want 431", resp.StatusCode)
		}
		// A normal request still passes.
		if st, _, _ := do(t, c, http.MethodGet, e.base+"/healthz", "", nil); st != http.StatusOK {
			t.Fatalf("small header: %d", st)
		}
	})

	t.Run("body over max_body_bytes is 413, under it 202", func(t *testing.T) {
		big := submitted("limit-big", "HCC-20260303-0401")
		big["data"].(map[string]any)["note"] = strings.Repeat("x", 5000)
		st, h, raw := do(t, c, http.MethodPost, e.base+"/v1/events", "HCC", mustJSON(big))
		if st != http.StatusRequestEntityTooLarge {
			t.Fatalf("status %d, want 413: %s", st, raw)
		}
		if pt := problemType(t, h, raw); pt != "urn:lienthong:problem:too-large" {
			t.Errorf("problem type %q", pt)
		}
		st, _, raw = do(t, c, http.MethodPost, e.base+"/v1/events", "HCC", mustJSON(submitted("limit-ok", "HCC-20260303-0402")))
		if st != http.StatusAccepted {
			t.Fatalf("body under the limit: %d %s", st, raw)
		}
	})

	t.Run("slow headers are cut off after read_header_timeout", func(t *testing.T) {
		conn, err := net.Dial("tcp", e.app.Addr())
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		start := time.Now()
		if _, err := io.WriteString(conn, "GET /healthz HTTP/1.1\r\nHost: x\r\n"); err != nil {
			t.Fatal(err)
		}
		// Trickle one header byte every 100 ms for up to 5 s, as a
		// slowloris client does, until the server hangs up.
		closed := make(chan time.Duration, 1)
		go func() {
			buf := make([]byte, 512)
			for {
				if _, err := conn.Read(buf); err != nil {
					closed <- time.Since(start)
					return
				}
			}
		}()
		var took time.Duration
	trickle:
		for i := 0; i < 50; i++ {
			select {
			case took = <-closed:
				break trickle
			case <-time.After(100 * time.Millisecond):
			}
			if _, err := io.WriteString(conn, "X"); err != nil {
				took = time.Since(start)
				break
			}
		}
		if took == 0 {
			select {
			case took = <-closed:
			case <-time.After(2 * time.Second):
				t.Fatalf("connection still open after %v of slow headers", time.Since(start))
			}
		}
		if took < 900*time.Millisecond || took > 3*time.Second {
			t.Fatalf("slow client cut off after %v, want about 1s", took)
		}
		t.Logf("slow client cut off after %v", took.Round(time.Millisecond))
	})

	t.Run("rate limit per agency is 429 with Retry-After, others unaffected", func(t *testing.T) {
		for i := 0; i < 3; i++ {
			if st, _, raw := do(t, c, http.MethodGet, e.base+"/v1/stats", "UBND", nil); st != http.StatusOK {
				t.Fatalf("request %d within the burst: %d %s", i+1, st, raw)
			}
		}
		st, h, raw := do(t, c, http.MethodGet, e.base+"/v1/stats", "UBND", nil)
		if st != http.StatusTooManyRequests {
			t.Fatalf("request over the burst: %d, want 429: %s", st, raw)
		}
		if pt := problemType(t, h, raw); pt != "urn:lienthong:problem:rate-limited" {
			t.Errorf("problem type %q", pt)
		}
		ra, err := strconv.Atoi(h.Get("Retry-After"))
		if err != nil || ra < 1 || ra > 2 {
			t.Errorf("Retry-After %q, want 1 or 2 seconds at 0.5/s", h.Get("Retry-After"))
		}
		// Events are limited the same way, and nothing refused is sent on.
		if st, _, _ := do(t, c, http.MethodPost, e.base+"/v1/events", "UBND", []byte(`{}`)); st != http.StatusTooManyRequests {
			t.Errorf("POST over the limit: %d, want 429", st)
		}
		// Another agency and the admin have their own budgets.
		for _, who := range []string{"THUE", "VPDK", "admin"} {
			if st, _, raw := do(t, c, http.MethodGet, e.base+"/v1/stats", who, nil); st != http.StatusOK {
				t.Errorf("%s while UBND is limited: %d %s", who, st, raw)
			}
		}
		// Unauthenticated callers are refused before the limiter, so they
		// cannot spend an agency's budget.
		if st, _, _ := do(t, c, http.MethodGet, e.base+"/v1/stats", "", nil); st != http.StatusUnauthorized {
			t.Errorf("no token: %d, want 401", st)
		}
	})

	t.Run("the public endpoints are not rate limited", func(t *testing.T) {
		for i := 0; i < 10; i++ {
			if st, _, _ := do(t, c, http.MethodGet, e.base+"/v1/schemas", "", nil); st != http.StatusOK {
				t.Fatalf("schemas request %d: %d", i+1, st)
			}
		}
	})
}
