// Package console is the operator console of `lienthong serve`: server-
// rendered pages under /console/ for the one-stop desk staff, the agencies'
// IT officers and the bus operator. It signs in with the same tokens as the
// API (agency or admin) into a server-side session, and reads everything
// through the authenticated /v1/ API in process, with the session's caller
// as the principal: an agency sees exactly what the API shows it, by the
// API's own rules, never by a second copy of them.
//
// Pages are html/template (every value escaped), in Vietnamese by default
// and English on request (?lang=en, remembered in a cookie); the procedure
// DAG and the bar charts are inline SVG drawn on the server; there is no
// JavaScript. Every POST needs the session's CSRF token and a same-origin
// Origin (or Referer) header.
package console

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/subtle"
	"embed"
	"encoding/base64"
	"encoding/json"
	"errors"
	"html/template"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/lienthong/lienthong/internal/auth"
	"github.com/lienthong/lienthong/internal/config"
)

//go:embed templates/*.html static/*
var files embed.FS

// Prefix is where the console is mounted.
const Prefix = "/console/"

// Options wire the console into the process.
type Options struct {
	// API is the authenticated API mux (/v1/...), without its bearer
	// middleware: the console sets the caller of the session with
	// auth.WithPrincipal.
	API http.Handler
	// Authenticate checks a sign-in token exactly as the API checks a
	// bearer token (auth.Authenticator.Authenticate).
	Authenticate func(r *http.Request) (auth.Principal, string)
	// Config gives agency and procedure names, the routes drawn as DAGs and
	// the calendar of "time left".
	Config *config.Config
	// NotReady returns why the process is not ready, "" when it is.
	NotReady func(ctx context.Context) string
	// Lag returns the consumer lag per role (optional).
	Lag func(ctx context.Context) ([]LagRow, error)
	// Metrics is the process's registry; the health page shows rates from it.
	Metrics prometheus.Gatherer
	// SessionTTL is how long a session lives without use (default 30m);
	// SessionMax bounds it from sign-in (default 12h).
	SessionTTL, SessionMax time.Duration
	Now                    func() time.Time
	Logger                 *slog.Logger
}

// LagRow is the consumer lag of one consumer group.
type LagRow struct {
	Role  string // router, projector, delivery
	Group string
	Topic string
	Lag   int64
	Err   string
}

// Console serves /console/.
type Console struct {
	o        Options
	mux      *http.ServeMux
	pages    map[string]*template.Template
	sessions *sessions
	rates    *sampler
}

// New returns the console handler; mount it at Prefix.
func New(o Options) *Console {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.SessionTTL <= 0 {
		o.SessionTTL = 30 * time.Minute
	}
	if o.SessionMax <= 0 {
		o.SessionMax = 12 * time.Hour
	}
	c := &Console{o: o, mux: http.NewServeMux(), sessions: newSessions(o.SessionTTL, o.SessionMax, o.Now)}
	c.rates = newSampler(o.Metrics, o.Now)
	c.pages = parsePages()
	static, _ := fs.Sub(files, "static")
	c.mux.Handle("GET /console/static/", http.StripPrefix("/console/static/", cacheStatic(http.FileServerFS(static))))
	c.mux.HandleFunc("GET /console/{$}", c.home)
	c.mux.HandleFunc("GET /console/login", c.loginPage)
	c.mux.HandleFunc("POST /console/login", c.login)
	c.mux.HandleFunc("POST /console/logout", c.signedIn(c.logout))
	c.mux.HandleFunc("GET /console/dossiers", c.signedIn(c.dossiers))
	c.mux.HandleFunc("GET /console/dossiers/{code}", c.signedIn(c.dossier))
	c.mux.HandleFunc("GET /console/overdue", c.signedIn(c.overdue))
	c.mux.HandleFunc("GET /console/stats", c.signedIn(c.stats))
	c.mux.HandleFunc("GET /console/dlq", c.signedIn(c.dlq))
	c.mux.HandleFunc("POST /console/dlq/confirm", c.signedIn(c.dlqConfirm))
	c.mux.HandleFunc("POST /console/dlq/replay", c.signedIn(c.dlqReplay))
	c.mux.HandleFunc("GET /console/health", c.signedIn(c.health))
	c.mux.HandleFunc("/console/", c.notFound)
	return c
}

