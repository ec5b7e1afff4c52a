package kafkabus

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/segmentio/kafka-go"
)

// Tail reads every partition of a topic from its first offset, for ever,
// calling fn for each record in partition order (fn is called from one
// goroutine per partition). It is how a process materialises a view of a
// whole topic (the gateway's idempotency index). Caught() is closed once
// every partition has reached the high-water mark it had when Tail started.
type Tail struct {
	bus    *Bus
	topic  string
	fn     func(kafka.Message)
	caught chan struct{}
}

// NewTail prepares a tail of the full topic name.
func (b *Bus) NewTail(topic string, fn func(kafka.Message)) *Tail {
	return &Tail{bus: b, topic: topic, fn: fn, caught: make(chan struct{})}
}

// Caught is closed once the tail has read what the topic held at start.
func (t *Tail) Caught() <-chan struct{} { return t.caught }

// Run reads until ctx ends.
func (t *Tail) Run(ctx context.Context) error {
	parts, err := t.bus.Partitions(ctx, t.topic)
	if err != nil {
		return err
	}
	ends, err := t.bus.highWaterMarks(ctx, t.topic, parts)
	if err != nil {
		return err
	}
	var pending sync.WaitGroup
	pending.Add(len(parts))
	go func() { pending.Wait(); close(t.caught) }()
	var wg sync.WaitGroup
	errc := make(chan error, len(parts))
	for _, p := range parts {
		wg.Add(1)
		go func(p int) {
			defer wg.Done()
			errc <- t.runPartition(ctx, p, ends[p], pending.Done)
		}(p)
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		if err != nil && !errors.Is(err, context.Canceled) {
			return err
		}
	}
	return ctx.Err()
}

func (t *Tail) runPartition(ctx context.Context, p int, end int64, caughtUp func()) error {
	once := sync.Once{}
	if end <= 0 {
		once.Do(caughtUp)
	}
	r := t.bus.NewReader(kafka.ReaderConfig{Topic: t.topic, Partition: p, MaxWait: 500 * time.Millisecond})
	defer r.Close()
	if err := r.SetOffset(kafka.FirstOffset); err != nil {
		return fmt.Errorf("tail %s/%d: %w", t.topic, p, err)
	}
	for {
		m, err := r.FetchMessage(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("tail %s/%d: %w", t.topic, p, err)
		}
		t.fn(m)
		if m.Offset+1 >= end {
			once.Do(caughtUp)
		}
	}
}

// highWaterMarks returns the next offset to be written, per partition.
func (b *Bus) highWaterMarks(ctx context.Context, topic string, parts []int) (map[int]int64, error) {
	req := &kafka.ListOffsetsRequest{Topics: map[string][]kafka.OffsetRequest{}}
	for _, p := range parts {
		req.Topics[topic] = append(req.Topics[topic], kafka.LastOffsetOf(p))
	}
	resp, err := b.Client().ListOffsets(ctx, req)
	if err != nil {
		return nil, fmt.Errorf("list offsets %s: %w", topic, explain(err))
	}
	out := make(map[int]int64, len(parts))
	for _, po := range resp.Topics[topic] {
		if po.Error != nil {
			return nil, fmt.Errorf("list offsets %s/%d: %w", topic, po.Partition, po.Error)
		}
		out[po.Partition] = po.LastOffset
	}
	return out, nil
}

// HighWaterMarks returns, per partition of a full topic name, the offset the
// next record will get.
func (b *Bus) HighWaterMarks(ctx context.Context, topic string) (map[int]int64, error) {
	parts, err := b.Partitions(ctx, topic)
	if err != nil {
		return nil, err
	}
	return b.highWaterMarks(ctx, topic, parts)
}
