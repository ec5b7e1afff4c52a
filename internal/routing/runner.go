// Package routing runs the router's engine (package router) over Kafka: the
// consumer-group runner with exactly-once effects, and the routes and clock
// built from the server's config. It is internal because it is wired to the
// server's bus and config; the engine itself is public.
package routing

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/segmentio/kafka-go"
	"go.opentelemetry.io/otel/trace"

	"github.com/lienthong/lienthong/event"
	"github.com/lienthong/lienthong/internal/kafkabus"
	"github.com/lienthong/lienthong/internal/telemetry"
	"github.com/lienthong/lienthong/problem"
	"github.com/lienthong/lienthong/router"
)

// RunnerConfig tunes the runner. Zero values take the defaults.
type RunnerConfig struct {
	GroupID   string        // consumer group; default "lienthong-router"
	TickEvery time.Duration // overdue check period; default 1 s
	MaxBatch  int           // records applied per batch; default 500
	BatchWait time.Duration // how long a batch waits to fill; default 5 ms
	// CommitEvery spaces offset commits. Commits are only an optimization:
	// each state records the last offset applied, so a replay skips work
	// already done. Default 200 ms.
	CommitEvery time.Duration
	// WriteTimeout bounds one attempt to write a batch's outputs or states.
	// It must stay under the group's rebalance timeout (10 s) so a member
	// leaving a generation is done writing before the next owner rebuilds.
	WriteTimeout time.Duration
	// Agencies, when set, are the known agencies: an output for any other
	// goes to the rejected topic instead of a missing inbox topic.
	Agencies []string
	Now      func() time.Time // wall clock for the overdue timer; default time.Now
	Logger   *slog.Logger
	// Archive, when set, is where closed dossiers live once they leave
	// memory (the tracking store). Without it every dossier stays in memory.
	Archive Archive
	// EvictEvery spaces the checks that evict closed dossiers the archive
	// holds; default 2 s.
	EvictEvery time.Duration
	// MaxClosed bounds the closed dossiers a partition holds while the
	// archive catches up (default 20,000): past it the partition stops
	// reading until eviction makes room, so memory stays bounded when the
	// tracking store is slower than routing.
	MaxClosed int
	// Tracer makes the span apply of each event applied, parented on its
	// record's traceparent; the records it makes carry the span's. nil:
	// telemetry.Off(), nothing recorded.
	Tracer trace.Tracer
}

// Archive holds the dossiers the router no longer keeps in memory: closed
// ones, recorded by the tracking store. The router asks it only on rare
// paths: an event for a code it does not hold, and whether a closed dossier
// it still holds can leave memory.
type Archive interface {
	// Lookup returns the codes it holds, with their status and the
	// events-topic offset of the last record applied to them.
	Lookup(ctx context.Context, codes []string) (map[string]Archived, error)
}

// Archived is what the archive knows of a dossier.
type Archived struct {
	Status string
	Offset int64
}

// Runner consumes the events topic in a consumer group and applies each
// record exactly once in effect: outputs are written (and acknowledged)
// before the dossier's new state, and the state before the offset commit; a
// record whose offset the dossier's state already holds is skipped.
//
// Each partition is one goroutine (the overdue timer included, so a state is
// never touched concurrently) and a two-stage pipeline: one write carries
// the outputs of batch N together with the states of batch N-1, whose
// outputs the previous write acknowledged. One round trip per batch instead
// of two; a state reaches the state topic one batch (or BatchWait, when the
// stream pauses) after its outputs.
type Runner struct {
	bus    *kafkabus.Bus
	eng    *router.Engine
	cfg    RunnerConfig
	known  map[string]bool
	events string
	state  string
	reject string

	commitMu sync.Mutex // the generation's coordinator connection is shared

	records, applied, refused, outputs, states, batches, ticks atomic.Int64
	writeFailures, writeRefusals                               atomic.Int64
	evicted, archiveLookups, archiveFailures                   atomic.Int64
	skipped, waits                                             atomic.Int64
	inMemory                                                   atomic.Int64
	running                                                    atomic.Int32
}

