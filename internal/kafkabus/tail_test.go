package kafkabus_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/lienthong/lienthong/internal/kafkabus"
	"github.com/lienthong/lienthong/internal/kafkabus/embedded"
	"github.com/lienthong/lienthong/internal/kafkabus/kafkatest"
)

// A view (the idempotency index, tracking) outlives a broker restart: the
// tail retries from the next offset instead of ending, reads what was
// written after the restart, and reads nothing twice.
func TestTailSurvivesBrokerRestart(t *testing.T) {
	dir := t.TempDir()
	e, err := embedded.Start(embedded.Options{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	addr := e.Addr()
	b := kafkatest.Open(t, []string{addr}, "tail.", 2)
	topic := b.Topic(kafkabus.TopicEvents)
	write := func(b *kafkabus.Bus, from, to int) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		var msgs []kafka.Message
		for i := from; i < to; i++ {
			msgs = append(msgs, kafkabus.Record(topic, fmt.Sprintf("K-%d", i%7), []byte(fmt.Sprint(i))))
		}
		if err := b.Writer().WriteMessages(ctx, msgs...); err != nil {
			t.Fatal(err)
		}
	}
	write(b, 0, 50)

	var mu sync.Mutex
	seen := map[string]int{}
	count := func() int { mu.Lock(); defer mu.Unlock(); return len(seen) }
	tail := b.NewTail(topic, func(m kafka.Message) { mu.Lock(); seen[string(m.Value)]++; mu.Unlock() })
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- tail.Run(ctx) }()
	select {
	case <-tail.Caught():
	case <-time.After(30 * time.Second):
		t.Fatal("tail did not catch up in 30s")
	}
	if n := count(); n != 50 {
		t.Fatalf("caught up with %d records, want 50", n)
	}

	e.Close() // the broker goes away: the tail must not end
	time.Sleep(1500 * time.Millisecond)
	select {
	case err := <-done:
		t.Fatalf("tail ended while the broker was away: %v", err)
	default:
	}
	e2, err := embedded.Start(embedded.Options{DataDir: dir, Listen: addr})
	if err != nil {
		t.Fatal(err)
	}
	defer e2.Close()
	b2 := kafkatest.Open(t, []string{addr}, "tail.", 2)
	write(b2, 50, 80)

	deadline := time.Now().Add(30 * time.Second)
	for count() < 80 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	mu.Lock()
	for v, n := range seen {
		if n != 1 {
			t.Errorf("record %s read %d times", v, n)
		}
	}
	got := len(seen)
	mu.Unlock()
	if got != 80 {
		t.Fatalf("read %d distinct records after the restart, want 80", got)
	}
	cancel()
	if err := <-done; err != context.Canceled {
		t.Errorf("Run returned %v, want context.Canceled", err)
	}
}

// A windowed tail starts each partition at the first record within the
// window, by record timestamp: a restart reads the window, not the history.
func TestTailWindow(t *testing.T) {
	e, err := embedded.Start(embedded.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	b := kafkatest.Open(t, []string{e.Addr()}, "window.", 3)
	topic := b.Topic(kafkabus.TopicEvents)
	now := time.Now()
	var msgs []kafka.Message
	for i := 0; i < 300; i++ {
		m := kafkabus.Record(topic, fmt.Sprintf("K-%d", i%11), []byte(fmt.Sprint(i)))
		m.Time = now.Add(-30 * 24 * time.Hour).Add(time.Duration(i) * 144 * time.Minute) // the last 30 days
		msgs = append(msgs, m)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := b.Writer().WriteMessages(ctx, msgs...); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	seen := map[int]bool{}
	tail := b.NewTail(topic, func(m kafka.Message) {
		var i int
		fmt.Sscan(string(m.Value), &i)
		mu.Lock()
		seen[i] = true
		mu.Unlock()
	}).Window(7*24*time.Hour, func() time.Time { return now })
	rctx, stop := context.WithCancel(context.Background())
	defer stop()
	go tail.Run(rctx)
	select {
	case <-tail.Caught():
	case <-time.After(30 * time.Second):
		t.Fatal("windowed tail did not catch up in 30s")
	}
	mu.Lock()
	defer mu.Unlock()
	var want int
	for i := 0; i < 300; i++ {
		if !msgs[i].Time.Before(now.Add(-7 * 24 * time.Hour)) {
			want++
			if !seen[i] {
				t.Errorf("record %d (within the window) not read", i)
			}
		} else if seen[i] {
			t.Errorf("record %d (before the window) read", i)
		}
	}
	if want == 0 {
		t.Fatal("the test writes nothing within the window")
	}
}
