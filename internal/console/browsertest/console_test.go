package browsertest

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// TestConsoleInBrowser walks the console's flows in headless chromium
// against one lienthong with demo-like traffic.
func TestConsoleInBrowser(t *testing.T) {
	exe := chromiumPath(t)
	s := startServer(t)
	now := time.Now()

	// The traffic: 24 land dossiers at various stages, plus the dossiers
	// each flow follows.
	var batch []map[string]any
	for i := 100; i < 124; i++ {
		batch = append(batch, submitted(s.code("", i), "1.004227", now.Add(-time.Duration(124-i)*time.Minute)))
	}
	s.post(t, "HCC", batch...)
	for i := 100; i < 116; i++ {
		s.waitStep(t, s.code("", i), "verify", "in_progress")
		s.post(t, "VPDK", completed("VPDK", s.code("", i), "verify"))
	}
	for i := 100; i < 108; i++ {
		s.waitStep(t, s.code("", i), "tax", "in_progress")
		s.post(t, "THUE", completed("THUE", s.code("", i), "tax"))
	}
	d1, d2, d5 := s.code("", 1), s.code("", 2), s.code("", 5)
	d3 := s.code("20260105", 3) // received in January: long overdue
	d6 := s.code("", 6)         // the procedure whose names hold markup
	s.sim.setFail(d5, true)
	s.post(t, "HCC", submitted(d1, "1.004227", now.Add(-10*time.Minute)), submitted(d2, "1.004227", now.Add(-9*time.Minute)),
		submitted(d3, "1.004227", time.Date(2026, 1, 5, 8, 0, 0, 0, s.loc)), submitted(d5, "1.004227", now.Add(-8*time.Minute)),
		submitted(d6, "9.000001", now.Add(-7*time.Minute)))
	s.waitStep(t, d1, "verify", "in_progress")
	s.post(t, "VPDK", completed("VPDK", d1, "verify"))
	s.waitStep(t, d1, "tax", "in_progress")
	s.waitStep(t, d2, "verify", "in_progress")
	s.waitStep(t, d6, "check", "in_progress")
	s.waitFor(t, d3, "overdue", func(d map[string]any) bool { return d["overdue"] == true })
	deadline := time.Now().Add(30 * time.Second)
	for !contains(s.dlqSubjects(t), d5) {
		if time.Now().After(deadline) {
			t.Fatalf("no dead letter for %s", d5)
		}
		time.Sleep(100 * time.Millisecond)
	}

	admin := browser(t, exe)

	t.Run("admin signs in and lists dossiers", func(t *testing.T) {
		signIn(t, admin, s.base, "admin")
		who := run(t, admin, "who", chromedp.Text(chromedp.ID("who")))
		if !strings.Contains(who, "admin") {
			t.Errorf("signed in as %q", who)
		}
		status, text := open(t, admin, s.base+"/console/dossiers?limit=100")
		if status != 200 || !strings.Contains(text, "29 hồ sơ") {
			t.Fatalf("list: %d\n%s", status, text)
		}
		if n := js[int](t, admin, `document.querySelectorAll("#dossiers tbody tr").length`); n != 29 {
			t.Errorf("%d rows, want 29", n)
		}
		// Each row: status with portal code, due date, time left.
		row := js[string](t, admin, fmt.Sprintf(`document.querySelector('tr[data-code="%s"]').innerText`, d1))
		for _, want := range []string{"Đang giải quyết", "(4)", "THUE", "ngày"} {
			if !strings.Contains(row, want) {
				t.Errorf("row of %s lacks %q: %q", d1, want, row)
			}
		}
		// Paged: 10 a page, the next page continues.
		open(t, admin, s.base+"/console/dossiers?limit=10")
		first := js[string](t, admin, `document.querySelector("#dossiers tbody tr").dataset.code`)
		do(t, admin, "next page", chromedp.Click(chromedp.ID("next")), chromedp.WaitVisible(chromedp.ID("first")))
		second := js[string](t, admin, `document.querySelector("#dossiers tbody tr").dataset.code`)
		if first == second || second == "" {
			t.Errorf("page 2 starts with %q, page 1 with %q", second, first)
		}
		// Filters: status and procedure.
		_, text = open(t, admin, s.base+"/console/dossiers?status=processing&procedure=9.000001")
		if !strings.Contains(text, "1 hồ sơ") || !strings.Contains(text, d6) {
			t.Errorf("filtered list:\n%s", text)
		}
		open(t, admin, s.base+"/console/dossiers?limit=25")
		screenshot(t, admin, "dossiers")
	})

	t.Run("search opens a dossier with its steps", func(t *testing.T) {
		do(t, admin, "search",
			chromedp.Navigate(s.base+"/console/dossiers"),
			chromedp.SendKeys(chromedp.ID("code"), d1),
			chromedp.Click(chromedp.ID("search-go")),
			chromedp.WaitVisible(chromedp.ID("steps")),
		)
		title := run(t, admin, "title", chromedp.Text(chromedp.ID("title")))
		if !strings.Contains(title, d1) {
			t.Fatalf("title %q", title)
		}
		states := js[string](t, admin, `Array.from(document.querySelectorAll("#steps tbody tr")).map(r => r.dataset.step + "=" + r.dataset.state).join(",")`)
		if states != "verify=completed,tax=in_progress,certificate=pending" {
			t.Errorf("steps %s", states)
		}
		nodes := js[string](t, admin, `Array.from(document.querySelectorAll("#dag g.node")).map(g => g.dataset.step + "=" + g.dataset.state).join(",")`)
		if nodes != "verify=completed,tax=in_progress,certificate=pending" {
			t.Errorf("DAG nodes %s", nodes)
		}
		if n := js[int](t, admin, `document.querySelectorAll("#dag path[marker-end]").length`); n != 2 {
			t.Errorf("DAG has %d edges, want 2", n)
		}
		tl := js[string](t, admin, `document.querySelector("#timeline").innerText`)
		for _, want := range []string{"dossier.submitted", "dossier.assigned", "dossier.step.completed"} {
			if !strings.Contains(tl, want) {
				t.Errorf("timeline lacks %s", want)
			}
		}
		screenshot(t, admin, "dossier")
	})

	t.Run("a dossier through a supplement", func(t *testing.T) {
		s.post(t, "VPDK", event("VPDK", "dossier.supplement.requested", "supp-"+d2, d2,
			map[string]any{"step": "verify", "reason": "Thiếu giấy chứng nhận", "missing": []string{"gcn.pdf"}}))
		s.waitStatus(t, d2, "awaiting_supplement")
		_, text := open(t, admin, s.base+"/console/dossiers/"+d2)
		if !strings.Contains(text, "Chờ bổ sung") || !strings.Contains(text, "5)") {
			t.Errorf("awaiting supplement not shown:\n%s", text)
		}
		if !js[bool](t, admin, `!!document.querySelector("#paused")`) {
			t.Error("no paused notice")
		}
		screenshot(t, admin, "supplement")
		s.post(t, "HCC", event("HCC", "dossier.supplemented", "suppd-"+d2, d2,
			map[string]any{"documents": []any{map[string]any{"name": "gcn.pdf", "url": "https://hcc.example.gov.vn/d/gcn", "sha256": strings.Repeat("cd", 32)}}, "note": "Đã nộp bổ sung"}))
		s.waitStatus(t, d2, "processing")
		s.post(t, "VPDK", completed("VPDK", d2, "verify"))
		s.waitStep(t, d2, "tax", "in_progress")
		s.post(t, "THUE", completed("THUE", d2, "tax"))
		s.waitStep(t, d2, "certificate", "in_progress")
		s.post(t, "VPDK", completed("VPDK", d2, "certificate"))
		s.waitStatus(t, d2, "result_ready")
		_, text = open(t, admin, s.base+"/console/dossiers/"+d2)
		if !strings.Contains(text, "Đã có kết quả") || !strings.Contains(text, "9)") {
			t.Errorf("result_ready not shown:\n%s", text)
		}
		states := js[string](t, admin, `Array.from(document.querySelectorAll("#dag g.node")).map(g => g.dataset.state).join(",")`)
		if states != "completed,completed,completed" {
			t.Errorf("DAG states %s", states)
		}
		notes := js[string](t, admin, `document.querySelector('#steps tr[data-step="verify"]').innerText`)
		if !strings.Contains(notes, "Yêu cầu bổ sung") || !strings.Contains(notes, "Đã bổ sung") {
			t.Errorf("verify notes: %q", notes)
		}
	})

	t.Run("an overdue dossier", func(t *testing.T) {
		status, text := open(t, admin, s.base+"/console/overdue")
		if status != 200 {
			t.Fatalf("overdue page %d", status)
		}
		row := js[string](t, admin, fmt.Sprintf(`(document.querySelector('section[data-agency="VPDK"] tr[data-code="%s"]') || {}).className || "absent"`, d3))
		if row != "late-row" {
			t.Errorf("%s under VPDK: %q\n%s", d3, row, text)
		}
		screenshot(t, admin, "overdue")
		open(t, admin, s.base+"/console/dossiers/"+d3)
		if !js[bool](t, admin, `!!document.querySelector("#overdue")`) {
			t.Error("no overdue badge on the dossier")
		}
		// The dossier's own deadline (from its receipt in January) has
		// passed; its first step was assigned today and is not late.
		if left := js[string](t, admin, `document.querySelector("#left").className + " " + document.querySelector("#left").innerText`); !strings.HasPrefix(left, "late quá") {
			t.Errorf("time left %q", left)
		}
		_, text = open(t, admin, s.base+"/console/dossiers?overdue=true")
		if !strings.Contains(text, d3) || strings.Contains(text, d1) {
			t.Errorf("overdue filter:\n%s", text)
		}
	})

	t.Run("markup in fields is shown as text", func(t *testing.T) {
		open(t, admin, s.base+"/console/dossiers/"+d6)
		if n := js[int](t, admin, `document.scripts.length + document.querySelectorAll("img").length`); n != 0 {
			t.Errorf("%d script or img elements on the page", n)
		}
		text := mainText(t, admin)
		if !strings.Contains(text, xssStepName) || !strings.Contains(text, xssProcName) {
			t.Errorf("the names are not shown as text:\n%s", text)
		}
		svgText := js[string](t, admin, `document.querySelector("#dag text.n").textContent`)
		if svgText != xssStepName {
			t.Errorf("SVG label %q", svgText)
		}
	})

	t.Run("stats and health", func(t *testing.T) {
		status, text := open(t, admin, s.base+"/console/stats?from=2026-01-01&to=2030-01-01")
		if status != 200 || !js[bool](t, admin, `!!document.querySelector('#by-agency tr[data-key="HCC"] svg.bar')`) {
			t.Errorf("stats %d:\n%s", status, text)
		}
		screenshot(t, admin, "stats")
		_, text = open(t, admin, s.base+"/console/health")
		if js[string](t, admin, `document.querySelector("#ready").innerText`) != "Sẵn sàng" {
			t.Errorf("health:\n%s", text)
		}
		for _, role := range []string{"router", "projector", "delivery VPDK"} {
			if !js[bool](t, admin, fmt.Sprintf(`!!document.querySelector('#lag tr[data-role="%s"]')`, role)) {
				t.Errorf("no lag row for %s:\n%s", role, text)
			}
		}
		if !strings.Contains(text, "lienthong_events_accepted_total") {
			t.Errorf("no rates:\n%s", text)
		}
		screenshot(t, admin, "health")
	})

	t.Run("a cross-site POST is refused", func(t *testing.T) {
		// The attacker's page, on another site (localhost, not 127.0.0.1),
		// submits a replay form to the console while the admin is signed in.
		u, _ := url.Parse(s.base)
		evil := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			_, _ = io.WriteString(w, `<html><body onload="document.forms[0].submit()"><form method="post" action="`+s.base+
				`/console/dlq/replay"><input name="all" value="VPDK"><input name="csrf" value="guess"></form></body></html>`)
		})}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		go func() { _ = evil.Serve(ln) }()
		defer evil.Close()
		_, port, _ := net.SplitHostPort(ln.Addr().String())
		do(t, admin, "attacker page", chromedp.Navigate("http://localhost:"+port+"/"),
			chromedp.WaitVisible(chromedp.ID("error")))
		loc := run(t, admin, "location", chromedp.Location())
		if !strings.HasPrefix(loc, s.base+"/console/dlq/replay") {
			t.Errorf("landed on %s (console at %s)", loc, u.Host)
		}
		if text := mainText(t, admin); !strings.Contains(text, "trang khác đã bị từ chối") {
			t.Errorf("refusal page:\n%s", text)
		}
		if !contains(s.dlqSubjects(t), d5) {
			t.Fatal("the cross-site POST replayed the dead letter")
		}
		// Without a browser: a valid session and token but a foreign
		// Origin, and the right origin without the token, are refused too.
		c, csrf := httpSignIn(t, s.base, "admin")
		for name, set := range map[string]func(r *http.Request){
			"foreign origin": func(r *http.Request) { r.Header.Set("Origin", "http://evil.example") },
			"no csrf token":  func(r *http.Request) { r.Header.Set("Origin", s.base) },
		} {
			form := url.Values{"all": {"VPDK"}}
			if name == "foreign origin" {
				form.Set("csrf", csrf)
			}
			req, _ := http.NewRequest(http.MethodPost, s.base+"/console/dlq/replay", strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			set(req)
			resp, err := c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusForbidden {
				t.Errorf("%s: %d, want 403", name, resp.StatusCode)
			}
		}
		if !contains(s.dlqSubjects(t), d5) {
			t.Fatal("a refused POST replayed the dead letter")
		}
	})

	t.Run("replay a dead letter, then it is delivered", func(t *testing.T) {
		status, text := open(t, admin, s.base+"/console/dlq")
		if status != 200 || !strings.Contains(text, d5) || !strings.Contains(text, "400") {
			t.Fatalf("dlq page %d:\n%s", status, text)
		}
		screenshot(t, admin, "dlq")
		s.sim.setFail(d5, false)
		do(t, admin, "select and confirm",
			chromedp.Click(chromedp.CSS(`#dlq input[type=checkbox]`)),
			chromedp.Click(chromedp.ID("replay-selected")),
			chromedp.WaitVisible(chromedp.ID("confirm")),
		)
		if text := mainText(t, admin); !strings.Contains(text, d5) || !strings.Contains(text, "Xác nhận") {
			t.Errorf("confirmation page:\n%s", text)
		}
		screenshot(t, admin, "dlq-confirm")
		do(t, admin, "replay", chromedp.Click(chromedp.ID("replay-go")), chromedp.WaitVisible(chromedp.ID("done")))
		if done := run(t, admin, "done", chromedp.Text(chromedp.ID("done"))); !strings.Contains(done, "1 sự kiện") {
			t.Errorf("result: %q", done)
		}
		deadline := time.Now().Add(30 * time.Second)
		for !s.sim.delivered(d5, "dossier.assigned") {
			if time.Now().After(deadline) {
				t.Fatal("the replayed event was not delivered")
			}
			time.Sleep(50 * time.Millisecond)
		}
		_, text = open(t, admin, s.base+"/console/dlq")
		if strings.Contains(text, d5) {
			t.Errorf("still listed after the replay:\n%s", text)
		}
	})

	t.Run("an agency sees its own only", func(t *testing.T) {
		ubnd := browser(t, exe)
		signIn(t, ubnd, s.base, "UBND")
		if js[bool](t, ubnd, `!!document.querySelector('header a[href="/console/dlq"]')`) {
			t.Error("the agency is offered the dead letters")
		}
		_, text := open(t, ubnd, s.base+"/console/dossiers")
		if !strings.Contains(text, "0 hồ sơ") {
			t.Errorf("UBND's list:\n%s", text)
		}
		status, text := open(t, ubnd, s.base+"/console/dossiers/"+d1)
		if status != 404 || !strings.Contains(text, "không có quyền xem") || strings.Contains(text, "Thẩm định") {
			t.Errorf("off-route dossier: %d\n%s", status, text)
		}
		status, text = open(t, ubnd, s.base+"/console/dlq")
		if status != 403 || strings.Contains(text, d5) {
			t.Errorf("DLQ as an agency: %d\n%s", status, text)
		}
		// THUE holds a step of d1: it sees it, and only its own rows in stats.
		thue := browser(t, exe)
		signIn(t, thue, s.base, "THUE")
		status, text = open(t, thue, s.base+"/console/dossiers/"+d1)
		if status != 200 || !strings.Contains(text, "Xác định nghĩa vụ tài chính") {
			t.Errorf("THUE on its route: %d\n%s", status, text)
		}
		open(t, thue, s.base+"/console/stats?from=2026-01-01&to=2030-01-01")
		keys := js[string](t, thue, `Array.from(document.querySelectorAll("table.stats tbody tr")).map(r => r.dataset.key).join(",")`)
		for _, k := range strings.Split(keys, ",") {
			if k != "THUE" && k != "1.004227" && k != "" {
				t.Errorf("THUE's stats show %q (%s)", k, keys)
			}
		}
	})

	t.Run("English, bad input, expired sessions", func(t *testing.T) {
		open(t, admin, s.base+"/console/dossiers")
		do(t, admin, "switch", chromedp.Click(chromedp.ID("lang")), chromedp.WaitVisible(chromedp.ID("count")))
		if title := run(t, admin, "title", chromedp.Text(chromedp.ID("title"))); title != "Dossiers" {
			t.Errorf("English title %q", title)
		}
		_, text := open(t, admin, s.base+"/console/overdue")
		if !strings.Contains(text, "oldest first") {
			t.Errorf("English is not remembered:\n%s", text)
		}
		for u, want := range map[string]struct {
			status int
			text   string
		}{
			"/console/dossiers?status=bogus":                        {400, "A filter is not valid"},
			"/console/dossiers?limit=5000":                          {400, "Rows must be 1 to 1000"},
			"/console/dossiers?from=yesterday":                      {400, "A filter is not valid"},
			"/console/dossiers?cursor=garbage":                      {400, "A filter is not valid"},
			"/console/dossiers/HCC-20260101-9999":                   {404, "No such dossier"},
			"/console/dossiers/%3Cscript%3Ealert(1)%3C%2Fscript%3E": {404, "Not a dossier code"},
			"/console/stats?from=2026-13-45":                        {400, "Not a date"},
			"/console/nowhere":                                      {404, "No such page"},
		} {
			status, text := open(t, admin, s.base+u)
			if status != want.status || !strings.Contains(text, want.text) {
				t.Errorf("%s: %d, want %d %q:\n%s", u, status, want.status, want.text, text)
			}
			if strings.Contains(text, "goroutine") || strings.Contains(text, ".go:") {
				t.Errorf("%s shows internals:\n%s", u, text)
			}
		}
		if n := js[int](t, admin, `document.scripts.length`); n != 0 {
			t.Errorf("%d scripts", n)
		}
		open(t, admin, s.base+"/console/dossiers?lang=vi")
		// A session the server does not know (expired, or from before a
		// restart): a clear page, then the sign-in form.
		if _, err := chromedp.Call(admin, network.SetCookie, network.SetCookieParams{Name: "lienthong_console", Value: "expired-session",
			Domain: "127.0.0.1", Path: "/console/", SameSite: network.CookieSameSiteStrict}); err != nil {
			t.Fatal(err)
		}
		status, text := open(t, admin, s.base+"/console/dossiers")
		if status != 401 || !strings.Contains(text, "Phiên đăng nhập đã hết hạn") {
			t.Errorf("expired session: %d\n%s", status, text)
		}
		do(t, admin, "sign in again", chromedp.Click(chromedp.CSS(`#error a`)), chromedp.WaitVisible(chromedp.ID("token")))
	})

	t.Run("sign in with a bad token", func(t *testing.T) {
		b := browser(t, exe)
		do(t, b, "bad token",
			chromedp.Navigate(s.base+"/console/login"),
			chromedp.SendKeys(chromedp.ID("token"), "not-a-token"),
			chromedp.Click(chromedp.ID("signin")),
			chromedp.WaitVisible(chromedp.ID("login-error")),
		)
		screenshot(t, b, "login")
	})
}

func contains(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}
