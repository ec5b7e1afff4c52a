// Package delivery is the server side of delivery to agencies inside
// `lienthong serve`: it maps the config to one engine (adapters/delivery)
// per webhook agency, serves the pull feeds (internal/pullfeed), and keeps the
// dead letters: listing them and replaying them, over HTTP for the admin.
package delivery

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"time"

	"github.com/segmentio/kafka-go"

	engine "github.com/lienthong/lienthong/adapters/delivery"
	"github.com/lienthong/lienthong/internal/auth"
	"github.com/lienthong/lienthong/internal/kafkabus"
	"github.com/lienthong/lienthong/problem"
)

// HeaderReplayed marks a record on a dead-letter topic that says "the dead
// letter of this event id was replayed": the list skips it from then on. A
// marker on the topic itself keeps the list's state durable in Kafka, with
// nothing else to store or back up; a later dead letter of the same id (the
// replay failed again) comes after the marker and lists again.
const HeaderReplayed = "lienthong-replayed"

// ErrNotFound is returned when no listed dead letter has the id.
var ErrNotFound = errors.New("no such dead letter")

// Item is one dead letter as the API shows it.
type Item struct {
	ID         string          `json:"id"`
	Agency     string          `json:"agency"`
	Error      string          `json:"error"`
	Attempts   int             `json:"attempts"`
	LastStatus int             `json:"last_status"`
	FailedAt   time.Time       `json:"failed_at"`
	Event      json.RawMessage `json:"event"`

	key       string
	partition int
	offset    int64
}

// DLQ reads and replays the agencies' dead-letter topics.
type DLQ struct {
	bus      *kafkabus.Bus
	client   *kafka.Client
	agencies []string
}

// NewDLQ serves the dead letters of the given agencies.
func NewDLQ(b *kafkabus.Bus, agencies []string) *DLQ {
	as := append([]string(nil), agencies...)
	sort.Strings(as)
	return &DLQ{bus: b, client: b.Client(), agencies: as}
}

func (d *DLQ) known(agency string) bool {
	i := sort.SearchStrings(d.agencies, agency)
	return i < len(d.agencies) && d.agencies[i] == agency
}

// List returns the agency's dead letters not yet replayed, oldest first per
// dossier.
func (d *DLQ) List(ctx context.Context, agency string) ([]Item, error) {
	topic := d.bus.Topic(kafkabus.DLQTopic(agency))
	parts, err := d.bus.Partitions(ctx, topic)
	if err != nil {
		return nil, err
	}
	sort.Ints(parts)
	reqs := make([]kafka.OffsetRequest, 0, 2*len(parts))
	for _, p := range parts {
		reqs = append(reqs, kafka.FirstOffsetOf(p), kafka.LastOffsetOf(p))
	}
	offs, err := d.client.ListOffsets(ctx, &kafka.ListOffsetsRequest{Topics: map[string][]kafka.OffsetRequest{topic: reqs}})
	if err != nil {
		return nil, fmt.Errorf("list offsets of %s: %w", topic, err)
	}
	var out []Item
	for _, po := range offs.Topics[topic] {
		if po.Error != nil {
			return nil, fmt.Errorf("list offsets of %s/%d: %w", topic, po.Partition, po.Error)
		}
		items, err := d.scan(ctx, agency, topic, po.Partition, po.FirstOffset, po.LastOffset)
		if err != nil {
			return nil, err
		}
		out = append(out, items...)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].FailedAt.Before(out[j].FailedAt) })
	return out, nil
}

