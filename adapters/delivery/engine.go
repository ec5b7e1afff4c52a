// Package delivery is the engine that takes every event of one agency's
// inbox topic to that agency's department system through an adapters.Driver.
//
// It is public, next to the Driver contract, so that an integrator can run
// the same engine in their own binary around their own driver (and so that
// adaptertest can test drivers inside the real thing); `lienthong serve`
// runs one engine per webhook agency.
//
// What it guarantees, for every driver:
//   - Events of one dossier (one Kafka key) are delivered in order: each
//     dossier has its own queue and at most one delivery in progress.
//   - A dossier that is retrying does not hold up other dossiers of the same
//     partition: backoff waits hold no concurrency slot and block only that
//     dossier's queue.
//   - Offsets are committed only up to the lowest unfinished record of each
//     partition: a crash or a rebalance replays, never skips. Records count
//     as finished once delivered or once their dead letter is acknowledged.
//   - Transient failures are retried with capped exponential backoff with
//     jitter, honouring a driver's Retry-After hint up to the cap, up to
//     MaxAttempts; permanent failures and exhausted retries go to the
//     agency's dead-letter topic. A later event of the same dossier is then
//     delivered all the same: the dead letter is the operator's to replay,
//     and holding every later event of the dossier behind it would stall the
//     dossier's whole route on one bad message.
//   - Memory is bounded: at most MaxInFlight records per partition are
//     fetched and unfinished; beyond that the partition stops fetching.
//   - Shutdown (or the end of a consumer-group generation) stops fetching
//     and retrying, lets the records already fetched have their current
//     attempt up to ShutdownTimeout, then cancels what is still in progress
//     and commits what is finished.
package delivery

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strconv"
	"sync"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/lienthong/lienthong/adapters"
	"github.com/lienthong/lienthong/internal/kafkabus"
	"github.com/lienthong/lienthong/problem"
)

// Options tune an engine. Zero values take the defaults shown.
type Options struct {
	MaxAttempts     int           // tries per event before dead-lettering; 10
	MinBackoff      time.Duration // first retry wait and floor of every wait; 500ms
	MaxBackoff      time.Duration // cap of every wait, Retry-After included; 5m
	Concurrency     int           // deliveries in progress at once for the agency; 16
	MaxInFlight     int           // fetched but unfinished records per partition; 1000
	CommitInterval  time.Duration // how often finished offsets are committed; 1s
	ShutdownTimeout time.Duration // how long deliveries in progress may finish on stop; 10s
	FetchMaxWait    time.Duration // the partition readers' MaxWait; 1s
	Metrics         Metrics       // optional
	Logger          *slog.Logger  // optional; never given event bodies
}

