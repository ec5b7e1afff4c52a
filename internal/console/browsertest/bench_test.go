package browsertest

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// BenchmarkDossierPage1000 renders the list page with 1,000 dossiers from a
// real store (SQLite, embedded broker): "server" is the console's answer
// read over HTTP (two API pages of 500, the template, the transfer);
// "browser" is chromium loading and laying the page out (skipped without
// chromium).
func BenchmarkDossierPage1000(b *testing.B) {
	s := startServer(b)
	now := time.Now()
	for i := 0; i < 1000; i += 100 {
		var batch []map[string]any
		for j := i; j < i+100; j++ {
			batch = append(batch, submitted(s.code("", 1000+j), "1.004227", now.Add(-time.Duration(1000-j)*time.Second)))
		}
		s.post(b, "HCC", batch...)
	}
	deadline := time.Now().Add(60 * time.Second)
	for s.countDossiers(b) < 1000 {
		if time.Now().After(deadline) {
			b.Fatal("1,000 dossiers not in the store after 60 s")
		}
		time.Sleep(200 * time.Millisecond)
	}
	page := s.base + "/console/dossiers?limit=1000"
	b.Run("server", func(b *testing.B) {
		c, _ := httpSignIn(b, s.base, "admin")
		var n int
		for b.Loop() {
			resp, err := c.Get(page)
			if err != nil {
				b.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				b.Fatalf("%d", resp.StatusCode)
			}
			n = len(body)
			if strings.Count(string(body), "<tr class=") < 1000 {
				b.Fatal("fewer than 1,000 rows")
			}
		}
		b.ReportMetric(float64(n), "bytes/page")
	})
	b.Run("browser", func(b *testing.B) {
		exe := chromiumPath(b)
		ctx := browser(b, exe)
		signIn(b, ctx, s.base, "admin")
		for b.Loop() {
			if err := chromedp.Do(ctx, chromedp.Navigate(page)); err != nil {
				b.Fatal(err)
			}
		}
		if n := js[int](b, ctx, `document.querySelectorAll("#dossiers tbody tr").length`); n != 1000 {
			b.Fatalf("%d rows", n)
		}
	})
}

// countDossiers counts the dossiers the admin sees, up to 1,000.
func (s *server) countDossiers(t testing.TB) int {
	n, cursor := 0, ""
	for n < 1000 {
		u := s.base + "/v1/dossiers?limit=500"
		if cursor != "" {
			u += "&cursor=" + cursor
		}
		req, _ := http.NewRequest(http.MethodGet, u, nil)
		req.Header.Set("Authorization", "Bearer "+tokens["admin"])
		resp, err := s.hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var body struct {
			Items []json.RawMessage `json:"items"`
			Next  string            `json:"next"`
		}
		_ = json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		n += len(body.Items)
		if body.Next == "" {
			break
		}
		cursor = body.Next
	}
	return n
}
