package delivery

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/lienthong/lienthong/adapters"
	"github.com/lienthong/lienthong/internal/kafkabus"
	"github.com/lienthong/lienthong/internal/kafkabus/kafkatest"
)

func TestTrackerCommitsOnlyTheFinishedPrefix(t *testing.T) {
	tr := newTracker()
	for _, off := range []int64{5, 6, 8, 9} { // 7 absent: a gap in the log
		tr.add(off)
	}
	if _, ok := tr.toCommit(); ok {
		t.Fatal("nothing finished yet")
	}
	steps := []struct {
		finish int64
		want   int64
		ok     bool
	}{
		{6, -1, false}, // 5 still open
		{9, -1, false},
		{5, 7, true}, // 5 and 6 done: next to read is 7
		{8, 10, true},
	}
	for _, s := range steps {
		tr.finish(s.finish)
		got, ok := tr.toCommit()
		if ok != s.ok || (ok && got != s.want) {
			t.Fatalf("after finishing %d: toCommit = %d, %v; want %d, %v", s.finish, got, ok, s.want, s.ok)
		}
		if ok {
			tr.committed(got)
		}
	}
	if _, ok := tr.toCommit(); ok {
		t.Fatal("toCommit after committing everything")
	}
}

func publish(t *testing.T, b *kafkabus.Bus, agency string, keys ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for i, k := range keys {
		rec := kafkabus.Record(b.Topic(kafkabus.InboxTopic(agency)), k, []byte(fmt.Sprintf(`{"id":"%s-%d","subject":"%s"}`, k, i, k)))
		if err := b.Writer().WriteMessages(ctx, rec); err != nil {
			t.Fatal(err)
		}
	}
}

func run(t *testing.T, b *kafkabus.Bus, agency string, d adapters.Driver, o Options) {
	e, err := New(Config{Agency: agency, Driver: d, Brokers: b.Brokers(), Dialer: b.Dialer(), Writer: b.Writer(),
		InboxTopic: b.Topic(kafkabus.InboxTopic(agency)), DLQTopic: b.Topic(kafkabus.DLQTopic(agency)), Options: o})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = e.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
}

// A Retry-After hint sets the wait before the next attempt, up to the cap.
func TestRetryAfterHonouredAndCapped(t *testing.T) {
	cases := []struct {
		name       string
		retryAfter time.Duration
		maxBackoff time.Duration
		minGap     time.Duration
		maxGap     time.Duration
	}{
		{"honoured", 400 * time.Millisecond, 5 * time.Second, 400 * time.Millisecond, 2 * time.Second},
		{"capped", time.Hour, 150 * time.Millisecond, 100 * time.Millisecond, time.Second},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := kafkatest.Start(t, 1, "RA")
			var mu sync.Mutex
			var at []time.Time
			done := make(chan struct{})
			d := adapters.DriverFunc(func(ctx context.Context, m *adapters.Message) error {
				mu.Lock()
				defer mu.Unlock()
				at = append(at, time.Now())
				if len(at) == 1 {
					return &adapters.StatusError{Status: 503, RetryAfter: c.retryAfter}
				}
				if len(at) == 2 {
					close(done)
				}
				return nil
			})
			publish(t, b, "RA", "HCC-20260303-0001")
			run(t, b, "RA", d, Options{MinBackoff: 10 * time.Millisecond, MaxBackoff: c.maxBackoff, FetchMaxWait: 500 * time.Millisecond})
			select {
			case <-done:
			case <-time.After(20 * time.Second):
				t.Fatal("no second attempt")
			}
			gap := at[1].Sub(at[0])
			if gap < c.minGap || gap > c.maxGap {
				t.Fatalf("gap between attempts %s, want within [%s, %s]", gap, c.minGap, c.maxGap)
			}
		})
	}
}