func (o Options) withDefaults() Options {
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = 10
	}
	if o.MinBackoff <= 0 {
		o.MinBackoff = 500 * time.Millisecond
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = 5 * time.Minute
	}
	if o.MaxBackoff < o.MinBackoff {
		o.MaxBackoff = o.MinBackoff
	}
	if o.Concurrency <= 0 {
		o.Concurrency = 16
	}
	if o.MaxInFlight <= 0 {
		o.MaxInFlight = 1000
	}
	if o.CommitInterval <= 0 {
		o.CommitInterval = time.Second
	}
	if o.ShutdownTimeout <= 0 {
		o.ShutdownTimeout = 10 * time.Second
	}
	if o.FetchMaxWait <= 0 {
		o.FetchMaxWait = time.Second
	}
	if o.Metrics == nil {
		o.Metrics = nopMetrics{}
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// Metrics receives the engine's counts; the server maps them to Prometheus.
// Methods are called concurrently and must not block.
type Metrics interface {
	Delivered(agency string, attempts int, latency time.Duration)
	Retried(agency string, status int)
	DeadLettered(agency string, reason string)
}

type nopMetrics struct{}

func (nopMetrics) Delivered(string, int, time.Duration) {}
func (nopMetrics) Retried(string, int)                  {}
func (nopMetrics) DeadLettered(string, string)          {}

// Config says what an engine consumes and where it dead-letters.
type Config struct {
	Agency     string
	Driver     adapters.Driver
	Brokers    []string
	Dialer     *kafka.Dialer // TLS and SASL for readers and the group; nil: kafka.DefaultDialer
	Writer     *kafka.Writer // the dead-letter producer: RequiredAcks must be RequireAll
	InboxTopic string        // full topic name
	DLQTopic   string        // full topic name
	GroupID    string        // default GroupID(Agency)
	Options
}

// GroupID is the consumer group of an agency's delivery engine.
func GroupID(agency string) string { return "lienthong-delivery-" + agency }

// Header names the engine reads or writes besides kafkabus's.
const (
	// HeaderReplay marks a record re-published from the dead-letter topic.
	HeaderReplay = "lienthong-replay"
	// HeaderFailedAt is when the record was dead-lettered (RFC 3339).
	HeaderFailedAt = "lienthong-failed-at"
	// HeaderAgency names the agency a dead letter was meant for.
	HeaderAgency = "lienthong-agency"
)

// Engine delivers one agency's inbox. Run it once.
type Engine struct {
	cfg Config
	o   Options
	sem chan struct{} // agency-wide concurrency
}

// New checks cfg and makes an engine.
func New(cfg Config) (*Engine, error) {
	switch {
	case cfg.Agency == "":
		return nil, errors.New("delivery: no agency")
	case cfg.Driver == nil:
		return nil, fmt.Errorf("delivery %s: no driver", cfg.Agency)
	case len(cfg.Brokers) == 0:
		return nil, fmt.Errorf("delivery %s: no brokers", cfg.Agency)
	case cfg.Writer == nil:
		return nil, fmt.Errorf("delivery %s: no dead-letter writer", cfg.Agency)
	case cfg.InboxTopic == "" || cfg.DLQTopic == "":
		return nil, fmt.Errorf("delivery %s: inbox and dead-letter topics are required", cfg.Agency)
	}
	if cfg.GroupID == "" {
		cfg.GroupID = GroupID(cfg.Agency)
	}
	if cfg.Dialer == nil {
		cfg.Dialer = kafka.DefaultDialer
	}
	o := cfg.Options.withDefaults()
	cfg.Options = o
	return &Engine{cfg: cfg, o: o, sem: make(chan struct{}, o.Concurrency)}, nil
}

// Run consumes until ctx ends, then shuts down cleanly (see the package doc)
// and returns nil; it returns an error only when it cannot start.
func (e *Engine) Run(ctx context.Context) error {
	group, err := kafka.NewConsumerGroup(kafkabus.GroupConfig(e.cfg.GroupID, e.cfg.Brokers, e.cfg.Dialer, e.o.Logger, e.cfg.InboxTopic))
	if err != nil {
		return fmt.Errorf("delivery %s: consumer group: %w", e.cfg.Agency, err)
	}
	defer group.Close()
	for {
		gen, err := group.Next(ctx)
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, kafka.ErrGroupClosed) {
				return nil
			}
			e.o.Logger.Warn("delivery: join group", "agency", e.cfg.Agency, "err", err)
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(500 * time.Millisecond):
			}
			continue
		}
		var ids []int
		for _, pa := range gen.Assignments[e.cfg.InboxTopic] {
			ids = append(ids, pa.ID)
		}
		e.o.Logger.Info("delivery: partitions assigned", "agency", e.cfg.Agency, "generation", gen.ID, "member", gen.MemberID, "partitions", ids)
		// One function for the whole generation: kafka-go ends a generation
		// as soon as any function started on it returns.
		finished := make(chan struct{})
		gen.Start(func(gctx context.Context) {
			defer close(finished)
			e.runGeneration(ctx, gctx, gen)
		})
		<-finished
		e.o.Logger.Info("delivery: generation ended", "agency", e.cfg.Agency, "generation", gen.ID)
		if ctx.Err() != nil {
			return nil
		}
	}
}

