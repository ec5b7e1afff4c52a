package routing

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/lienthong/lienthong/event"
	"github.com/lienthong/lienthong/internal/kafkabus"
	"github.com/lienthong/lienthong/internal/kafkabus/kafkatest"
	"github.com/lienthong/lienthong/router"
)

// record is one record read back from a topic.
type record struct {
	topic string
	key   string
	value []byte
}

// readAll reads every record currently in a topic (all partitions, up to
// their high-water marks) with plain fetch requests.
func readAll(t testing.TB, bus *kafkabus.Bus, topic string) []record {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	parts, err := bus.Partitions(ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	cl := bus.Client()
	var out []record
	for _, p := range parts {
		first, hwm, err := partitionBounds(ctx, bus, topic, p)
		if err != nil {
			t.Fatal(err)
		}
		for off := first; off < hwm; {
			res, err := cl.Fetch(ctx, &kafka.FetchRequest{Topic: topic, Partition: p, Offset: off, MinBytes: 1, MaxBytes: 8 << 20, MaxWait: 50 * time.Millisecond})
			if err == nil {
				err = res.Error
			}
			if err != nil {
				t.Fatalf("fetch %s/%d@%d: %v", topic, p, off, err)
			}
			for {
				r, err := res.Records.ReadRecord()
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				if r.Offset < off {
					continue
				}
				var k, v []byte
				if r.Key != nil {
					k, _ = io.ReadAll(r.Key)
				}
				if r.Value != nil {
					v, _ = io.ReadAll(r.Value)
				}
				out = append(out, record{topic, string(k), v})
				off = r.Offset + 1
			}
		}
	}
	return out
}

// scenario is the events of many dossiers, in order, with the outputs the
// pure engine makes from them: what the runner must produce exactly once.
type scenario struct {
	records  []kafka.Message
	expected map[string][]byte // recipient/id -> event bytes
	final    map[string]string // dossier -> final status
}

func buildScenario(t testing.TB, bus *kafkabus.Bus, dossiers int) *scenario {
	e := router.NewEngine(testRoutes())
	sc := &scenario{expected: map[string][]byte{}, final: map[string]string{}}
	topic := bus.Topic(kafkabus.TopicEvents)
	n := 0
	for i := 0; i < dossiers; i++ {
		code := fmt.Sprintf("HCC-20260303-%04d", i)
		id := func(k string) string { return fmt.Sprintf("%s-%s", code, k) }
		var evs []event.Event
		if i%2 == 0 {
			evs = []event.Event{submitEv("HCC", code, landProc, id("s")), completeEv("VPDK", code, "verify", id("c1")),
				completeEv("THUE", code, "tax", id("c2")), completeEv("VPDK", code, "certificate", id("c3"))}
		} else {
			evs = []event.Event{submitEv("HCC", code, birthProc, id("s")), completeEv("TUPHAP", code, "birth", id("c1")),
				completeEv("BHXH", code, "insurance", id("c2")), completeEv("CONGAN", code, "residence", id("c3"))}
		}
		evs = append(evs, receiverEv("HCC", event.ResultReturned, code, id("r")))
		switch {
		case i%10 == 3: // withdrawn after submission: the rest is refused
			evs = append([]event.Event{evs[0], receiverEv("HCC", event.Withdrawn, code, id("w"))}, evs[1:]...)
		case i%7 == 0: // a step completed by the wrong agency
			evs = append([]event.Event{evs[0], completeEv("OTHER", code, "verify", id("bad"))}, evs[1:]...)
		case i%5 == 0: // a duplicate
			evs = append(evs[:2:2], append([]event.Event{evs[1]}, evs[2:]...)...)
		}
		var st *router.State
		for k, ev := range evs {
			at := t0.Add(time.Duration(i)*time.Minute + time.Duration(k)*time.Second)
			var outs []router.Output
			st, outs, _ = e.Apply(st, ev, at)
			value, _ := json.Marshal(ev)
			for _, o := range outs {
				b := value
				if !o.Forward {
					b = router.EncodeEvent(o.Event)
				}
				sc.expected[o.To+"/"+o.Event.ID] = b
			}
			sc.records = append(sc.records, kafkabus.Record(topic, code, value,
				kafka.Header{Key: kafkabus.HeaderAcceptedAt, Value: []byte(at.Format(time.RFC3339Nano))}))
			n++
			// Garbage now and then: it goes to the rejected topic, nothing else.
			if n%97 == 0 {
				sc.records = append(sc.records, kafkabus.Record(topic, code, []byte("{not json")))
			}
		}
		sc.final[code] = st.Status
	}
	return sc
}

func produce(t testing.TB, bus *kafkabus.Bus, msgs []kafka.Message) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for len(msgs) > 0 {
		k := min(len(msgs), 500)
		if err := bus.Writer().WriteMessages(ctx, msgs[:k]...); err != nil {
			t.Fatal(err)
		}
		msgs = msgs[k:]
	}
}