// scan reads one partition from first to end and folds dead letters and
// replay markers into the live items, in log order.
func (d *DLQ) scan(ctx context.Context, agency, topic string, p int, first, end int64) ([]Item, error) {
	live := map[string]int{} // id -> index in items
	var items []Item
	off := first
	for off < end {
		resp, err := d.client.Fetch(ctx, &kafka.FetchRequest{Topic: topic, Partition: p, Offset: off, MinBytes: 1, MaxBytes: 8 << 20, MaxWait: 100 * time.Millisecond})
		if err != nil {
			return nil, fmt.Errorf("fetch %s/%d at %d: %w", topic, p, off, err)
		}
		if resp.Error != nil {
			return nil, fmt.Errorf("fetch %s/%d at %d: %w", topic, p, off, resp.Error)
		}
		n := 0
		for {
			rec, err := resp.Records.ReadRecord()
			if err != nil {
				break
			}
			if rec.Offset < off {
				continue
			}
			off = rec.Offset + 1
			n++
			hs := map[string]string{}
			for _, h := range rec.Headers {
				hs[h.Key] = string(h.Value)
			}
			if id, ok := hs[HeaderReplayed]; ok {
				if i, ok := live[id]; ok {
					items[i].ID = "" // replayed
					delete(live, id)
				}
				continue
			}
			val, err := readBytes(rec.Value)
			if err != nil {
				return nil, fmt.Errorf("read %s/%d at %d: %w", topic, p, rec.Offset, err)
			}
			key, _ := readBytes(rec.Key)
			var env struct {
				ID string `json:"id"`
			}
			_ = json.Unmarshal(val, &env)
			it := Item{ID: env.ID, Agency: agency, Error: hs[kafkabus.HeaderError], Event: json.RawMessage(val), key: string(key), partition: p, offset: rec.Offset}
			it.Attempts, _ = strconv.Atoi(hs[kafkabus.HeaderAttempts])
			it.LastStatus, _ = strconv.Atoi(hs[kafkabus.HeaderLastStatus])
			it.FailedAt, _ = time.Parse(time.RFC3339Nano, hs[engine.HeaderFailedAt])
			if it.FailedAt.IsZero() {
				it.FailedAt = rec.Time
			}
			if !json.Valid(val) {
				it.Event = nil
			}
			if i, ok := live[it.ID]; ok {
				items[i].ID = "" // the newer dead letter of the same id wins
			}
			live[it.ID] = len(items)
			items = append(items, it)
		}
		if n == 0 {
			break
		}
	}
	out := items[:0]
	for _, it := range items {
		if it.ID != "" {
			out = append(out, it)
		}
	}
	return out, nil
}

func readBytes(b kafka.Bytes) ([]byte, error) {
	if b == nil {
		return nil, nil
	}
	return io.ReadAll(b)
}

// Replay re-publishes the listed dead letter with the id (of agency, or of
// any agency when agency is ""), then marks it replayed.
func (d *DLQ) Replay(ctx context.Context, agency, id string) (Item, error) {
	agencies := d.agencies
	if agency != "" {
		agencies = []string{agency}
	}
	for _, a := range agencies {
		items, err := d.List(ctx, a)
		if err != nil {
			return Item{}, err
		}
		for _, it := range items {
			if it.ID == id {
				return it, d.replay(ctx, it)
			}
		}
	}
	return Item{}, ErrNotFound
}

// ReplayAll replays every listed dead letter of the agency, in order.
func (d *DLQ) ReplayAll(ctx context.Context, agency string) ([]Item, error) {
	items, err := d.List(ctx, agency)
	if err != nil {
		return nil, err
	}
	// Log order per partition keeps each dossier's events in their order.
	sort.SliceStable(items, func(i, j int) bool {
		if items[i].partition != items[j].partition {
			return items[i].partition < items[j].partition
		}
		return items[i].offset < items[j].offset
	})
	for i, it := range items {
		if err := d.replay(ctx, it); err != nil {
			return items[:i], err
		}
	}
	return items, nil
}