// runGeneration delivers the partitions assigned in gen until either the
// engine stops (ctx) or the generation ends (gctx), then drains and commits.
func (e *Engine) runGeneration(ctx, gctx context.Context, gen *kafka.Generation) {
	stop, stopCancel := context.WithCancel(context.Background())
	defer stopCancel()
	go func() {
		select {
		case <-ctx.Done():
		case <-gctx.Done():
		case <-stop.Done():
		}
		stopCancel()
	}()
	hard, hardCancel := context.WithCancel(context.Background())
	defer hardCancel()

	var parts []*partition
	for _, pa := range gen.Assignments[e.cfg.InboxTopic] {
		parts = append(parts, e.newPartition(pa.ID, pa.Offset))
	}
	var fetchers, workers sync.WaitGroup
	for _, p := range parts {
		fetchers.Add(1)
		go func() {
			defer fetchers.Done()
			p.fetch(stop, hard, &workers)
		}()
	}
	commitDone := make(chan struct{})
	go func() {
		defer close(commitDone)
		t := time.NewTicker(e.o.CommitInterval)
		defer t.Stop()
		for {
			select {
			case <-stop.Done():
				return
			case <-t.C:
				e.commit(gen, parts)
			}
		}
	}()

	<-stop.Done()
	fetchers.Wait()
	<-commitDone
	drained := make(chan struct{})
	go func() { workers.Wait(); close(drained) }()
	select {
	case <-drained:
	case <-time.After(e.o.ShutdownTimeout):
		hardCancel()
		<-drained
	}
	e.commit(gen, parts)
	var closing sync.WaitGroup
	for _, p := range parts {
		closing.Add(1)
		go func() { defer closing.Done(); _ = p.reader.Close() }()
	}
	closing.Wait()
}

// commit commits every partition's finished prefix that moved since the
// last commit. CommitOffsets takes no context, so a stuck coordinator is cut
// off by a timeout here rather than hanging shutdown.
func (e *Engine) commit(gen *kafka.Generation, parts []*partition) {
	offs := map[int]int64{}
	for _, p := range parts {
		if off, ok := p.track.toCommit(); ok {
			offs[p.id] = off
		}
	}
	if len(offs) == 0 {
		return
	}
	errc := make(chan error, 1)
	go func() { errc <- gen.CommitOffsets(map[string]map[int]int64{e.cfg.InboxTopic: offs}) }()
	select {
	case err := <-errc:
		if err != nil {
			e.o.Logger.Warn("delivery: commit offsets", "agency", e.cfg.Agency, "err", err)
			return
		}
		for _, p := range parts {
			if off, ok := offs[p.id]; ok {
				p.track.committed(off)
			}
		}
	case <-time.After(10 * time.Second):
		e.o.Logger.Warn("delivery: commit offsets timed out", "agency", e.cfg.Agency)
	}
}

// partition is the state of one assigned partition: its reader, the offsets
// in flight, and a queue per dossier.
type partition struct {
	e      *Engine
	id     int
	reader *kafka.Reader
	track  *tracker
	slots  chan struct{} // MaxInFlight: backpressure on fetching

	mu     sync.Mutex
	queues map[string]*dossierQueue
}

type dossierQueue struct {
	items []kafka.Message
}

func (e *Engine) newPartition(id int, offset int64) *partition {
	queue := e.o.MaxInFlight
	if queue > 100 {
		queue = 100
	}
	r := kafka.NewReader(kafka.ReaderConfig{
		Brokers:        e.cfg.Brokers,
		Dialer:         e.cfg.Dialer,
		Topic:          e.cfg.InboxTopic,
		Partition:      id,
		MinBytes:       1,
		MaxBytes:       10 << 20,
		MaxWait:        e.o.FetchMaxWait,
		QueueCapacity:  queue,
		ReadBackoffMin: 50 * time.Millisecond,
		ReadBackoffMax: time.Second,
	})
	_ = r.SetOffset(offset) // only fails on a reader with a group or already used
	return &partition{e: e, id: id, reader: r, track: newTracker(), slots: make(chan struct{}, e.o.MaxInFlight), queues: map[string]*dossierQueue{}}
}