// RunnerStats are counters since the runner started.
type RunnerStats struct {
	Records    int64 // events records handled, skipped ones included
	Applied    int64 // records applied (new state)
	Refused    int64 // records refused (message.rejected or garbage)
	Outputs    int64 // records written to inbox and rejected topics
	States     int64 // records written to the state topic
	Batches    int64
	Partitions int32 // partitions owned right now
	// WriteFailures counts failed write attempts (retried); WriteRefusals
	// those Kafka will repeat until an operator acts (see write).
	WriteFailures int64
	WriteRefusals int64
	// InMemory is the dossiers held in memory now; Evicted those that left
	// it closed (they live in the archive).
	InMemory int64
	Evicted  int64
	// Skipped counts records the router never saw: offsets missing from
	// the events topic (retention deleted them before they were routed).
	Skipped int64
	// ArchiveWaits counts the times a partition stopped reading because
	// MaxClosed closed dossiers waited for the archive.
	ArchiveWaits    int64
	ArchiveLookups  int64
	ArchiveFailures int64
}

// NewRunner makes a runner; Run starts it.
func NewRunner(bus *kafkabus.Bus, eng *router.Engine, cfg RunnerConfig) *Runner {
	if cfg.GroupID == "" {
		cfg.GroupID = "lienthong-router"
	}
	if cfg.TickEvery <= 0 {
		cfg.TickEvery = time.Second
	}
	if cfg.MaxBatch <= 0 {
		cfg.MaxBatch = 500
	}
	if cfg.BatchWait <= 0 {
		cfg.BatchWait = 5 * time.Millisecond
	}
	if cfg.CommitEvery <= 0 {
		cfg.CommitEvery = 200 * time.Millisecond
	}
	if cfg.WriteTimeout <= 0 {
		cfg.WriteTimeout = 8 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.EvictEvery <= 0 {
		cfg.EvictEvery = 2 * time.Second
	}
	if cfg.MaxClosed <= 0 {
		cfg.MaxClosed = 20000
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Tracer == nil {
		cfg.Tracer = telemetry.Off().Tracer()
	}
	var known map[string]bool
	if cfg.Agencies != nil {
		known = make(map[string]bool, len(cfg.Agencies))
		for _, a := range cfg.Agencies {
			known[a] = true
		}
	}
	return &Runner{
		bus: bus, eng: eng, cfg: cfg, known: known,
		events: bus.Topic(kafkabus.TopicEvents),
		state:  bus.Topic(kafkabus.TopicState),
		reject: bus.Topic(kafkabus.TopicRejected),
	}
}

// Stats returns the runner's counters.
func (r *Runner) Stats() RunnerStats {
	return RunnerStats{Records: r.records.Load(), Applied: r.applied.Load(), Refused: r.refused.Load(), Outputs: r.outputs.Load(), States: r.states.Load(),
		Batches: r.batches.Load(), Partitions: r.running.Load(), WriteFailures: r.writeFailures.Load(), WriteRefusals: r.writeRefusals.Load(),
		InMemory: r.inMemory.Load(), Evicted: r.evicted.Load(), ArchiveLookups: r.archiveLookups.Load(), ArchiveFailures: r.archiveFailures.Load(),
		Skipped: r.skipped.Load(), ArchiveWaits: r.waits.Load()}
}

// Run joins the group and routes until ctx ends; then it finishes the batch
// in hand, commits, leaves the group and returns nil.
func (r *Runner) Run(ctx context.Context) error {
	cg, err := r.bus.NewConsumerGroup(r.cfg.GroupID, r.cfg.Logger, r.events)
	if err != nil {
		return fmt.Errorf("router: join group %s: %w", r.cfg.GroupID, err)
	}
	// Close ends the generation and waits for the partition goroutines.
	defer cg.Close()
	for {
		gen, err := cg.Next(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			// Join and sync errors are transient (coordinator moving, a
			// rebalance in progress); the group retries with backoff.
			r.cfg.Logger.Info("router: consumer group", "group", r.cfg.GroupID, "err", err)
			continue
		}
		for _, a := range gen.Assignments[r.events] {
			p, off := a.ID, a.Offset
			gen.Start(func(gctx context.Context) { r.runPartition(gctx, gen, p, off) })
		}
	}
}

// partition is one owned partition of the events topic and its dossiers.
type partition struct {
	r      *Runner
	gen    *kafka.Generation
	id     int
	states map[string]*router.State
	// pending are the state records of the last batch: its outputs are
	// acknowledged, they are not yet written. pendingNext is the offset
	// after that batch.
	pending     []kafka.Message
	pendingNext int64
	next        int64 // offset after the last record applied
	durable     int64 // offset after the last record whose state is written
	committed   int64 // offset last committed
	lastCommit  time.Time
	// closed are the codes of closed dossiers still in memory: they leave
	// once the archive holds their final state.
	closed    map[string]struct{}
	lastEvict time.Time
	waiting   bool // stopped reading for MaxClosed (logged once per wait)
}

func (r *Runner) runPartition(gctx context.Context, gen *kafka.Generation, id int, offset int64) {
	r.running.Add(1)
	defer r.running.Add(-1)
	log := r.cfg.Logger.With("partition", id)
	// A rebuild can fail transiently (a leader moving, a broker restarting):
	// retry for a while before giving the partition back to the group.
	var states map[string]*router.State
	var err error
	for attempt := 0; attempt < 20; attempt++ {
		if states, err = r.rebuild(gctx, id); err == nil || gctx.Err() != nil {
			break
		}
		log.Warn("router: rebuild state, retrying", "attempt", attempt+1, "err", err)
		sleep(gctx, time.Duration(attempt+1)*200*time.Millisecond)
	}
	if err != nil {
		if gctx.Err() == nil {
			log.Error("router: rebuild state", "err", err)
			sleep(gctx, time.Second) // returning ends the generation: the group retries
		}
		return
	}
	p := &partition{r: r, gen: gen, id: id, states: states, committed: offset, next: offset, durable: offset, pendingNext: offset,
		lastCommit: time.Now(), lastEvict: time.Now(), closed: map[string]struct{}{}}
	for code, st := range states {
		if router.Closed(st.Status) {
			p.closed[code] = struct{}{}
		}
	}
	r.inMemory.Add(int64(len(states)))
	defer func() { r.inMemory.Add(-int64(len(p.states))) }()
	rd := r.bus.NewReader(kafka.ReaderConfig{Topic: r.events, Partition: id, QueueCapacity: r.cfg.MaxBatch})
	defer rd.Close()
	if err := rd.SetOffset(offset); err != nil {
		log.Error("router: seek", "offset", offset, "err", err)
		return
	}
	nextTick := time.Now().Add(r.cfg.TickEvery)
	for {
		until := nextTick
		if len(p.pending) > 0 {
			// States are waiting for the next write: do not let them wait
			// for traffic longer than a batch would.
			until = time.Now().Add(r.cfg.BatchWait)
		}
		if r.cfg.Archive != nil && len(p.closed) >= r.cfg.MaxClosed {
			// Back-pressure: the archive is behind; make room first.
			if err := p.flush(gctx); err != nil {
				log.Error("router: state write abandoned", "err", err)
				return
			}
			if err := p.evict(gctx); err != nil {
				log.Error("router: eviction abandoned", "err", err)
				return
			}
			if len(p.closed) >= r.cfg.MaxClosed {
				if r.waits.Add(1); !p.waiting {
					p.waiting = true
					log.Warn("router: partition waits for the tracking store to record closed dossiers", "closed_in_memory", len(p.closed))
				}
				sleep(gctx, r.cfg.EvictEvery)
				p.lastEvict = time.Now()
				if gctx.Err() != nil {
					p.commit(true)
					return
				}
				continue
			}
		}
		p.waiting = false
		batch, err := r.fetchBatch(gctx, rd, until)
		if err != nil && gctx.Err() == nil && !errors.Is(err, context.DeadlineExceeded) {
			log.Error("router: fetch", "err", err)
			if p.flush(gctx) == nil {
				p.commit(true)
			}
			return
		}
		if len(batch) > 0 {
			if err := p.apply(gctx, batch); err != nil {
				log.Error("router: batch abandoned; state will be rebuilt", "err", err)
				return
			}
		} else if err := p.flush(gctx); err != nil {
			log.Error("router: state write abandoned; state will be rebuilt", "err", err)
			return
		}
		if !time.Now().Before(nextTick) {
			if err := p.tick(gctx); err != nil {
				log.Error("router: overdue tick abandoned", "err", err)
				return
			}
			nextTick = time.Now().Add(r.cfg.TickEvery)
		}
		if time.Since(p.lastEvict) >= r.cfg.EvictEvery {
			if err := p.evict(gctx); err != nil {
				log.Error("router: eviction abandoned", "err", err)
				return
			}
			p.lastEvict = time.Now()
		}
		if gctx.Err() != nil {
			if err := p.flush(gctx); err != nil {
				log.Error("router: state write abandoned at shutdown", "err", err)
				return
			}
			p.commit(true)
			return
		}
		p.commit(false)
	}
}

// fetchBatch waits for a record until the next tick, then takes whatever
// else arrives within BatchWait, up to MaxBatch.
func (r *Runner) fetchBatch(gctx context.Context, rd *kafka.Reader, until time.Time) ([]kafka.Message, error) {
	ctx, cancel := context.WithDeadline(gctx, until)
	m, err := rd.FetchMessage(ctx)
	cancel()
	if err != nil {
		return nil, err
	}
	batch := []kafka.Message{m}
	ctx, cancel = context.WithTimeout(gctx, r.cfg.BatchWait)
	defer cancel()
	for len(batch) < r.cfg.MaxBatch {
		m, err := rd.FetchMessage(ctx)
		if err != nil {
			break
		}
		batch = append(batch, m)
	}
	return batch, nil
}

// apply runs a batch through the engine, then makes its effects durable:
// outputs first, then states, then (later) the offset.
func (p *partition) apply(gctx context.Context, batch []kafka.Message) error {
	r := p.r
	if first := batch[0].Offset; p.next >= 0 && first > p.next {
		// kafka-go moves past records deleted under it without an error:
		// say so, they were accepted and are not routed.
		r.skipped.Add(first - p.next)
		r.cfg.Logger.Error("router: records of the events topic were deleted before they were routed (retention shorter than the router's lag?)",
			"partition", p.id, "from", p.next, "to", first, "missing", first-p.next)
	}
	var outs []kafka.Message
	dirty := newDirtySet()
	evs := make([]event.Event, len(batch))
	ok := make([]bool, len(batch))
	var missing []string
	for i, m := range batch {
		var ev event.Event
		if err := json.Unmarshal(m.Value, &ev); err != nil || ev.ID == "" || ev.Type == "" {
			if err == nil {
				err = errors.New("not a CloudEvent: id or type missing")
			}
			outs = append(outs, r.rejectedRecord(m, problem.NotJSON, err.Error()))
			r.refused.Add(1)
			continue
		}
		if key := string(m.Key); key != ev.Subject {
			// The dossier's state lives on the partition of its code: an
			// event keyed otherwise cannot be applied consistently.
			outs = append(outs, r.rejectedRecord(m, problem.SubjectMismatch, fmt.Sprintf("record key %q is not the subject %q", key, ev.Subject)))
			r.refused.Add(1)
			continue
		}
		evs[i], ok[i] = ev, true
		if p.states[ev.Subject] == nil {
			missing = append(missing, ev.Subject)
		}
	}
	// Codes not in memory: new dossiers, or closed ones in the archive.
	archived, err := p.lookup(gctx, missing)
	if err != nil {
		return err
	}
	for i, m := range batch {
		if !ok[i] {
			continue
		}
		ev := evs[i]
		st := p.states[ev.Subject]
		if st == nil {
			if a, in := archived[ev.Subject]; in {
				if a.Offset >= m.Offset {
					continue // applied before it was archived
				}
				if rej := r.refuseArchived(ev, a.Status, acceptedAt(m, ev), &outs, m); rej != nil {
					outs = append(outs, r.rejectedRecord(m, rej.Reason, rej.Detail))
					r.refused.Add(1)
				}
				continue
			}
		}
		if st != nil && st.Offset >= m.Offset {
			continue // applied before a crash or rebalance
		}
		actx, span := telemetry.StartApply(gctx, r.cfg.Tracer, m, ev.Type, ev.Subject)
		n, res, rej := r.eng.Apply(st, ev, acceptedAt(m, ev))
		outs = r.appendOutputs(actx, outs, res, m)
		var refused problem.Type
		if rej != nil {
			outs = append(outs, r.rejectedRecord(m, rej.Reason, rej.Detail))
			r.refused.Add(1)
			refused = rej.Reason
		}
		telemetry.EndApply(span, len(res), string(refused))
		if n != st {
			n.Offset = m.Offset
			if st == nil {
				r.inMemory.Add(1)
			}
			p.states[ev.Subject] = n
			if router.Closed(n.Status) {
				p.closed[n.Code] = struct{}{}
			}
			dirty.add(n)
			r.applied.Add(1)
		}
	}
	p.next = batch[len(batch)-1].Offset + 1
	if err := p.persist(gctx, outs, dirty); err != nil {
		return err
	}
	r.batches.Add(1)
	r.records.Add(int64(len(batch)))
	return nil
}

// refuseArchived answers an event for a dossier that left memory closed: a
// submission of its code again is dossier-exists, anything else
// dossier-closed, with message.rejected to an agency sender as usual.
func (r *Runner) refuseArchived(ev event.Event, status string, at time.Time, outs *[]kafka.Message, cause kafka.Message) *router.Rejection {
	stub := &router.State{Code: ev.Subject, Status: status}
	if !router.Closed(status) {
		// Only closed dossiers are ever evicted; an open one in the archive
		// but not here means the state topic lost it. Refuse rather than
		// route it on an empty state.
		r.cfg.Logger.Error("router: dossier in the archive but not in the state topic; its events are refused", "dossier", ev.Subject, "status", status)
		stub.Status = router.StatusRejected
	}
	_, res, rej := r.eng.Apply(stub, ev, at)
	*outs = r.appendOutputs(telemetry.FromKafka(context.Background(), cause.Headers), *outs, res, cause)
	return rej
}

// lookup asks the archive about codes, retrying while the partition is
// ours: a store that is down stalls this partition (nothing is skipped),
// while the gateway goes on accepting into Kafka.
func (p *partition) lookup(gctx context.Context, codes []string) (map[string]Archived, error) {
	arch := p.r.cfg.Archive
	if arch == nil || len(codes) == 0 {
		return nil, nil
	}
	backoff := 100 * time.Millisecond
	for attempt := 1; ; attempt++ {
		ctx, cancel := context.WithTimeout(gctx, 10*time.Second)
		m, err := arch.Lookup(ctx, codes)
		cancel()
		p.r.archiveLookups.Add(1)
		if err == nil {
			return m, nil
		}
		p.r.archiveFailures.Add(1)
		if gctx.Err() != nil {
			return nil, fmt.Errorf("archive lookup: %w", err)
		}
		if attempt == 1 || attempt%20 == 0 {
			p.r.cfg.Logger.Warn("router: the archive (tracking store) does not answer; this partition waits", "partition", p.id, "attempt", attempt, "err", err)
		}
		sleep(gctx, backoff)
		backoff = min(backoff*2, 5*time.Second)
	}
}

// evict drops from memory the closed dossiers whose final state the archive
// holds, and tombstones them on the compacted state topic so that a restart
// reads only what is open: memory and start-up follow the work in flight,
// not the history. The archive holding the final state proves it durable
// on the state topic, so the tombstone lands after it.
func (p *partition) evict(gctx context.Context) error {
	if p.r.cfg.Archive == nil || len(p.closed) == 0 {
		return nil
	}
	codes := make([]string, 0, len(p.closed))
	for code := range p.closed {
		codes = append(codes, code)
		if len(codes) == 5000 {
			break
		}
	}
	ctx, cancel := context.WithTimeout(gctx, 10*time.Second)
	have, err := p.r.cfg.Archive.Lookup(ctx, codes)
	cancel()
	p.r.archiveLookups.Add(1)
	if err != nil {
		p.r.archiveFailures.Add(1)
		p.r.cfg.Logger.Debug("router: eviction lookup", "partition", p.id, "err", err)
		return nil // closed dossiers stay in memory until the store answers
	}
	var tombs []kafka.Message
	for _, code := range codes {
		st := p.states[code]
		a, ok := have[code]
		if st == nil {
			delete(p.closed, code)
			continue
		}
		if !ok || a.Offset < st.Offset || !router.Closed(a.Status) {
			continue // the store has not caught up yet
		}
		tombs = append(tombs, kafka.Message{Topic: p.r.state, Key: []byte(code)})
	}
	if len(tombs) == 0 {
		return nil
	}
	if err := p.r.write(gctx, tombs); err != nil {
		return fmt.Errorf("write %d tombstones: %w", len(tombs), err)
	}
	for _, m := range tombs {
		delete(p.states, string(m.Key))
		delete(p.closed, string(m.Key))
	}
	p.r.evicted.Add(int64(len(tombs)))
	p.r.inMemory.Add(-int64(len(tombs)))
	return nil
}

// tick raises overdue events for this partition's dossiers.
func (p *partition) tick(gctx context.Context) error {
	now := p.r.cfg.Now()
	var outs []kafka.Message
	dirty := newDirtySet()
	for code, st := range p.states {
		n, res := p.r.eng.Tick(st, now)
		if n == st {
			continue
		}
		p.states[code] = n
		dirty.add(n)
		outs = p.r.appendOutputs(context.Background(), outs, res, kafka.Message{})
	}
	p.r.ticks.Add(1)
	return p.persist(gctx, outs, dirty)
}

// persist writes a batch's outputs together with the previous batch's
// states, waits for the acknowledgement, and keeps this batch's states for
// the next write. If it gives up (only once the generation has ended), the
// caller must drop its in-memory states: they are ahead of what is durable.
func (p *partition) persist(gctx context.Context, outs []kafka.Message, dirty *dirtySet) error {
	states := make([]kafka.Message, 0, len(dirty.list))
	for _, st := range dirty.list {
		states = append(states, kafka.Message{Topic: p.r.state, Key: []byte(st.Code), Value: router.EncodeState(st),
			Headers: []kafka.Header{{Key: kafkabus.HeaderContentType, Value: []byte("application/json")}}})
	}
	nOuts := len(outs)
	if err := p.r.write(gctx, append(outs, p.pending...)); err != nil {
		return fmt.Errorf("write %d outputs and %d states: %w", nOuts, len(p.pending), err)
	}
	p.r.outputs.Add(int64(nOuts))
	p.r.states.Add(int64(len(p.pending)))
	p.durable = p.pendingNext
	p.pending, p.pendingNext = states, p.next
	if len(states) == 0 {
		p.durable = p.next
	}
	return nil
}

// flush writes the pending states, if any.
func (p *partition) flush(gctx context.Context) error {
	if len(p.pending) == 0 {
		return nil
	}
	if err := p.r.write(gctx, p.pending); err != nil {
		return fmt.Errorf("write %d states: %w", len(p.pending), err)
	}
	p.r.states.Add(int64(len(p.pending)))
	p.durable, p.pending = p.pendingNext, nil
	return nil
}

// write retries until Kafka acknowledges. While the partition is ours it
// keeps trying (Kafka down means nothing can move anyway); once the
// generation has ended it makes a last attempt and gives up.
//
// A refusal Kafka will repeat (a record over message.max.bytes, a topic
// the router may not write, a deleted inbox topic) is never skipped:
// skipping would lose an accepted event. It is logged at error level and
// counted (WriteRefusals, lienthong_router_write_refusals_total) so an
// operator fixes the cluster, and the partition resumes where it stopped.
func (r *Runner) write(gctx context.Context, msgs []kafka.Message) error {
	if len(msgs) == 0 {
		return nil
	}
	backoff := 50 * time.Millisecond
	for attempt := 1; ; attempt++ {
		ctx, cancel := context.WithTimeout(context.Background(), r.cfg.WriteTimeout)
		err := r.bus.Writer().WriteMessages(ctx, msgs...)
		cancel()
		if err == nil {
			return nil
		}
		r.writeFailures.Add(1)
		if gctx.Err() != nil && attempt >= 2 {
			return err
		}
		maxBackoff := 2 * time.Second
		if refused(err) {
			r.writeRefusals.Add(1)
			maxBackoff = 30 * time.Second
			r.cfg.Logger.Error("router: Kafka refuses the write; the partition waits until the cluster is fixed (records are never skipped)",
				"records", len(msgs), "attempt", attempt, "err", err)
		} else {
			r.cfg.Logger.Warn("router: write failed; retrying", "records", len(msgs), "attempt", attempt, "err", err)
		}
		time.Sleep(backoff)
		backoff = min(backoff*2, maxBackoff)
	}
}

// refused reports whether Kafka refused a write for a reason that retrying
// does not cure (kafka-go marks the others Temporary).
func refused(err error) bool {
	var tooLarge kafka.MessageTooLargeError
	if errors.As(err, &tooLarge) {
		return true
	}
	var kerr kafka.Error
	if errors.As(err, &kerr) {
		return !kerr.Temporary()
	}
	var werrs kafka.WriteErrors
	if errors.As(err, &werrs) {
		for _, e := range werrs {
			if e != nil && refused(e) {
				return true
			}
		}
	}
	return false
}

// commit stores the offset up to which states are written, when
// CommitEvery has passed (or when forced). A failed commit is harmless: the
// dossiers' states hold their applied offsets, so the records replayed are
// skipped.
func (p *partition) commit(force bool) {
	if p.durable == p.committed || (!force && time.Since(p.lastCommit) < p.r.cfg.CommitEvery) {
		return
	}
	p.r.commitMu.Lock()
	// The generation's coordinator connection has a deadline (5 s): this
	// cannot hang the way a reader's CommitMessages can.
	err := p.gen.CommitOffsets(map[string]map[int]int64{p.r.events: {p.id: p.durable}})
	p.r.commitMu.Unlock()
	p.lastCommit = time.Now()
	if err != nil {
		p.r.cfg.Logger.Debug("router: commit", "partition", p.id, "offset", p.durable, "err", err)
		return
	}
	p.committed = p.durable
}

// appendOutputs makes the records of an event's outputs, with the trace
// context of tc (the apply span's, or the cause's) in their traceparent.
func (r *Runner) appendOutputs(tc context.Context, recs []kafka.Message, outs []router.Output, cause kafka.Message) []kafka.Message {
	for _, o := range outs {
		var value []byte
		if o.Forward && cause.Value != nil {
			value = cause.Value // relayed byte for byte
		} else {
			value = router.EncodeEvent(o.Event)
		}
		var hs []kafka.Header
		telemetry.ToKafka(tc, &hs)
		if r.known != nil && !r.known[o.To] {
			hs = append(hs, kafkabus.ErrorHeader(problem.UnknownRecipient, o.To))
			recs = append(recs, kafkabus.Record(r.reject, o.Event.Subject, value, hs...))
			continue
		}
		recs = append(recs, kafkabus.Record(r.bus.Topic(kafkabus.InboxTopic(o.To)), o.Event.Subject, value, hs...))
	}
	return recs
}

// rejectedRecord copies a refused record to the rejected topic for audit,
// with the reason in the lienthong-error header.
func (r *Runner) rejectedRecord(m kafka.Message, reason problem.Type, detail string) kafka.Message {
	hs := []kafka.Header{kafkabus.ErrorHeader(reason, detail)}
	if tp := kafkabus.Header(m, kafkabus.HeaderTraceparent); tp != "" {
		hs = append(hs, kafka.Header{Key: kafkabus.HeaderTraceparent, Value: []byte(tp)})
	}
	return kafkabus.Record(r.reject, string(m.Key), m.Value, hs...)
}

// acceptedAt is when the bus accepted the record: the gateway's header, else
// the record timestamp, else the event's own time. Stable across replays.
func acceptedAt(m kafka.Message, ev event.Event) time.Time {
	if s := kafkabus.Header(m, kafkabus.HeaderAcceptedAt); s != "" {
		if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
			return t
		}
	}
	if m.Time.Year() > 2000 {
		return m.Time
	}
	t, _ := time.Parse(time.RFC3339Nano, ev.Time)
	return t
}

// rebuild reads the state topic's partition with the events partition's
// number from the start to its high-water mark. For each dossier the state
// with the highest applied offset wins (the latest written on a tie), which
// also shields against a stale write landing late.
func (r *Runner) rebuild(ctx context.Context, id int) (map[string]*router.State, error) {
	states := map[string]*router.State{}
	first, hwm, err := partitionBounds(ctx, r.bus, r.state, id)
	if err != nil || hwm <= first {
		return states, err
	}
	rd := r.bus.NewReader(kafka.ReaderConfig{Topic: r.state, Partition: id})
	defer rd.Close()
	if err := rd.SetOffset(kafka.FirstOffset); err != nil {
		return nil, fmt.Errorf("seek state partition %d: %w", id, err)
	}
	for {
		m, err := rd.FetchMessage(ctx)
		if err != nil {
			return nil, fmt.Errorf("read state partition %d: %w", id, err)
		}
		if m.Value == nil {
			// A tombstone: the dossier closed and the archive holds it.
			delete(states, string(m.Key))
		} else {
			var st router.State
			if err := json.Unmarshal(m.Value, &st); err == nil && st.Code != "" {
				if old := states[st.Code]; old == nil || st.Offset >= old.Offset {
					states[st.Code] = &st
				}
			}
		}
		if m.Offset+1 >= hwm {
			return states, nil
		}
	}
}

// partitionBounds returns the first offset and the high-water mark of a
// partition.
func partitionBounds(ctx context.Context, bus *kafkabus.Bus, topic string, id int) (int64, int64, error) {
	bs, err := bus.Offsets(ctx, topic, id)
	if err != nil {
		return 0, 0, err
	}
	return bs[id].First, bs[id].End, nil
}

// dirtySet keeps the states changed in a batch, once each, in order.
type dirtySet struct {
	idx  map[string]int
	list []*router.State
}

func newDirtySet() *dirtySet { return &dirtySet{idx: map[string]int{}} }

func (d *dirtySet) add(st *router.State) {
	if i, ok := d.idx[st.Code]; ok {
		d.list[i] = st
		return
	}
	d.idx[st.Code] = len(d.list)
	d.list = append(d.list, st)
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
