package adaptertest

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/lienthong/lienthong/adapters/delivery"
	"github.com/lienthong/lienthong/internal/kafkabus"
)

// String names an Outcome as failure messages print it.
func (o Outcome) String() string {
	switch o {
	case Accept:
		return "accept"
	case Transient:
		return "transient"
	case Reject:
		return "reject"
	case Hang:
		return "hang"
	}
	return fmt.Sprintf("Outcome(%d)", int(o))
}

// probe watches one case: every answer the fake system gave (through the
// responder it wraps), and, when a wait fails, what the broker holds, so
// that the failure says what happened instead of "timed out".
type probe struct {
	t      testing.TB
	c      Cluster
	agency string
	sys    System

	mu   sync.Mutex
	seen map[string][]Outcome // event id -> the system's answers, in order
}

func newProbe(t testing.TB, c Cluster, sys System) *probe {
	return &probe{t: t, c: c, agency: agency, sys: sys, seen: map[string][]Outcome{}}
}

// setResponder installs f (nil: accept everything) on the system, noting
// each answer.
func (p *probe) setResponder(f func(Delivery) Outcome) {
	p.sys.SetResponder(func(d Delivery) Outcome {
		out := Accept
		if f != nil {
			out = f(d)
		}
		p.mu.Lock()
		p.seen[d.ID] = append(p.seen[d.ID], out)
		p.mu.Unlock()
		return out
	})
}

// answers returns the answers the system gave to event id so far.
func (p *probe) answers(id string) []Outcome {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]Outcome(nil), p.seen[id]...)
}

// ids lists the ids of events 1..perDossier of dossiers 0..dossiers-1,
// leaving out those skip reports.
func ids(dossiers, perDossier int, skip func(string) bool) []string {
	var out []string
	for i := 0; i < dossiers; i++ {
		for n := 1; n <= perDossier; n++ {
			if id := EventID(Dossier(i), n); skip == nil || !skip(id) {
				out = append(out, id)
			}
		}
	}
	return out
}

// waitDelivered waits until the system has accepted every event of want.
func (p *probe) waitDelivered(timeout time.Duration, what string, want []string) {
	p.t.Helper()
	p.waitFor(timeout, what, want, func() bool {
		got := unique(p.sys.Received())
		for _, id := range want {
			if !got[id] {
				return false
			}
		}
		return true
	})
}