// fetch reads records while there is room in flight, and hands each to its
// dossier's queue.
func (p *partition) fetch(stop, hard context.Context, workers *sync.WaitGroup) {
	for {
		select {
		case p.slots <- struct{}{}:
		case <-stop.Done():
			return
		}
		m, err := p.reader.FetchMessage(stop)
		if err != nil {
			<-p.slots
			if stop.Err() != nil {
				return
			}
			p.e.o.Logger.Warn("delivery: fetch", "agency", p.e.cfg.Agency, "partition", p.id, "err", err)
			select {
			case <-stop.Done():
				return
			case <-time.After(200 * time.Millisecond):
			}
			continue
		}
		p.track.add(m.Offset)
		p.enqueue(stop, hard, m, workers)
	}
}

func (p *partition) enqueue(stop, hard context.Context, m kafka.Message, workers *sync.WaitGroup) {
	key := string(m.Key)
	p.mu.Lock()
	defer p.mu.Unlock()
	if q, ok := p.queues[key]; ok {
		q.items = append(q.items, m)
		return
	}
	q := &dossierQueue{items: []kafka.Message{m}}
	p.queues[key] = q
	workers.Add(1)
	go func() {
		defer workers.Done()
		p.work(stop, hard, key, q)
	}()
}

// work delivers one dossier's records in order. On shutdown it goes on with
// the records already fetched (first attempts only) until the drain deadline,
// which saves duplicates on restart; it stops at the first record it could
// not finish: the rest stay unfinished and are replayed.
func (p *partition) work(stop, hard context.Context, key string, q *dossierQueue) {
	for {
		p.mu.Lock()
		if len(q.items) == 0 || hard.Err() != nil {
			delete(p.queues, key)
			p.mu.Unlock()
			return
		}
		m := q.items[0]
		q.items = q.items[1:]
		p.mu.Unlock()
		if !p.e.process(stop, hard, m) {
			p.mu.Lock()
			delete(p.queues, key)
			p.mu.Unlock()
			return
		}
		p.track.finish(m.Offset)
		<-p.slots
	}
}

// envelope holds the CloudEvent attributes a driver is given.
type envelope struct {
	ID      string `json:"id"`
	Type    string `json:"type"`
	Subject string `json:"subject"`
	Source  string `json:"source"`
}

// process delivers one record, retrying, or dead-letters it. It reports
// whether the record is finished (delivered or dead-letter acknowledged).
func (e *Engine) process(stop, hard context.Context, m kafka.Message) bool {
	start := time.Now()
	var env envelope
	if err := json.Unmarshal(m.Value, &env); err != nil {
		// Nothing lienthong writes to an inbox is malformed; a record that is
		// must not block its partition forever.
		return e.deadLetter(stop, hard, m, problem.DeliveryRejected, fmt.Errorf("record is not a CloudEvent: %w", err), 0, 0)
	}
	msg := &adapters.Message{ID: env.ID, Type: env.Type, Subject: env.Subject, Source: env.Source, Body: m.Value, Agency: e.cfg.Agency,
		Traceparent: kafkabus.Header(m, kafkabus.HeaderTraceparent)}
	for attempt := 1; ; attempt++ {
		select {
		case e.sem <- struct{}{}:
		case <-hard.Done():
			return false
		}
		msg.Attempt = attempt
		err := e.cfg.Driver.Deliver(hard, msg)
		<-e.sem
		if err == nil {
			e.o.Metrics.Delivered(e.cfg.Agency, attempt, time.Since(start))
			return true
		}
		if hard.Err() != nil {
			return false
		}
		status := adapters.StatusOf(err)
		if adapters.IsPermanent(err) {
			return e.deadLetter(stop, hard, m, problem.DeliveryRejected, err, attempt, status)
		}
		if attempt >= e.o.MaxAttempts {
			return e.deadLetter(stop, hard, m, problem.DeliveryExhausted, err, attempt, status)
		}
		if stop.Err() != nil {
			return false // no retries once shutting down
		}
		e.o.Metrics.Retried(e.cfg.Agency, status)
		wait := adapters.Backoff(e.o.MinBackoff, e.o.MaxBackoff, attempt, adapters.RetryAfterOf(err), rand.Float64())
		e.o.Logger.Debug("delivery: retry", "agency", e.cfg.Agency, "dossier", env.Subject, "id", env.ID, "attempt", attempt, "status", status, "wait", wait)
		t := time.NewTimer(wait)
		select {
		case <-stop.Done():
			t.Stop()
			return false
		case <-t.C:
		}
	}
}