// startRunner runs a runner until the returned stop is called.
func startRunner(t testing.TB, bus *kafkabus.Bus, cfg RunnerConfig) (*Runner, func()) {
	t.Helper()
	if cfg.Now == nil {
		cfg.Now = func() time.Time { return t0 } // no overdue in these tests
	}
	if cfg.GroupID == "" {
		cfg.GroupID = "router-test"
	}
	cfg.Agencies = testAgencies
	r := NewRunner(bus, router.NewEngine(testRoutes()), cfg)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("runner: %v", err)
				}
			case <-time.After(30 * time.Second):
				t.Error("runner did not stop within 30 s")
			}
		})
	}
	t.Cleanup(stop)
	return r, stop
}

// startView runs a tracking view for the test.
func startView(t testing.TB, bus *kafkabus.Bus, now func() time.Time) *View {
	v := newView(bus)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = v.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return v
}

// waitFinal waits until the view shows every dossier in its final status.
func waitFinal(t testing.TB, v *View, final map[string]string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		missing := 0
		var example string
		for code, want := range final {
			if st, ok := v.Get(code); !ok || st.Status != want {
				missing++
				example = code
			}
		}
		if missing == 0 {
			return
		}
		if time.Now().After(deadline) {
			st, _ := v.Get(example)
			t.Fatalf("%d dossiers not in their final status, e.g. %s: %+v", missing, example, st)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// checkOutputs asserts that the inboxes hold exactly the expected events:
// no two different events under one id, nothing missing, nothing extra.
func checkOutputs(t *testing.T, bus *kafkabus.Bus, sc *scenario) (replays int) {
	t.Helper()
	got := map[string][]byte{}
	for _, a := range testAgencies {
		for _, r := range readAll(t, bus, bus.Topic(kafkabus.InboxTopic(a))) {
			var ev event.Event
			if err := json.Unmarshal(r.value, &ev); err != nil {
				t.Fatalf("inbox.%s: bad record %q", a, r.value)
			}
			k := a + "/" + ev.ID
			if prev, ok := got[k]; ok {
				if !bytes.Equal(prev, r.value) {
					t.Fatalf("two different events under %s:\n%s\n%s", k, prev, r.value)
				}
				replays++
				continue
			}
			got[k] = r.value
		}
	}
	for k, want := range sc.expected {
		if g, ok := got[k]; !ok {
			t.Errorf("missing output %s", k)
		} else if !bytes.Equal(g, want) {
			t.Errorf("output %s differs from the engine's:\n got %s\nwant %s", k, g, want)
		}
	}
	for k := range got {
		if _, ok := sc.expected[k]; !ok {
			t.Errorf("unexpected output %s", k)
		}
	}
	return replays
}

func TestRunnerRestartMidStream(t *testing.T) {
	bus := kafkatest.Start(t, 4, testAgencies...)
	sc := buildScenario(t, bus, 120)
	half := len(sc.records) / 2
	produce(t, bus, sc.records[:half])
	view := startView(t, bus, func() time.Time { return t0 })

	a, stopA := startRunner(t, bus, RunnerConfig{})
	deadline := time.Now().Add(30 * time.Second)
	for a.Stats().Applied < int64(half/3) {
		if time.Now().After(deadline) {
			t.Fatalf("runner A applied only %+v", a.Stats())
		}
		time.Sleep(10 * time.Millisecond)
	}
	stopA() // mid-stream: it finishes its batch, commits and leaves
	produce(t, bus, sc.records[half:])
	b, _ := startRunner(t, bus, RunnerConfig{})
	waitFinal(t, view, sc.final, 60*time.Second)
	replays := checkOutputs(t, bus, sc)
	t.Logf("runner A %+v, runner B %+v, replayed duplicates %d", a.Stats(), b.Stats(), replays)

	// Garbage went to the rejected topic, with the refusals.
	var garbage int
	for _, r := range readAll(t, bus, bus.Topic(kafkabus.TopicRejected)) {
		if string(r.value) == "{not json" {
			garbage++
		}
	}
	if want := len(sc.records) / 98; garbage < want {
		t.Errorf("%d garbage records on the rejected topic, want at least %d", garbage, want)
	}

	// A crash after the states were written but before any commit: a new
	// group starts from offset 0 and must skip every record.
	c, stopC := startRunner(t, bus, RunnerConfig{GroupID: "router-test-fresh"})
	deadline = time.Now().Add(30 * time.Second)
	for c.Stats().Batches == 0 || c.Stats().Partitions < 4 {
		if time.Now().After(deadline) {
			t.Fatalf("fresh runner did not start: %+v", c.Stats())
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond)
	stopC()
	if s := c.Stats(); s.Applied != 0 {
		// Only refusals replay, byte for byte (checked below).
		t.Fatalf("replay from offset 0 applied again: %+v", s)
	}
	checkOutputs(t, bus, sc)

	// A new view is ready only once it has read the whole state topic: by
	// then every dossier is there in its final status, no polling.
	fresh := startView(t, bus, func() time.Time { return t0 })
	deadline = time.Now().Add(30 * time.Second)
	for !fresh.Ready() {
		if time.Now().After(deadline) {
			t.Fatal("view never ready")
		}
		time.Sleep(5 * time.Millisecond)
	}
	for code, want := range sc.final {
		if st, ok := fresh.Get(code); !ok || st.Status != want {
			t.Fatalf("ready view: %s is %v, want %s", code, st, want)
		}
	}
}

func TestTwoRunnersOneCancelled(t *testing.T) {
	bus := kafkatest.Start(t, 4, testAgencies...)
	sc := buildScenario(t, bus, 120)
	view := startView(t, bus, func() time.Time { return t0 })
	a, stopA := startRunner(t, bus, RunnerConfig{})
	b, _ := startRunner(t, bus, RunnerConfig{})
	// Wait until the group has split the partitions.
	deadline := time.Now().Add(30 * time.Second)
	for a.Stats().Partitions+b.Stats().Partitions != 4 || a.Stats().Partitions == 0 || b.Stats().Partitions == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("partitions not split: a %+v b %+v", a.Stats(), b.Stats())
		}
		time.Sleep(20 * time.Millisecond)
	}
	produce(t, bus, sc.records[:len(sc.records)/2])
	for a.Stats().Applied == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("runner A applied nothing: %+v", a.Stats())
		}
		time.Sleep(10 * time.Millisecond)
	}
	stopA()
	produce(t, bus, sc.records[len(sc.records)/2:])
	waitFinal(t, view, sc.final, 60*time.Second)
	replays := checkOutputs(t, bus, sc)
	t.Logf("runner A %+v, runner B %+v, replayed duplicates %d", a.Stats(), b.Stats(), replays)
}

