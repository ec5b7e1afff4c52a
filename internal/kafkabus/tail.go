package kafkabus

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/segmentio/kafka-go"
)

// Tail reads every partition of a topic from its first offset, for ever,
// calling fn for each record in partition order (fn is called from one
// goroutine per partition). It is how a process materialises a view of a
// whole topic (the gateway's idempotency index, the tracking view).
// Caught() is closed once every partition has reached the high-water mark
// it had when Tail started.
//
// A view must outlive the broker's outages (a restart, a leader moving): a
// failed read is logged and retried from the next offset with backoff, never
// returned, so Run ends only with its context.
type Tail struct {
	bus    *Bus
	topic  string
	fn     func(kafka.Message)
	log    *slog.Logger
	caught chan struct{}
	window time.Duration
	now    func() time.Time
}

// NewTail prepares a tail of the full topic name.
func (b *Bus) NewTail(topic string, fn func(kafka.Message)) *Tail {
	return &Tail{bus: b, topic: topic, fn: fn, log: slog.New(slog.DiscardHandler), caught: make(chan struct{})}
}

// WithLogger sets where the tail reports the read errors it retries.
func (t *Tail) WithLogger(l *slog.Logger) *Tail {
	if l != nil {
		t.log = l
	}
	return t
}

// Window makes the tail start each partition at the first record stamped
// within d of the start (by the record timestamp) instead of the first
// offset: a view that needs only recent records (the gateway's duplicate
// window) then reads at start what the window holds, not the history.
// now (nil: time.Now) dates the start.
func (t *Tail) Window(d time.Duration, now func() time.Time) *Tail {
	t.window = d
	t.now = now
	if t.now == nil {
		t.now = time.Now
	}
	return t
}

// Caught is closed once the tail has read what the topic held at start.
func (t *Tail) Caught() <-chan struct{} { return t.caught }

// tailBackoff bounds the wait between attempts while the broker is away.
const tailBackoffMin, tailBackoffMax = 100 * time.Millisecond, 5 * time.Second

// Run reads until ctx ends, then returns ctx.Err().
func (t *Tail) Run(ctx context.Context) error {
	var bounds map[int]Bounds
	var starts map[int]int64
	for backoff := tailBackoffMin; ; backoff = min(2*backoff, tailBackoffMax) {
		var err error
		if bounds, err = t.bus.Offsets(ctx, t.topic); err == nil {
			if t.window <= 0 {
				break
			}
			if starts, err = t.bus.OffsetsAt(ctx, t.topic, t.now().Add(-t.window), bounds); err == nil {
				break
			}
		}
		t.log.Warn("tail: list partitions; retrying", "topic", t.topic, "err", err)
		if !sleepCtx(ctx, backoff) {
			return ctx.Err()
		}
	}
	var pending sync.WaitGroup
	pending.Add(len(bounds))
	go func() { pending.Wait(); close(t.caught) }()
	var wg sync.WaitGroup
	for p, b := range bounds {
		first := b.First
		if s, ok := starts[p]; ok {
			first = s
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			t.runPartition(ctx, p, first, b.End, pending.Done)
		}()
	}
	wg.Wait()
	return ctx.Err()
}

// runPartition reads one partition for ever from first; a partition with
// nothing to read at start (hwm <= first: empty, everything deleted by
// retention, or nothing within the window) counts as caught up at once.
func (t *Tail) runPartition(ctx context.Context, p int, first, hwm int64, caughtUp func()) {
	var once sync.Once
	if hwm <= first {
		once.Do(caughtUp)
	}
	next := first
	backoff := tailBackoffMin
	for ctx.Err() == nil {
		r := t.bus.NewReader(kafka.ReaderConfig{Topic: t.topic, Partition: p, MaxWait: 500 * time.Millisecond})
		err := r.SetOffset(next)
		for err == nil {
			var m kafka.Message
			if m, err = r.FetchMessage(ctx); err != nil {
				break
			}
			backoff = tailBackoffMin
			t.fn(m)
			next = m.Offset + 1
			if next >= hwm {
				once.Do(caughtUp)
			}
		}
		_ = r.Close()
		if ctx.Err() != nil {
			return
		}
		if errors.Is(err, kafka.OffsetOutOfRange) {
			next = kafka.FirstOffset // retention removed what we were about to read
		}
		t.log.Warn("tail: read failed; retrying", "topic", t.topic, "partition", p, "offset", next, "err", explain(err))
		if !sleepCtx(ctx, backoff) {
			return
		}
		backoff = min(2*backoff, tailBackoffMax)
	}
}

// sleepCtx waits d; false if ctx ended first.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// OffsetsAt returns, for each partition of bounds, the offset of its first
// record stamped at or after at, or its End when there is none.
func (b *Bus) OffsetsAt(ctx context.Context, topic string, at time.Time, bounds map[int]Bounds) (map[int]int64, error) {
	req := &kafka.ListOffsetsRequest{Topics: map[string][]kafka.OffsetRequest{}}
	for p := range bounds {
		req.Topics[topic] = append(req.Topics[topic], kafka.TimeOffsetOf(p, at))
	}
	resp, err := b.Client().ListOffsets(ctx, req)
	if err != nil {
		return nil, fmt.Errorf("list offsets of %s at %s: %w", topic, at.Format(time.RFC3339), explain(err))
	}
	out := make(map[int]int64, len(bounds))
	for p, bd := range bounds {
		out[p] = bd.End
	}
	for _, po := range resp.Topics[topic] {
		if po.Error != nil {
			return nil, fmt.Errorf("list offsets of %s/%d at %s: %w", topic, po.Partition, at.Format(time.RFC3339), po.Error)
		}
		// kafka-go files a found offset under Offsets; "none" (-1) lands
		// in LastOffset and leaves End.
		for off := range po.Offsets {
			if off >= 0 && off < out[po.Partition] {
				out[po.Partition] = max(off, bounds[po.Partition].First)
			}
		}
	}
	return out, nil
}

// Bounds are a partition's first offset and high-water mark (the offset the
// next record will get); End <= First: nothing to read.
type Bounds struct{ First, End int64 }

// Offsets returns the bounds of the given partitions of a full topic name,
// or of all its partitions when none are given.
func (b *Bus) Offsets(ctx context.Context, topic string, parts ...int) (map[int]Bounds, error) {
	if len(parts) == 0 {
		var err error
		if parts, err = b.Partitions(ctx, topic); err != nil {
			return nil, err
		}
	}
	req := &kafka.ListOffsetsRequest{Topics: map[string][]kafka.OffsetRequest{}}
	for _, p := range parts {
		req.Topics[topic] = append(req.Topics[topic], kafka.FirstOffsetOf(p), kafka.LastOffsetOf(p))
	}
	resp, err := b.Client().ListOffsets(ctx, req)
	if err != nil {
		return nil, fmt.Errorf("list offsets %s: %w", topic, explain(err))
	}
	out := make(map[int]Bounds, len(parts))
	for _, po := range resp.Topics[topic] {
		if po.Error != nil {
			return nil, fmt.Errorf("list offsets %s/%d: %w", topic, po.Partition, po.Error)
		}
		out[po.Partition] = Bounds{First: po.FirstOffset, End: po.LastOffset}
	}
	if len(out) != len(parts) {
		return nil, fmt.Errorf("list offsets %s: %d of %d partitions answered", topic, len(out), len(parts))
	}
	return out, nil
}
