package adaptertest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lienthong/lienthong/adapters"
)

// memSystem is a department system inside the test process: its driver
// calls it directly, so the suite can be checked without any protocol.
type memSystem struct{ Fake }

func (s *memSystem) Deliver(ctx context.Context, m *adapters.Message) error {
	switch s.Answer(Delivery{ID: m.ID, Subject: m.Subject, Body: m.Body}) {
	case Accept:
		return nil
	case Transient:
		return errors.New("mem: busy")
	case Reject:
		return adapters.Permanent(errors.New("mem: refused"))
	default: // Hang
		<-ctx.Done()
		return ctx.Err()
	}
}

// memHarness runs the suite on memSystem; features declares what it lacks,
// made records which cases asked for a driver.
type memHarness struct {
	features Features
	mu       *sync.Mutex
	made     *[]string
}

func (h memHarness) MakeDriver(t *testing.T, agency string) (adapters.Driver, System) {
	if h.made != nil {
		h.mu.Lock()
		*h.made = append(*h.made, t.Name()[strings.LastIndex(t.Name(), "/")+1:])
		h.mu.Unlock()
	}
	s := &memSystem{}
	return s, s
}

func (h memHarness) Features() Features { return h.features }

// A correct driver passes the whole suite, every case run (the zero
// Features claims everything).
func TestSuitePassesACorrectDriver(t *testing.T) {
	var mu sync.Mutex
	var made []string
	RunConformanceTests(t, memHarness{mu: &mu, made: &made})
	if len(made) != len(cases) {
		t.Errorf("%d cases made a driver, want all %d: %v", len(made), len(cases), made)
	}
}

// A harness that declares what its system cannot do has the cases that
// need it skipped, each with a message naming the feature; the others run.
func TestFeaturesSkipCases(t *testing.T) {
	var mu sync.Mutex
	var made []string
	h := memHarness{features: Features{NoTransient: true, NoReject: true, NoHang: true}, mu: &mu, made: &made}
	t.Run("suite", func(t *testing.T) { RunConformanceTests(t, h) })
	if got, want := strings.Join(made, ","), "DeliversInOrderPerDossier,NoLossAcrossRestart"; got != want {
		t.Errorf("cases run with every lack declared: %s, want %s", got, want)
	}
	for _, c := range []struct {
		f    Features
		name string
		want string
	}{
		{Features{NoTransient: true}, "RetriesTransientFailures", "NoTransient"},
		{Features{NoTransient: true}, "RetryingDossierDoesNotBlockOthers", "NoTransient"},
		{Features{NoTransient: true}, "NoAcknowledgementBeforeSuccess", "NoTransient"},
		{Features{NoReject: true}, "DeadLettersPermanentFailures", "NoReject"},
		{Features{NoHang: true}, "HonoursCancellation", "NoHang"},
		{Features{NoHang: true}, "RetriesTransientFailures", ""},
		{Features{NoTransient: true, NoReject: true, NoHang: true}, "DeliversInOrderPerDossier", ""},
		{Features{}, "HonoursCancellation", ""},
	} {
		for _, k := range cases {
			if k.name != c.name {
				continue
			}
			if got := k.needs.missing(c.f); !strings.HasPrefix(got, c.want) || (c.want == "") != (got == "") {
				t.Errorf("%s with %+v: skip reason %q, want one naming %q", c.name, c.f, got, c.want)
			}
		}
	}
}

// fatalTB captures the message of a Fatalf and stops the caller.
type fatalTB struct {
	testing.TB
	msg string
}

type fatalled struct{}

func (f *fatalTB) Fatalf(format string, args ...any) {
	f.msg = fmt.Sprintf(format, args...)
	panic(fatalled{})
}

// catchFatal runs fn and returns the message it failed with ("" if none).
func catchFatal(fn func()) (msg string) {
	defer func() {
		if r := recover(); r != nil {
			if _, ok := r.(fatalled); !ok {
				panic(r)
			}
		}
	}()
	fn()
	return ""
}