// deadLetter writes m to the agency's dead-letter topic, retrying the write
// until it is acknowledged or the engine is shutting down: a record counts
// as finished only once its dead letter is durable.
func (e *Engine) deadLetter(stop, hard context.Context, m kafka.Message, reason problem.Type, cause error, attempts, status int) bool {
	headers := []kafka.Header{
		kafkabus.ErrorHeader(reason, cause.Error()),
		{Key: kafkabus.HeaderAttempts, Value: []byte(strconv.Itoa(attempts))},
		{Key: kafkabus.HeaderLastStatus, Value: []byte(strconv.Itoa(status))},
		{Key: HeaderFailedAt, Value: []byte(time.Now().UTC().Format(time.RFC3339Nano))},
		{Key: HeaderAgency, Value: []byte(e.cfg.Agency)},
	}
	if tp := kafkabus.Header(m, kafkabus.HeaderTraceparent); tp != "" {
		headers = append(headers, kafka.Header{Key: kafkabus.HeaderTraceparent, Value: []byte(tp)})
	}
	rec := kafkabus.Record(e.cfg.DLQTopic, string(m.Key), m.Value, headers...)
	for try := 1; ; try++ {
		wctx, cancel := context.WithTimeout(hard, 15*time.Second)
		err := e.cfg.Writer.WriteMessages(wctx, rec)
		cancel()
		if err == nil {
			e.o.Metrics.DeadLettered(e.cfg.Agency, string(reason))
			e.o.Logger.Warn("delivery: dead-lettered", "agency", e.cfg.Agency, "dossier", string(m.Key), "offset", m.Offset, "reason", string(reason), "attempts", attempts, "status", status)
			return true
		}
		e.o.Logger.Error("delivery: write dead letter", "agency", e.cfg.Agency, "err", err)
		if stop.Err() != nil {
			return false
		}
		select {
		case <-stop.Done():
			return false
		case <-time.After(adapters.Backoff(100*time.Millisecond, 5*time.Second, try, 0, rand.Float64())):
		}
	}
}

// tracker follows the offsets in flight of one partition and yields the
// offset up to which everything is finished.
type tracker struct {
	mu            sync.Mutex
	pending       []int64 // fetched, in offset order
	done          map[int64]bool
	next          int64 // everything below is finished; -1: nothing yet
	lastCommitted int64
}

func newTracker() *tracker { return &tracker{done: map[int64]bool{}, next: -1, lastCommitted: -1} }

func (t *tracker) add(off int64) {
	t.mu.Lock()
	t.pending = append(t.pending, off)
	t.mu.Unlock()
}

func (t *tracker) finish(off int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.done[off] = true
	for len(t.pending) > 0 && t.done[t.pending[0]] {
		delete(t.done, t.pending[0])
		t.next = t.pending[0] + 1
		t.pending = t.pending[1:]
	}
}

// toCommit returns the offset to commit (the next to read) if it moved.
func (t *tracker) toCommit() (int64, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.next, t.next > t.lastCommitted
}

func (t *tracker) committed(off int64) {
	t.mu.Lock()
	if off > t.lastCommitted {
		t.lastCommitted = off
	}
	t.mu.Unlock()
}