// Run samples the metrics every 10 s for the health page's rates until ctx
// ends.
func (c *Console) Run(ctx context.Context) error {
	t := time.NewTicker(10 * time.Second)
	defer t.Stop()
	c.rates.sample()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			c.rates.sample()
		}
	}
}

func cacheStatic(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		h.ServeHTTP(w, r)
	})
}

// ServeHTTP sets the security headers of every page, catches a panic into
// a plain error page, and dispatches.
func (c *Console) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "same-origin")
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			c.o.Logger.Error("console: panic", "path", r.URL.Path, "panic", v)
			c.fail(w, r, nil, http.StatusInternalServerError, "err.internal", "")
		}
	}()
	c.mux.ServeHTTP(w, r)
}

// ---- sessions ----

const (
	sessionCookie = "lienthong_console"
	preCookie     = "lienthong_console_pre" // CSRF token of the sign-in form
	langCookie    = "lang"
)

type session struct {
	id      string
	p       auth.Principal
	csrf    string
	created time.Time
	seen    time.Time
}

type sessions struct {
	mu       sync.Mutex
	m        map[string]*session
	ttl, max time.Duration
	now      func() time.Time
}

func newSessions(ttl, max time.Duration, now func() time.Time) *sessions {
	return &sessions{m: map[string]*session{}, ttl: ttl, max: max, now: now}
}

func randomToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func (s *sessions) create(p auth.Principal) *session {
	now := s.now()
	ss := &session{id: randomToken(), p: p, csrf: randomToken(), created: now, seen: now}
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, o := range s.m { // sweep the expired ones
		if s.expired(o, now) {
			delete(s.m, id)
		}
	}
	s.m[ss.id] = ss
	return ss
}

func (s *sessions) expired(ss *session, now time.Time) bool {
	return now.Sub(ss.seen) > s.ttl || now.Sub(ss.created) > s.max
}

// get returns the live session of id; expired reports one that existed but
// ran out (or an unknown id, which looks the same to the user).
func (s *sessions) get(id string) (*session, bool) {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	ss, ok := s.m[id]
	if !ok {
		return nil, false
	}
	if s.expired(ss, now) {
		delete(s.m, id)
		return nil, false
	}
	ss.seen = now
	return ss, true
}

func (s *sessions) drop(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, id)
}

type ctxSession struct{}

func sessionOf(r *http.Request) *session {
	ss, _ := r.Context().Value(ctxSession{}).(*session)
	return ss
}

// signedIn requires a live session; a POST also needs its CSRF token.
func (c *Console) signedIn(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && !c.sameOrigin(r) {
			// Refused before anything else, signed in or not.
			c.fail(w, r, nil, http.StatusForbidden, "err.crossorigin", "")
			return
		}
		ck, err := r.Cookie(sessionCookie)
		if err != nil || ck.Value == "" {
			if r.Method == http.MethodGet {
				http.Redirect(w, r, "/console/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
				return
			}
			c.fail(w, r, nil, http.StatusUnauthorized, "err.session", "")
			return
		}
		ss, ok := c.sessions.get(ck.Value)
		if !ok {
			c.clearCookie(w, r, sessionCookie)
			c.fail(w, r, nil, http.StatusUnauthorized, "err.session", "")
			return
		}
		if r.Method == http.MethodPost {
			r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
			if !tokenEqual(r.PostFormValue("csrf"), ss.csrf) {
				c.fail(w, r, ss, http.StatusForbidden, "err.csrf", "")
				return
			}
		}
		h(w, r.WithContext(context.WithValue(r.Context(), ctxSession{}, ss)))
	}
}

func tokenEqual(a, b string) bool {
	return a != "" && subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

// sameOrigin refuses a request that a browser says came from another site
// or origin: Sec-Fetch-Site, else Origin, else Referer must name this
// origin. A request with none of them (not from a browser) passes to the
// CSRF token check.
func (c *Console) sameOrigin(r *http.Request) bool {
	switch r.Header.Get("Sec-Fetch-Site") {
	case "cross-site", "same-site":
		return false
	}
	self := "http://" + r.Host
	if r.TLS != nil {
		self = "https://" + r.Host
	}
	if o := r.Header.Get("Origin"); o != "" {
		return o == self
	}
	if ref := r.Header.Get("Referer"); ref != "" {
		return ref == self || strings.HasPrefix(ref, self+"/")
	}
	return true
}

func (c *Console) setCookie(w http.ResponseWriter, r *http.Request, name, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: value, Path: Prefix, MaxAge: maxAge,
		HttpOnly: true, Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode})
}