// A wait that times out says what became of each missing event instead of
// "timed out": here a driver that refuses everything for good (so every
// event is dead-lettered at once, the system never seeing it) and one that
// reports success without delivering (so offsets are committed past events
// the system never got).
func TestTimeoutSaysWhatHappened(t *testing.T) {
	for _, c := range []struct {
		name   string
		driver adapters.Driver
		want   []string
	}{
		{"permanent", adapters.DriverFunc(func(context.Context, *adapters.Message) error {
			return adapters.Permanent(errors.New("permanent error: the system refuses"))
		}), []string{
			"timed out after 1s waiting for every event",
			"observed: 0 of 2 expected events accepted by the system (0 deliveries in all, 0 distinct events); 2 dead letters; committed offsets [p0=2] of inbox ends [p0=2]",
			"HCC-20260303-0001/1 (partition 0, offset 0): dead-lettered after 1 attempt: urn:lienthong:problem:delivery-rejected permanent: permanent error: the system refuses; the system never saw it",
			"HCC-20260303-0001/2 (partition 0, offset 1): dead-lettered after 1 attempt:",
		}},
		{"liar", adapters.DriverFunc(func(context.Context, *adapters.Message) error { return nil }), []string{
			"0 of 2 expected events accepted by the system",
			"; 0 dead letters; committed offsets [p0=2]",
			"HCC-20260303-0001/1 (partition 0, offset 0): committed but never delivered; the system never saw it",
			"HCC-20260303-0001/2 (partition 0, offset 1): committed but never delivered",
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			cl := StartCluster(t, 1, agency)
			sys := &memSystem{}
			ftb := &fatalTB{TB: t}
			p := newProbe(ftb, cl, sys)
			p.setResponder(nil)
			Publish(t, cl, agency, 1, 2)
			Start(t, cl, agency, c.driver, Options())
			// Let the engine do what it does with both events.
			deadline := time.Now().Add(20 * time.Second)
			for Committed(t, cl, agency)[0] != 2 {
				if time.Now().After(deadline) {
					t.Fatalf("the engine did not finish both events: committed %v", Committed(t, cl, agency))
				}
				time.Sleep(50 * time.Millisecond)
			}
			catchFatal(func() { p.waitDelivered(time.Second, "every event", ids(1, 2, nil)) })
			if ftb.msg == "" {
				t.Fatal("the wait did not fail")
			}
			for _, w := range c.want {
				if !strings.Contains(ftb.msg, w) {
					t.Errorf("failure message lacks %q:\n%s", w, ftb.msg)
				}
			}
			t.Logf("the message:\n%s", ftb.msg)
		})
	}
}

// A system that answers transiently: the explanation counts its answers
// and says the event is still being retried, not committed.
func TestExplainRetrying(t *testing.T) {
	cl := StartCluster(t, 1, agency)
	sys := &memSystem{}
	p := newProbe(t, cl, sys)
	p.setResponder(func(Delivery) Outcome { return Transient })
	Publish(t, cl, agency, 1, 1)
	o := Options()
	o.MaxAttempts = 1000
	Start(t, cl, agency, sys, o)
	id := EventID(Dossier(0), 1)
	deadline := time.Now().Add(20 * time.Second)
	for len(p.answers(id)) < 3 {
		if time.Now().After(deadline) {
			t.Fatalf("the engine did not retry: %v", p.answers(id))
		}
		time.Sleep(20 * time.Millisecond)
	}
	got := p.explain([]string{id})
	for _, w := range []string{"HCC-20260303-0001/1 (partition 0, offset 0): not delivered yet; the system answered ", "times: transient, transient, transient", "0 dead letters"} {
		if !strings.Contains(got, w) {
			t.Errorf("explanation lacks %q:\n%s", w, got)
		}
	}
}

// The Recorder decodes CloudEvents by default, answers 204/503/400, keeps
// every request, records only what it accepted, answers 400 to what it
// cannot decode without asking the responder, and holds a Hang until the
// client gives up.
func TestRecorder(t *testing.T) {
	rec := NewRecorder(t, RecorderOptions{})
	var asked []string
	var mu sync.Mutex
	rec.SetResponder(func(d Delivery) Outcome {
		mu.Lock()
		asked = append(asked, d.ID)
		mu.Unlock()
		switch d.ID {
		case "t":
			return Transient
		case "r":
			return Reject
		case "h":
			return Hang
		}
		return Accept
	})
	post := func(ctx context.Context, body string) int {
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, rec.URL+"/x", strings.NewReader(body))
		req.Header.Set("X-Test", body)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	ctx := context.Background()
	for _, c := range []struct {
		body string
		want int
	}{
		{`{"id":"a","subject":"S"}`, 204},
		{`{"id":"t"}`, 503},
		{`{"id":"r"}`, 400},
		{`not json`, 400},
		{`{"subject":"no id"}`, 400},
	} {
		if got := post(ctx, c.body); got != c.want {
			t.Errorf("%s: status %d, want %d", c.body, got, c.want)
		}
	}
	hctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	start := time.Now()
	if got := post(hctx, `{"id":"h"}`); got != 0 {
		t.Errorf("hang: status %d, want no answer", got)
	}
	cancel()
	if el := time.Since(start); el < 150*time.Millisecond {
		t.Errorf("hang answered after %s", el)
	}
	got := rec.Received()
	if len(got) != 1 || got[0].ID != "a" || got[0].Subject != "S" || string(got[0].Body) != `{"id":"a","subject":"S"}` {
		t.Errorf("Received = %+v", got)
	}
	mu.Lock()
	if strings.Join(asked, ",") != "a,t,r,h" {
		t.Errorf("responder asked about %v, want a,t,r,h", asked)
	}
	mu.Unlock()
	reqs := rec.Requests()
	var outs []string
	for _, r := range reqs {
		s := r.Outcome.String()
		if r.Err != nil {
			s += "(err)"
		}
		outs = append(outs, s)
	}
	if got, want := strings.Join(outs, ","), "accept,transient,reject,reject(err),reject(err),hang"; got != want {
		t.Errorf("Requests outcomes %s, want %s", got, want)
	}
	if reqs[0].Method != http.MethodPost || reqs[0].Path != "/x" || reqs[0].Header.Get("X-Test") != `{"id":"a","subject":"S"}` {
		t.Errorf("request 0 = %+v", reqs[0])
	}
}
