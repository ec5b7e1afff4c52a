// Package tracking keeps the tracking store fed and answers the tracking
// API from it. The projector consumes the state topic (the router's latest
// state of each dossier) into the store; the handler serves
// GET /v1/dossiers/{code}, GET /v1/dossiers and GET /v1/stats from it.
package tracking

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/lienthong/lienthong/internal/kafkabus"
	"github.com/lienthong/lienthong/internal/store"
	"github.com/lienthong/lienthong/router"
)

// ProjectorConfig tunes a Projector; zero values take the defaults.
type ProjectorConfig struct {
	MaxBatch  int           // state records per store transaction; default 2000
	BatchWait time.Duration // how long a batch waits to fill; default 100 ms
	Logger    *slog.Logger
}

// Projector copies the state topic into the store. Its position in each
// partition is written in the same transaction as the rows, so the store is
// exactly the state topic up to that position: a crash, a replay or a
// rebalance never applies a record twice or moves a dossier backwards (the
// store's upserts carry the record's version as well).
//
// The consumer group's id is derived from the store's id: replicas sharing a
// PostgreSQL database share the work, while each SQLite file (one per
// process) is fed whole by a group of its own.
type Projector struct {
	bus   *kafkabus.Bus
	st    *store.Store
	topic string
	cfg   ProjectorConfig

	records, written, batches, failures atomic.Int64
}

// NewProjector makes a projector; Run starts it.
func NewProjector(bus *kafkabus.Bus, st *store.Store, cfg ProjectorConfig) *Projector {
	if cfg.MaxBatch <= 0 {
		cfg.MaxBatch = 2000
	}
	if cfg.BatchWait <= 0 {
		// Fewer, larger transactions: a commit costs the same for 10 rows
		// as for 1,000, and tracking may lag routing by a tenth of a second.
		cfg.BatchWait = 100 * time.Millisecond
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Projector{bus: bus, st: st, topic: bus.Topic(kafkabus.TopicState), cfg: cfg}
}

// GroupID is the projector's consumer group.
func (p *Projector) GroupID() string { return "lienthong-projector-" + p.st.ID() }

// ProjectorStats are counters since the projector started.
type ProjectorStats struct {
	Records  int64 // state records read (tombstones included)
	Written  int64 // dossier rows written
	Batches  int64
	Failures int64 // failed store transactions (retried)
}

// Stats returns the projector's counters.
func (p *Projector) Stats() ProjectorStats {
	return ProjectorStats{Records: p.records.Load(), Written: p.written.Load(), Batches: p.batches.Load(), Failures: p.failures.Load()}
}

// Run joins the group and projects until ctx ends.
func (p *Projector) Run(ctx context.Context) error {
	cg, err := p.bus.NewConsumerGroup(p.GroupID(), p.cfg.Logger, p.topic)
	if err != nil {
		return fmt.Errorf("projector: join group: %w", err)
	}
	defer cg.Close()
	for {
		gen, err := cg.Next(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			p.cfg.Logger.Info("projector: consumer group", "err", err)
			continue
		}
		for _, a := range gen.Assignments[p.topic] {
			id := a.ID
			gen.Start(func(gctx context.Context) { p.runPartition(gctx, gen, id) })
		}
	}
}

func (p *Projector) runPartition(gctx context.Context, gen *kafka.Generation, id int) {
	log := p.cfg.Logger.With("partition", id)
	var next int64 = kafka.FirstOffset
	for backoff := 100 * time.Millisecond; ; backoff = min(2*backoff, 5*time.Second) {
		pos, ok, err := p.st.Position(gctx, p.topic, id)
		if err == nil {
			if ok {
				next = pos
			}
			break
		}
		if gctx.Err() != nil {
			return
		}
		log.Warn("projector: read position from the store; retrying", "err", err)
		sleep(gctx, backoff)
	}
	rd := p.bus.NewReader(kafka.ReaderConfig{Topic: p.topic, Partition: id, QueueCapacity: p.cfg.MaxBatch})
	defer rd.Close()
	if err := rd.SetOffset(next); err != nil {
		log.Error("projector: seek", "offset", next, "err", err)
		return
	}
	lastCommit := time.Now()
	for gctx.Err() == nil {
		batch, err := fetchBatch(gctx, rd, p.cfg.MaxBatch, p.cfg.BatchWait)
		if err != nil {
			if gctx.Err() == nil && !errors.Is(err, context.DeadlineExceeded) {
				log.Warn("projector: fetch", "err", err)
			}
			continue
		}
		if len(batch) == 0 {
			continue
		}
		recs := make([]store.Record, 0, len(batch))
		for _, m := range batch {
			if m.Value == nil {
				continue // a tombstone: the router let a closed dossier go; the store keeps it
			}
			var st router.State
			if err := json.Unmarshal(m.Value, &st); err != nil || st.Code == "" {
				log.Error("projector: state record is not a dossier state; skipped", "offset", m.Offset, "err", err)
				continue
			}
			st.Dossier = nil // personal data never reaches the store
			for i := range st.Steps {
				st.Steps[i].Outputs, st.Steps[i].Documents = nil, nil
			}
			recs = append(recs, store.Record{State: &st, StateOffset: m.Offset})
		}
		end := batch[len(batch)-1].Offset + 1
		if !p.apply(gctx, log, id, end, recs) {
			return
		}
		p.records.Add(int64(len(batch)))
		p.batches.Add(1)
		// The group's offset only serves lag monitoring: the position that
		// counts is the store's.
		if time.Since(lastCommit) > time.Second {
			_ = gen.CommitOffsets(map[string]map[int]int64{p.topic: {id: end}})
			lastCommit = time.Now()
		}
	}
}

// apply writes one batch, retrying while the partition is ours: a store
// that is down holds the projection back (the state topic keeps everything)
// and it catches up when the store returns.
func (p *Projector) apply(gctx context.Context, log *slog.Logger, id int, end int64, recs []store.Record) bool {
	for attempt, backoff := 1, 100*time.Millisecond; ; attempt, backoff = attempt+1, min(2*backoff, 5*time.Second) {
		ctx, cancel := context.WithTimeout(gctx, 30*time.Second)
		n, err := p.st.Apply(ctx, p.topic, id, end, recs)
		cancel()
		if err == nil {
			p.written.Add(int64(n))
			return true
		}
		p.failures.Add(1)
		if gctx.Err() != nil {
			return false
		}
		if attempt == 1 || attempt%20 == 0 {
			log.Warn("projector: store write failed; retrying (tracking lags until it succeeds)", "records", len(recs), "attempt", attempt, "err", err)
		}
		sleep(gctx, backoff)
	}
}

// fetchBatch waits up to a second for a record, then takes whatever else
// arrives within wait, up to max.
func fetchBatch(gctx context.Context, rd *kafka.Reader, max int, wait time.Duration) ([]kafka.Message, error) {
	ctx, cancel := context.WithTimeout(gctx, time.Second)
	m, err := rd.FetchMessage(ctx)
	cancel()
	if err != nil {
		return nil, err
	}
	batch := []kafka.Message{m}
	ctx, cancel = context.WithTimeout(gctx, wait)
	defer cancel()
	for len(batch) < max {
		m, err := rd.FetchMessage(ctx)
		if err != nil {
			break
		}
		batch = append(batch, m)
	}
	return batch, nil
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