func (c *Console) clearCookie(w http.ResponseWriter, r *http.Request, name string) {
	c.setCookie(w, r, name, "", -1)
}

// ---- the API, in process ----

// apiError is a problem the API answered.
type apiError struct {
	Status int
	Type   string `json:"type"`
	Title  string `json:"title"`
	Detail string `json:"detail"`
}

func (e *apiError) Error() string { return e.Detail }

// recorder is a minimal http.ResponseWriter for in-process API calls.
type recorder struct {
	h    http.Header
	code int
	body bytes.Buffer
}

func (rr *recorder) Header() http.Header { return rr.h }
func (rr *recorder) WriteHeader(code int) {
	if rr.code == 0 {
		rr.code = code
	}
}
func (rr *recorder) Write(b []byte) (int, error) {
	if rr.code == 0 {
		rr.code = http.StatusOK
	}
	return rr.body.Write(b)
}

// call runs one API request as the session's caller and decodes a 2xx JSON
// answer into out.
func (c *Console) call(ctx context.Context, ss *session, method, path string, q url.Values, out any) error {
	u := path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	req, err := http.NewRequestWithContext(auth.WithPrincipal(ctx, ss.p), method, u, nil)
	if err != nil {
		return &apiError{Status: http.StatusBadRequest, Detail: err.Error()}
	}
	req.RemoteAddr = "console"
	rr := &recorder{h: http.Header{}}
	c.o.API.ServeHTTP(rr, req)
	if rr.code == 0 {
		rr.code = http.StatusOK
	}
	if rr.code >= 300 {
		e := &apiError{}
		_ = json.Unmarshal(rr.body.Bytes(), e)
		e.Status = rr.code
		return e
	}
	if out == nil {
		return nil
	}
	if err := json.NewDecoder(io.Reader(&rr.body)).Decode(out); err != nil {
		return &apiError{Status: http.StatusBadGateway, Detail: "the API answered something the console cannot read"}
	}
	return nil
}

// ---- pages ----

// page is what every template gets.
type page struct {
	T       func(key string, args ...any) string
	Lang    string
	Other   string // the other language, for the switch
	LangURL string // this page in the other language
	Title   string
	Nav     string
	Who     string
	Admin   bool
	CSRF    string
	Signed  bool
	Flash   string
	Error   string
	Status  int
	Data    any
	Now     time.Time
	Version string
}

func (c *Console) newPage(w http.ResponseWriter, r *http.Request, ss *session, nav string) *page {
	lang := c.lang(w, r)
	p := &page{Lang: lang, Other: "en", Nav: nav, Now: c.o.Now()}
	if lang == "en" {
		p.Other = "vi"
	}
	p.T = translator(lang)
	q := url.Values{}
	if r.Method == http.MethodGet {
		q = r.URL.Query()
	}
	q.Set("lang", p.Other)
	p.LangURL = r.URL.Path + "?" + q.Encode()
	if r.Method != http.MethodGet {
		p.LangURL = "/console/dossiers?" + q.Encode()
	}
	if ss != nil {
		p.Signed, p.Admin, p.CSRF = true, ss.p.Admin, ss.csrf
		p.Who = ss.p.Agency
		if p.Who == "" {
			p.Who = "admin"
		} else if ag, ok := c.o.Config.Agency(p.Who); ok && ag.Name != "" {
			p.Who = ag.Code + " · " + ag.Name
		}
	}
	return p
}

// lang is the page language: ?lang= (remembered in a cookie), the cookie,
// else Vietnamese.
func (c *Console) lang(w http.ResponseWriter, r *http.Request) string {
	if l := r.URL.Query().Get("lang"); l == "vi" || l == "en" {
		http.SetCookie(w, &http.Cookie{Name: langCookie, Value: l, Path: Prefix, MaxAge: 365 * 24 * 3600,
			HttpOnly: true, Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode})
		return l
	}
	if ck, err := r.Cookie(langCookie); err == nil && (ck.Value == "vi" || ck.Value == "en") {
		return ck.Value
	}
	return "vi"
}

