package console

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lienthong/lienthong/internal/auth"
	"github.com/lienthong/lienthong/internal/config"
	"github.com/lienthong/lienthong/router"
)

const testConfig = `
listen: "127.0.0.1:0"
data_dir: "/tmp/unused"
admin_token_sha256: "f37837a0953cdad0b2908f982c310813daec9cf4f1950c7b82a22e8d277b0aad"
calendar:
  timezone: "Asia/Ho_Chi_Minh"
  workdays: [mon, tue, wed, thu, fri]
  office_hours: ["08:00-12:00", "13:30-17:00"]
agencies:
  - { code: HCC, name: "<script>alert('agency')</script>", receiver: true, token_sha256: "c21e88d87dac29c99b465d68bffef47aa34a612eaa44987d9371445279f0653d", delivery: { mode: pull } }
  - { code: VPDK, name: "VPDK", token_sha256: "b596a88edac417dfb86c506a2c0d841eb06ac8087f66c6f16fe6df56a0ec6618", delivery: { mode: pull } }
procedures:
  - code: "1.004227"
    name: "Land"
    deadline: 10d
    steps:
      - { id: verify, name: "Verify", agency: VPDK, deadline: 5d }
`

// fakeAPI answers like the tracking API, for the unit tests: one dossier
// whose step name holds markup, seen by the principal it was given.
type fakeAPI struct {
	mu   sync.Mutex
	seen []auth.Principal
}