// The overdue timer runs in the partition goroutine and, like records,
// writes its outputs then the state: each overdue is raised once, however
// many ticks pass, and a restarted runner does not raise it again.
func TestRunnerOverdueOnce(t *testing.T) {
	bus := kafkatest.Start(t, 2, testAgencies...)
	const code = "HCC-20260303-0100"
	ev := submitEv("HCC", code, landProc, "s")
	value, _ := json.Marshal(ev)
	produce(t, bus, []kafka.Message{kafkabus.Record(bus.Topic(kafkabus.TopicEvents), code, value,
		kafka.Header{Key: kafkabus.HeaderAcceptedAt, Value: []byte(t0.Format(time.RFC3339Nano))})})
	late := func() time.Time { return t0.Add(11 * 24 * time.Hour) } // verify and the dossier are late
	view := startView(t, bus, late)
	count := func() (n int) {
		for _, a := range []string{"VPDK", "HCC"} {
			for _, r := range readAll(t, bus, bus.Topic(kafkabus.InboxTopic(a))) {
				var e event.Event
				_ = json.Unmarshal(r.value, &e)
				if e.Type == event.Overdue {
					n++
				}
			}
		}
		return n
	}
	for round := 0; round < 2; round++ {
		_, stop := startRunner(t, bus, RunnerConfig{TickEvery: 20 * time.Millisecond, Now: late})
		deadline := time.Now().Add(30 * time.Second)
		for {
			st, ok := view.Get(code)
			if ok && st.OverdueSent && st.Step("verify").OverdueSent {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("round %d: overdue not recorded: %+v", round, st)
			}
			time.Sleep(20 * time.Millisecond)
		}
		time.Sleep(200 * time.Millisecond) // ten more ticks
		stop()
		// verify: to VPDK and HCC; the dossier: to HCC.
		if n := count(); n != 3 {
			t.Fatalf("round %d: %d overdue events, want 3", round, n)
		}
	}
	if st, _ := view.Get(code); !st.AnyOverdueAt(late()) || !st.Step("verify").OverdueAt(late(), st.Paused()) {
		t.Fatalf("not overdue: %+v", st)
	}
}

// refused separates what retrying cures (the router keeps trying quietly)
// from what only an operator fixes (logged at error, counted).
func TestRefused(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want bool
	}{
		{"record over message.max.bytes", kafka.MessageTooLargeError{}, true},
		{"broker says too large", fmt.Errorf("write: %w", kafka.MessageSizeTooLarge), true},
		{"not authorized", kafka.TopicAuthorizationFailed, true},
		{"one of a batch refused", kafka.WriteErrors{nil, kafka.MessageSizeTooLarge}, true},
		{"leader moving", kafka.NotLeaderForPartition, false},
		{"not enough replicas", kafka.NotEnoughReplicas, false},
		{"request timed out", kafka.RequestTimedOut, false},
		{"batch of transient errors", kafka.WriteErrors{kafka.LeaderNotAvailable, nil}, false},
		{"connection refused", errors.New("dial tcp 127.0.0.1:9092: connect: connection refused"), false},
		{"context deadline", context.DeadlineExceeded, false},
	} {
		if got := refused(tc.err); got != tc.want {
			t.Errorf("%s: refused(%v) = %v, want %v", tc.name, tc.err, got, tc.want)
		}
	}
}