func (c *Console) render(w http.ResponseWriter, r *http.Request, name string, status int, p *page) {
	t, ok := c.pages[name]
	if !ok {
		panic("console: no template " + name)
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", p); err != nil {
		c.o.Logger.Error("console: render", "page", name, "err", err)
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = io.WriteString(w, "console: the page could not be drawn\n")
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if status == 0 {
		status = http.StatusOK
	}
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// fail shows the error page: a message from the catalog (key) and a detail.
func (c *Console) fail(w http.ResponseWriter, r *http.Request, ss *session, status int, key, detail string) {
	p := c.newPage(w, r, ss, "")
	p.Status = status
	p.Title = p.T(key)
	p.Error = detail
	c.render(w, r, "error", status, p)
}

// failAPI shows the page of an API error.
func (c *Console) failAPI(w http.ResponseWriter, r *http.Request, ss *session, err error) {
	var e *apiError
	if !errors.As(err, &e) {
		c.fail(w, r, ss, http.StatusInternalServerError, "err.internal", "")
		return
	}
	key := "err.api"
	switch e.Status {
	case http.StatusNotFound:
		key = "err.notfound"
	case http.StatusForbidden:
		key = "err.forbidden"
	case http.StatusBadRequest:
		key = "err.badfilter"
	case http.StatusServiceUnavailable:
		key = "err.unavailable"
	}
	status := e.Status
	if status < 400 {
		status = http.StatusBadGateway
	}
	c.fail(w, r, ss, status, key, e.Detail)
}

func (c *Console) notFound(w http.ResponseWriter, r *http.Request) {
	var ss *session
	if ck, err := r.Cookie(sessionCookie); err == nil {
		ss, _ = c.sessions.get(ck.Value)
	}
	c.fail(w, r, ss, http.StatusNotFound, "err.nopage", "")
}

func (c *Console) home(w http.ResponseWriter, r *http.Request) {
	if ck, err := r.Cookie(sessionCookie); err == nil {
		if _, ok := c.sessions.get(ck.Value); ok {
			http.Redirect(w, r, "/console/dossiers", http.StatusSeeOther)
			return
		}
	}
	http.Redirect(w, r, "/console/login", http.StatusSeeOther)
}

// safeNext keeps a post-sign-in redirect inside the console.
func safeNext(s string) string {
	if strings.HasPrefix(s, Prefix) && !strings.HasPrefix(s, "//") && !strings.Contains(s, "\\") {
		return s
	}
	return "/console/dossiers"
}

func (c *Console) loginPage(w http.ResponseWriter, r *http.Request) {
	pre := randomToken()
	c.setCookie(w, r, preCookie, pre, 3600)
	p := c.newPage(w, r, nil, "")
	p.Title = p.T("login.title")
	p.CSRF = pre
	p.Data = map[string]string{"Next": safeNext(r.URL.Query().Get("next"))}
	c.render(w, r, "login", http.StatusOK, p)
}

func (c *Console) login(w http.ResponseWriter, r *http.Request) {
	if !c.sameOrigin(r) {
		c.fail(w, r, nil, http.StatusForbidden, "err.crossorigin", "")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	ck, err := r.Cookie(preCookie)
	if err != nil || !tokenEqual(r.PostFormValue("csrf"), ck.Value) {
		c.fail(w, r, nil, http.StatusForbidden, "err.csrf", "")
		return
	}
	tok := strings.TrimSpace(r.PostFormValue("token"))
	ar := r.Clone(r.Context())
	ar.Header = http.Header{"Authorization": {"Bearer " + tok}}
	pr, why := c.o.Authenticate(ar)
	if tok == "" || why != "" {
		p := c.newPage(w, r, nil, "")
		pre := randomToken()
		c.setCookie(w, r, preCookie, pre, 3600)
		p.Title = p.T("login.title")
		p.CSRF = pre
		p.Error = p.T("login.bad")
		p.Data = map[string]string{"Next": safeNext(r.PostFormValue("next"))}
		c.render(w, r, "login", http.StatusUnauthorized, p)
		return
	}
	ss := c.sessions.create(pr)
	c.clearCookie(w, r, preCookie)
	c.setCookie(w, r, sessionCookie, ss.id, 0)
	http.Redirect(w, r, safeNext(r.PostFormValue("next")), http.StatusSeeOther)
}

func (c *Console) logout(w http.ResponseWriter, r *http.Request) {
	c.sessions.drop(sessionOf(r).id)
	c.clearCookie(w, r, sessionCookie)
	http.Redirect(w, r, "/console/login", http.StatusSeeOther)
}