func (f *fakeAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p, _ := auth.FromContext(r.Context())
	f.mu.Lock()
	f.seen = append(f.seen, p)
	f.mu.Unlock()
	due := time.Date(2026, 3, 17, 17, 0, 0, 0, time.UTC)
	switch {
	case r.URL.Path == "/v1/dossiers/HCC-20260303-0001":
		d := router.DossierView{Code: "HCC-20260303-0001", Procedure: "1.004227", Receiver: "HCC", Status: "processing", PortalStatus: 4,
			ReceivedAt: due.Add(-240 * time.Hour), DueAt: due,
			Steps:    []router.StepView{{ID: "verify", Name: `<script>alert("step")</script>`, Agency: "VPDK", Status: "in_progress", DueAt: &due}},
			Timeline: []router.Entry{{ID: "x", Type: "dossier.submitted", Source: "urn:lienthong:agency:HCC", Time: due}}}
		first := due.Add(-48 * time.Hour)
		d.OriginalDueAt = &first
		d.Obligation = &router.Obligation{Step: "tax", NoticeNumber: "TB-<b>1</b>", AmountVND: 12500000, DueDate: "2026-04-01"}
		_ = json.NewEncoder(w).Encode(d)
	case r.URL.Path == "/v1/dossiers":
		if r.URL.Query().Get("status") == "bogus" {
			w.WriteHeader(400)
			_, _ = io.WriteString(w, `{"type":"urn:lienthong:problem:bad-request","detail":"unknown status \"bogus\""}`)
			return
		}
		_, _ = io.WriteString(w, `{"items":[],"next":""}`)
	default:
		w.WriteHeader(404)
		_, _ = io.WriteString(w, `{"type":"urn:lienthong:problem:not-found","detail":"no dossier"}`)
	}
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func newTest(t *testing.T) (*httptest.Server, *fakeAPI, *clock) {
	t.Helper()
	cfg, err := config.Parse([]byte(testConfig), "t.yaml")
	if err != nil {
		t.Fatal(err)
	}
	api := &fakeAPI{}
	clk := &clock{t: time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC)}
	authn := auth.New(cfg)
	c := New(Options{API: api, Authenticate: authn.Authenticate, Config: cfg, Now: clk.now, SessionTTL: 10 * time.Minute})
	srv := httptest.NewServer(c)
	t.Cleanup(srv.Close)
	return srv, api, clk
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func signIn(t *testing.T, base, token string) (*http.Client, string) {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	resp, err := c.Get(base + "/console/login")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	pre := csrfRE.FindSubmatch(body)
	resp, err = c.PostForm(base+"/console/login", url.Values{"csrf": {string(pre[1])}, "token": {token}})
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	m := csrfRE.FindSubmatch(body)
	if resp.StatusCode != 200 || m == nil {
		t.Fatalf("sign in: %d\n%s", resp.StatusCode, body)
	}
	return c, string(m[1])
}

func get(t *testing.T, c *http.Client, u string) (int, string) {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestSessionCookieAndPrincipal(t *testing.T) {
	srv, api, _ := newTest(t)
	c, _ := signIn(t, srv.URL, "dev-token-VPDK")
	u, _ := url.Parse(srv.URL + "/console/")
	cks := c.Jar.Cookies(u)
	if len(cks) != 1 || cks[0].Name != sessionCookie {
		t.Fatalf("cookies %v", cks)
	}
	// The jar hides the attributes: read them from a fresh sign-in.
	resp, _ := http.Get(srv.URL + "/console/login")
	resp.Body.Close()
	var pre string
	for _, ck := range resp.Cookies() {
		if ck.Name == preCookie {
			pre = ck.Raw
		}
	}
	if !strings.Contains(pre, "HttpOnly") || !strings.Contains(pre, "SameSite=Strict") {
		t.Errorf("sign-in cookie %q", pre)
	}
	get(t, c, srv.URL+"/console/dossiers/HCC-20260303-0001")
	api.mu.Lock()
	last := api.seen[len(api.seen)-1]
	api.mu.Unlock()
	if last != (auth.Principal{Agency: "VPDK"}) {
		t.Errorf("the API saw %+v", last)
	}
}

func TestEscaping(t *testing.T) {
	srv, _, _ := newTest(t)
	c, _ := signIn(t, srv.URL, "dev-token-HCC")
	status, body := get(t, c, srv.URL+"/console/dossiers/HCC-20260303-0001")
	if status != 200 {
		t.Fatalf("%d\n%s", status, body)
	}
	if strings.Contains(body, "<script>") {
		t.Errorf("unescaped markup:\n%s", body)
	}
	// The workflow's lines: the first appointment, the obligation (its
	// notice number escaped too).
	for _, want := range []string{`id="firstdue"`, `thông báo TB-&lt;b&gt;1&lt;/b&gt;, 12500000 đồng, chưa nộp, hạn 2026-04-01`} {
		if !strings.Contains(body, want) {
			t.Errorf("missing %s", want)
		}
	}
	for _, want := range []string{`&lt;script&gt;alert(&#34;step&#34;)&lt;/script&gt;`, `&lt;script&gt;alert(&#39;agency&#39;)&lt;/script&gt;`} {
		if !strings.Contains(body, want) {
			t.Errorf("missing %s", want)
		}
	}
}

func TestExpiredSession(t *testing.T) {
	srv, _, clk := newTest(t)
	c, _ := signIn(t, srv.URL, "dev-token-HCC")
	if status, _ := get(t, c, srv.URL+"/console/dossiers"); status != 200 {
		t.Fatalf("fresh session: %d", status)
	}
	clk.add(11 * time.Minute)
	status, body := get(t, c, srv.URL+"/console/dossiers")
	if status != 401 || !strings.Contains(body, "Phiên đăng nhập đã hết hạn") {
		t.Errorf("expired: %d\n%s", status, body)
	}
	if status, _ := get(t, c, srv.URL+"/console/dossiers"); status != 303 && status != 200 {
		t.Errorf("after expiry: %d", status) // the cookie was cleared: the sign-in form
	}
}

func TestPostNeedsTokenAndOrigin(t *testing.T) {
	srv, _, _ := newTest(t)
	c, csrf := signIn(t, srv.URL, "dev-token-admin")
	post := func(form url.Values, origin string) int {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/console/logout", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if origin != "" {
			req.Header.Set("Origin", origin)
		}
		c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if s := post(url.Values{"csrf": {csrf}}, "http://evil.example"); s != 403 {
		t.Errorf("foreign origin: %d", s)
	}
	if s := post(url.Values{"csrf": {"wrong"}}, srv.URL); s != 403 {
		t.Errorf("wrong token: %d", s)
	}
	if s := post(url.Values{}, srv.URL); s != 403 {
		t.Errorf("no token: %d", s)
	}
	if s := post(url.Values{"csrf": {csrf}}, srv.URL); s != 303 {
		t.Errorf("good token: %d", s)
	}
	// The sign-in form is protected too.
	resp, err := http.PostForm(srv.URL+"/console/login", url.Values{"token": {"dev-token-admin"}, "csrf": {"x"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 403 {
		t.Errorf("sign-in without its cookie: %d", resp.StatusCode)
	}
}

func TestBadInputPages(t *testing.T) {
	srv, _, _ := newTest(t)
	c, _ := signIn(t, srv.URL, "dev-token-admin")
	for u, want := range map[string]int{
		"/console/dossiers?status=bogus":         400,
		"/console/dossiers?limit=0":              400,
		"/console/dossiers/HCC-20260303-0002":    404,
		"/console/dossiers/not%20a%20code":       404,
		"/console/stats?from=31-12-2026":         400,
		"/console/dossiers?lang=en&status=bogus": 400,
		"/console/x/y":                           404,
	} {
		status, body := get(t, c, srv.URL+u)
		if status != want || !strings.Contains(body, `id="error"`) {
			t.Errorf("%s: %d, want %d\n%s", u, status, want, body)
		}
	}
	_, body := get(t, c, srv.URL+"/console/dossiers?lang=en&status=bogus")
	if !strings.Contains(body, "A filter is not valid") || !strings.Contains(body, "unknown status &#34;bogus&#34;") {
		t.Errorf("English error page:\n%s", body)
	}
}

func TestValidCode(t *testing.T) {
	for s, want := range map[string]bool{
		"HCC-20260303-0001": true, "000.00.01.H22-20260303-0001": true, "G09.20-20260609-0092637": true,
		"hcc-20260303-0001": false, "HCC-2026033-0001": false, "HCC-20260303-001": false, "<script>": false, "": false,
		".HCC-20260303-0001": false,
	} {
		if validCode(s) != want {
			t.Errorf("validCode(%q) = %v", s, !want)
		}
	}
}