// replay writes the event back to the end of the agency's inbox (same key,
// so the same partition, after everything already there), and only once
// that is acknowledged writes the marker: a crash between the two replays
// again later, a duplicate that receivers dedupe on id.
func (d *DLQ) replay(ctx context.Context, it Item) error {
	inbox := kafkabus.Record(d.bus.Topic(kafkabus.InboxTopic(it.Agency)), it.key, it.Event,
		kafka.Header{Key: engine.HeaderReplay, Value: []byte(fmt.Sprintf("dlq/%d/%d", it.partition, it.offset))})
	if err := d.bus.Writer().WriteMessages(ctx, inbox); err != nil {
		return fmt.Errorf("replay %s to %s: %w", it.ID, it.Agency, err)
	}
	marker := kafka.Message{Topic: d.bus.Topic(kafkabus.DLQTopic(it.Agency)), Key: []byte(it.key), Value: nil,
		Headers: []kafka.Header{{Key: HeaderReplayed, Value: []byte(it.ID)}}}
	if err := d.bus.Writer().WriteMessages(ctx, marker); err != nil {
		return fmt.Errorf("mark %s of %s replayed: %w", it.ID, it.Agency, err)
	}
	return nil
}

// Routes registers the admin endpoints:
//
//	GET  /v1/dlq?agency=CODE         list (every agency without agency)
//	POST /v1/dlq/{id}/replay?agency= replay one (agency optional)
//	POST /v1/dlq/replay?agency=CODE  replay all of an agency
func (d *DLQ) Routes(mux *http.ServeMux) {
	mux.HandleFunc("GET /v1/dlq", d.admin(d.serveList))
	mux.HandleFunc("POST /v1/dlq/{id}/replay", d.admin(d.serveReplay))
	mux.HandleFunc("POST /v1/dlq/replay", d.admin(d.serveReplayAll))
}

func (d *DLQ) admin(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		p, ok := auth.FromContext(r.Context())
		if !ok {
			problem.Send(w, http.StatusUnauthorized, problem.Unauthorized, "no credentials")
			return
		}
		if !p.Admin {
			problem.Send(w, http.StatusForbidden, problem.Forbidden, "dead letters are for the admin")
			return
		}
		agency := r.URL.Query().Get("agency")
		if agency != "" && !d.known(agency) {
			problem.Send(w, http.StatusNotFound, problem.NotFound, "unknown agency "+agency)
			return
		}
		h(w, r)
	}
}

func (d *DLQ) serveList(w http.ResponseWriter, r *http.Request) {
	agencies := d.agencies
	if a := r.URL.Query().Get("agency"); a != "" {
		agencies = []string{a}
	}
	items := []Item{}
	for _, a := range agencies {
		its, err := d.List(r.Context(), a)
		if err != nil {
			unavailable(w, err)
			return
		}
		items = append(items, its...)
	}
	writeJSON(w, map[string]any{"items": items})
}

func (d *DLQ) serveReplay(w http.ResponseWriter, r *http.Request) {
	it, err := d.Replay(r.Context(), r.URL.Query().Get("agency"), r.PathValue("id"))
	switch {
	case errors.Is(err, ErrNotFound):
		problem.Send(w, http.StatusNotFound, problem.NotFound, "no dead letter with id "+r.PathValue("id"))
	case err != nil:
		unavailable(w, err)
	default:
		writeJSON(w, map[string]any{"replayed": []Item{it}})
	}
}

func (d *DLQ) serveReplayAll(w http.ResponseWriter, r *http.Request) {
	agency := r.URL.Query().Get("agency")
	if agency == "" {
		problem.Send(w, http.StatusBadRequest, problem.BadRequest, "agency is required")
		return
	}
	items, err := d.ReplayAll(r.Context(), agency)
	if err != nil {
		unavailable(w, err)
		return
	}
	if items == nil {
		items = []Item{}
	}
	writeJSON(w, map[string]any{"replayed": items})
}

func unavailable(w http.ResponseWriter, err error) {
	w.Header().Set("Retry-After", "5")
	problem.Send(w, http.StatusServiceUnavailable, problem.KafkaUnavailable, err.Error())
}

func writeJSON(w http.ResponseWriter, v any) {
	body, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(body)
}