// With MaxInFlight records per partition unfinished, the engine stops
// fetching: no more than that many deliveries are ever started at once.
func TestBackpressure(t *testing.T) {
	b := kafkatest.Start(t, 1, "BP")
	var keys []string
	for i := 0; i < 30; i++ {
		keys = append(keys, fmt.Sprintf("HCC-20260303-%04d", i))
	}
	publish(t, b, "BP", keys...)
	release := make(chan struct{})
	var mu sync.Mutex
	started := map[string]bool{}
	d := adapters.DriverFunc(func(ctx context.Context, m *adapters.Message) error {
		mu.Lock()
		started[m.Subject] = true
		mu.Unlock()
		select {
		case <-release:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	})
	run(t, b, "BP", d, Options{MaxInFlight: 5, Concurrency: 100, FetchMaxWait: 500 * time.Millisecond, ShutdownTimeout: 100 * time.Millisecond})
	deadline := time.Now().Add(20 * time.Second)
	for {
		mu.Lock()
		n := len(started)
		mu.Unlock()
		if n >= 5 || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond)
	mu.Lock()
	n := len(started)
	mu.Unlock()
	if n != 5 {
		t.Fatalf("%d deliveries started with MaxInFlight 5", n)
	}
	close(release)
	deadline = time.Now().Add(20 * time.Second)
	for {
		mu.Lock()
		n = len(started)
		mu.Unlock()
		if n == 30 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("only %d of 30 delivered after release", n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// The agency-wide concurrency limit holds across dossiers.
func TestConcurrencyLimit(t *testing.T) {
	b := kafkatest.Start(t, 2, "CL")
	var keys []string
	for i := 0; i < 40; i++ {
		keys = append(keys, fmt.Sprintf("HCC-20260303-%04d", i))
	}
	publish(t, b, "CL", keys...)
	var mu sync.Mutex
	cur, peak, total := 0, 0, 0
	d := adapters.DriverFunc(func(ctx context.Context, m *adapters.Message) error {
		mu.Lock()
		cur++
		total++
		peak = max(peak, cur)
		mu.Unlock()
		time.Sleep(5 * time.Millisecond)
		mu.Lock()
		cur--
		mu.Unlock()
		return nil
	})
	run(t, b, "CL", d, Options{Concurrency: 3, FetchMaxWait: 500 * time.Millisecond})
	deadline := time.Now().Add(20 * time.Second)
	for {
		mu.Lock()
		n := total
		mu.Unlock()
		if n >= 40 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("only %d delivered", n)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if peak > 3 || peak < 2 {
		t.Fatalf("peak concurrency %d with limit 3", peak)
	}
}

// A record that is not a CloudEvent cannot block its partition: it is
// dead-lettered without calling the driver, and the next record flows.
func TestMalformedRecordIsDeadLettered(t *testing.T) {
	b := kafkatest.Start(t, 1, "MF")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	inbox := b.Topic(kafkabus.InboxTopic("MF"))
	if err := b.Writer().WriteMessages(ctx,
		kafkabus.Record(inbox, "HCC-20260303-0001", []byte(`not json`)),
		kafkabus.Record(inbox, "HCC-20260303-0001", []byte(`{"id":"ok","subject":"HCC-20260303-0001"}`))); err != nil {
		t.Fatal(err)
	}
	got := make(chan string, 2)
	run(t, b, "MF", adapters.DriverFunc(func(ctx context.Context, m *adapters.Message) error {
		got <- m.ID
		return nil
	}), Options{FetchMaxWait: 500 * time.Millisecond})
	select {
	case id := <-got:
		if id != "ok" {
			t.Fatalf("driver got %q", id)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the record after the malformed one was not delivered")
	}
	r := b.NewReader(kafka.ReaderConfig{GroupID: "check", Topic: b.Topic(kafkabus.DLQTopic("MF"))})
	defer r.Close()
	m, err := r.FetchMessage(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if string(m.Value) != "not json" || kafkabus.Header(m, kafkabus.HeaderAttempts) != "0" {
		t.Fatalf("dead letter %q attempts %q", m.Value, kafkabus.Header(m, kafkabus.HeaderAttempts))
	}
}