// waitFor polls cond until it holds; after timeout it fails the test with
// what the suite observed about the events of want.
func (p *probe) waitFor(timeout time.Duration, what string, want []string, cond func() bool) {
	p.t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			p.t.Fatalf("timed out after %s waiting for %s\n%s", timeout, what, p.explain(want))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// position is where a record sits in its topic.
type position struct {
	partition int
	offset    int64
}

// explain says, for the events of want that the system has not accepted,
// what became of them: dead-lettered (with the error and the attempts),
// committed but never delivered, never tried, or still being retried; and
// the totals: what was delivered, the dead letters, the committed offsets.
func (p *probe) explain(want []string) string {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	received := p.sys.Received()
	got := unique(received)
	var b strings.Builder
	inbox, inboxErr := readTopic(ctx, p.c, p.c.InboxTopic(p.agency))
	dlqs, dlqErr := readTopic(ctx, p.c, p.c.DLQTopic(p.agency))
	committed, commErr := committedOffsets(ctx, p.c, p.agency)

	delivered := 0
	var missing []string
	for _, id := range want {
		if got[id] {
			delivered++
		} else {
			missing = append(missing, id)
		}
	}
	fmt.Fprintf(&b, "observed: %d of %d expected events accepted by the system (%d deliveries in all, %d distinct events)", delivered, len(want), len(received), len(got))
	if dlqErr != nil {
		fmt.Fprintf(&b, "; dead letters unreadable: %v", dlqErr)
	} else {
		fmt.Fprintf(&b, "; %s", plural(len(dlqs), "dead letter"))
	}
	if commErr != nil {
		fmt.Fprintf(&b, "; committed offsets unreadable: %v", commErr)
	} else {
		fmt.Fprintf(&b, "; committed offsets %s", formatOffsets(committed))
	}
	if inboxErr == nil {
		ends := map[int]int64{}
		for _, m := range inbox {
			ends[m.Partition] = max(ends[m.Partition], m.Offset+1)
		}
		fmt.Fprintf(&b, " of inbox ends %s", formatOffsets(ends))
	} else {
		fmt.Fprintf(&b, "; inbox unreadable: %v", inboxErr)
	}

	where := map[string]position{}
	for _, m := range inbox {
		if id := eventID(m.Value); id != "" {
			if _, ok := where[id]; !ok { // the first copy: a replay comes later
				where[id] = position{m.Partition, m.Offset}
			}
		}
	}
	dead := map[string]kafka.Message{}
	for _, m := range dlqs {
		if id := eventID(m.Value); id != "" {
			dead[id] = m // the latest dead letter of the event
		}
	}
	const most = 10
	for i, id := range missing {
		if i == most {
			fmt.Fprintf(&b, "\n  ...and %d more not accepted", len(missing)-most)
			break
		}
		fmt.Fprintf(&b, "\n  %s", id)
		pos, inInbox := where[id]
		if inInbox {
			fmt.Fprintf(&b, " (partition %d, offset %d)", pos.partition, pos.offset)
		}
		b.WriteString(": ")
		ans := p.answers(id)
		var state string
		switch dl, isDead := dead[id]; {
		case isDead:
			state = "dead-lettered after " + plural(atoi(kafkabus.Header(dl, kafkabus.HeaderAttempts)), "attempt")
			if s := kafkabus.Header(dl, kafkabus.HeaderLastStatus); s != "" && s != "0" {
				state += " (last status " + s + ")"
			}
			state += ": " + kafkabus.Header(dl, kafkabus.HeaderError)
		case inboxErr == nil && !inInbox:
			state = "not in the inbox topic"
		case inInbox && commErr == nil && committed[pos.partition] > pos.offset:
			state = "committed but never delivered"
		case len(ans) == 0:
			state = "never reached the system"
		default:
			state = "not delivered yet"
		}
		b.WriteString(state)
		switch {
		case len(ans) > 0:
			fmt.Fprintf(&b, "; the system answered %s", outcomes(ans))
			for _, a := range ans {
				if a == Accept {
					b.WriteString("; it accepted it, yet Received does not list it (the harness's System records wrong)")
					break
				}
			}
		case state != "never reached the system":
			b.WriteString("; the system never saw it")
		}
	}
	return b.String()
}

// outcomes lists a system's answers to one event.
func outcomes(a []Outcome) string {
	if len(a) == 0 {
		return "nothing: the event never reached the system"
	}
	s := make([]string, len(a))
	for i, o := range a {
		s[i] = o.String()
	}
	return fmt.Sprintf("%s: %s", plural(len(a), "time"), strings.Join(s, ", "))
}

// describeDeadLetters lists dead letters with their error and attempts.
func describeDeadLetters(dls []kafka.Message) string {
	var b strings.Builder
	for _, m := range dls {
		id := eventID(m.Value)
		if id == "" {
			id = fmt.Sprintf("key %s", m.Key)
		}
		fmt.Fprintf(&b, "  %s: dead-lettered after %s (last status %s): %s\n", id,
			plural(atoi(kafkabus.Header(m, kafkabus.HeaderAttempts)), "attempt"),
			kafkabus.Header(m, kafkabus.HeaderLastStatus), kafkabus.Header(m, kafkabus.HeaderError))
	}
	return b.String()
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

func atoi(s string) int {
	var n int
	_, _ = fmt.Sscan(s, &n)
	return n
}

func formatOffsets(m map[int]int64) string {
	parts := make([]int, 0, len(m))
	for p := range m {
		parts = append(parts, p)
	}
	sort.Ints(parts)
	s := make([]string, len(parts))
	for i, p := range parts {
		s[i] = fmt.Sprintf("p%d=%d", p, m[p])
	}
	return "[" + strings.Join(s, " ") + "]"
}

// eventID reads the id of a CloudEvent JSON record value ("" if none).
func eventID(v []byte) string {
	var ev struct {
		ID string `json:"id"`
	}
	_ = json.Unmarshal(v, &ev)
	return ev.ID
}

// readTopic reads every record a full topic holds now.
func readTopic(ctx context.Context, c Cluster, topic string) ([]kafka.Message, error) {
	b, err := kafkabus.New(kafkabus.Options{Brokers: c.Brokers, TopicPrefix: c.Prefix})
	if err != nil {
		return nil, err
	}
	defer b.Close()
	var mu sync.Mutex
	var out []kafka.Message
	tail := b.NewTail(topic, func(m kafka.Message) {
		mu.Lock()
		out = append(out, m)
		mu.Unlock()
	})
	tctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { _ = tail.Run(tctx); close(done) }()
	select {
	case <-tail.Caught():
		err = nil
	case <-ctx.Done():
		err = fmt.Errorf("read %s: %w", topic, ctx.Err())
	}
	cancel()
	<-done
	mu.Lock()
	defer mu.Unlock()
	return out, err
}

// committedOffsets returns the delivery group's committed offset per
// partition of the agency's inbox (-1: none).
func committedOffsets(ctx context.Context, c Cluster, agencyCode string) (map[int]int64, error) {
	b, err := kafkabus.New(kafkabus.Options{Brokers: c.Brokers, TopicPrefix: c.Prefix})
	if err != nil {
		return nil, err
	}
	defer b.Close()
	topic := c.InboxTopic(agencyCode)
	parts, err := b.Partitions(ctx, topic)
	if err != nil {
		return nil, err
	}
	resp, err := b.Client().OffsetFetch(ctx, &kafka.OffsetFetchRequest{GroupID: delivery.GroupID(agencyCode), Topics: map[string][]int{topic: parts}})
	if err != nil {
		return nil, err
	}
	out := map[int]int64{}
	for _, p := range resp.Topics[topic] {
		out[p.Partition] = p.CommittedOffset
	}
	return out, nil
}
