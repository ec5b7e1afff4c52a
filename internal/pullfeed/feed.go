// Package pullfeed serves the inbox feed of agencies in pull mode, which read their
// events over HTTP from behind a firewall (DESIGN.md sections 6 and 7):
//
//	GET /v1/agencies/{code}/inbox?after=<cursor>&limit=&wait=
//	-> {"events": [CloudEvent...], "next": "<cursor>"}
//
// The feed reads the agency's inbox topic directly (kafka-go Client.Fetch per
// partition, one pooled client per Feed, no consumer group): an agency
// acknowledges by sending the next cursor, and nothing is ever deleted, so a
// system that lost its place can start again from an older cursor.
//
// Rules:
//   - Only the agency itself may read its inbox: any other caller, the admin
//     included, gets 403 forbidden (the admin inspects inboxes through
//     dossier tracking, and a feed read leaves no trace to audit).
//   - An agency not in pull mode gets 404 not-found: it has no feed.
//   - The cursor is opaque: base64url of partition -> next offset with a
//     version byte and an HMAC binding it to the inbox topic, so a cursor of
//     another agency, or a corrupt one, is 400 bad-cursor. No cursor: from
//     the oldest event kept.
//   - limit: default 100, 1..1000. wait: a Go duration or seconds, up to
//     30s; with nothing new, the call holds until an event arrives or wait
//     passes, then answers with no events and the same cursor.
//   - Events of one dossier come in order (one partition, read in order);
//     across dossiers there is no order. Each answer shares limit fairly
//     among partitions with news first.
//
// It is the server's half; agencies use the client in adapters/pull.
package pullfeed

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/lienthong/lienthong/adapters/pull"
	"github.com/lienthong/lienthong/internal/auth"
	"github.com/lienthong/lienthong/internal/kafkabus"
	"github.com/lienthong/lienthong/problem"
)

// Options configure a Feed.
type Options struct {
	// IsPull reports whether an agency is in pull mode. Required.
	IsPull func(agency string) bool
	// CursorKey keys the cursor HMAC; nil: a fixed key (a checksum binding
	// the cursor to its topic).
	CursorKey []byte
	// PollInterval is how often a long poll looks for news; 200ms.
	PollInterval time.Duration
}

// Feed serves the pull inboxes of one bus.
type Feed struct {
	bus    *kafkabus.Bus
	o      Options
	client *kafka.Client

	mu    sync.Mutex
	parts map[string][]int
}

// NewFeed makes the feed; it does not dial.
func NewFeed(b *kafkabus.Bus, o Options) *Feed {
	if o.CursorKey == nil {
		o.CursorKey = defaultCursorKey
	}
	if o.PollInterval <= 0 {
		o.PollInterval = 200 * time.Millisecond
	}
	if o.IsPull == nil {
		o.IsPull = func(string) bool { return false }
	}
	return &Feed{bus: b, o: o, client: b.Client(), parts: map[string][]int{}}
}

// Pattern is the route of the feed on a Go 1.22 ServeMux.
const Pattern = "GET /v1/agencies/{code}/inbox"

// Routes registers the feed on mux.
func (f *Feed) Routes(mux *http.ServeMux) { mux.Handle(Pattern, f) }

// ServeHTTP answers the feed request; the caller's Principal must be in the
// request context (auth middleware).
func (f *Feed) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	code := r.PathValue("code")
	p, ok := auth.FromContext(r.Context())
	if !ok {
		problem.Send(w, http.StatusUnauthorized, problem.Unauthorized, "no credentials")
		return
	}
	if p.Agency == "" || p.Agency != code {
		problem.Send(w, http.StatusForbidden, problem.Forbidden, "only the agency itself may read its inbox")
		return
	}
	if !f.o.IsPull(code) {
		problem.Send(w, http.StatusNotFound, problem.NotFound, "agency "+code+" is not in pull mode: it has no inbox feed")
		return
	}
	q := r.URL.Query()
	limit, err := parseLimit(q.Get("limit"))
	if err != nil {
		problem.Send(w, http.StatusBadRequest, problem.BadRequest, err.Error())
		return
	}
	wait, err := parseWait(q.Get("wait"))
	if err != nil {
		problem.Send(w, http.StatusBadRequest, problem.BadRequest, err.Error())
		return
	}
	page, err := f.Read(r.Context(), code, q.Get("after"), limit, wait)
	switch {
	case errors.Is(err, problem.ErrBadCursor):
		problem.Send(w, http.StatusBadRequest, problem.BadCursor, "the cursor is corrupt or not one of this inbox")
		return
	case err != nil && r.Context().Err() != nil:
		return // the caller went away
	case err != nil:
		w.Header().Set("Retry-After", "5")
		problem.Send(w, http.StatusServiceUnavailable, problem.KafkaUnavailable, "inbox unreadable: "+err.Error())
		return
	}
	body, _ := json.Marshal(page)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(body)
}

func parseLimit(s string) (int, error) {
	if s == "" {
		return pull.DefaultLimit, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > pull.MaxLimit {
		return 0, fmt.Errorf("limit must be an integer from 1 to %d", pull.MaxLimit)
	}
	return n, nil
}

func parseWait(s string) (time.Duration, error) {
	if s == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		n, err2 := strconv.Atoi(s)
		if err2 != nil {
			return 0, errors.New(`wait must be a duration ("10s") or seconds`)
		}
		d = time.Duration(n) * time.Second
	}
	if d < 0 || d > pull.MaxWait {
		return 0, fmt.Errorf("wait must be from 0 to %s", pull.MaxWait)
	}
	return d, nil
}

// Read returns up to limit events of the agency's inbox after cursor,
// waiting up to wait for the first one.
func (f *Feed) Read(ctx context.Context, agency, cursor string, limit int, wait time.Duration) (pull.Page, error) {
	topic := f.bus.Topic(kafkabus.InboxTopic(agency))
	offs, err := decodeCursor(f.o.CursorKey, topic, cursor)
	if err != nil {
		return pull.Page{}, err
	}
	if limit <= 0 || limit > pull.MaxLimit {
		limit = pull.DefaultLimit
	}
	parts, err := f.partitions(ctx, topic)
	if err != nil {
		return pull.Page{}, err
	}
	deadline := time.Now().Add(wait)
	for {
		first, last, err := f.bounds(ctx, topic, parts)
		if err != nil {
			return pull.Page{}, err
		}
		var news []int
		for _, p := range parts {
			if offs[p] < first[p] {
				offs[p] = first[p] // older records are gone (retention)
			}
			if last[p] > offs[p] {
				news = append(news, p)
			}
		}
		if len(news) > 0 {
			events, err := f.fetch(ctx, topic, news, offs, last, limit)
			if err != nil {
				return pull.Page{}, err
			}
			return pull.Page{Events: events, Next: encodeCursor(f.o.CursorKey, topic, offs)}, nil
		}
		if !time.Now().Before(deadline) {
			return pull.Page{Events: []json.RawMessage{}, Next: encodeCursor(f.o.CursorKey, topic, offs)}, nil
		}
		t := time.NewTimer(min(f.o.PollInterval, time.Until(deadline)))
		select {
		case <-ctx.Done():
			t.Stop()
			return pull.Page{}, ctx.Err()
		case <-t.C:
		}
	}
}

func (f *Feed) partitions(ctx context.Context, topic string) ([]int, error) {
	f.mu.Lock()
	ps, ok := f.parts[topic]
	f.mu.Unlock()
	if ok {
		return ps, nil
	}
	ps, err := f.bus.Partitions(ctx, topic)
	if err != nil {
		return nil, err
	}
	sort.Ints(ps)
	f.mu.Lock()
	f.parts[topic] = ps
	f.mu.Unlock()
	return ps, nil
}

// bounds returns the first and the next-to-be-written offset of each
// partition, in one ListOffsets request.
func (f *Feed) bounds(ctx context.Context, topic string, parts []int) (first, last map[int]int64, err error) {
	reqs := make([]kafka.OffsetRequest, 0, 2*len(parts))
	for _, p := range parts {
		reqs = append(reqs, kafka.FirstOffsetOf(p), kafka.LastOffsetOf(p))
	}
	resp, err := f.client.ListOffsets(ctx, &kafka.ListOffsetsRequest{Topics: map[string][]kafka.OffsetRequest{topic: reqs}})
	if err != nil {
		return nil, nil, fmt.Errorf("list offsets of %s: %w", topic, err)
	}
	first, last = map[int]int64{}, map[int]int64{}
	for _, po := range resp.Topics[topic] {
		if po.Error != nil {
			return nil, nil, fmt.Errorf("list offsets of %s/%d: %w", topic, po.Partition, po.Error)
		}
		first[po.Partition], last[po.Partition] = po.FirstOffset, po.LastOffset
	}
	return first, last, nil
}

// fetch reads from the partitions with news, giving each a fair share of
// limit first and the rest to whoever has more; it advances offs.
func (f *Feed) fetch(ctx context.Context, topic string, news []int, offs, last map[int]int64, limit int) ([]json.RawMessage, error) {
	var out []json.RawMessage
	share := max(1, limit/len(news))
	for pass := 0; pass < 2 && len(out) < limit; pass++ {
		for _, p := range news {
			want := limit - len(out)
			if pass == 0 {
				want = min(want, share)
			}
			if want <= 0 {
				break
			}
			got, err := f.fetchPartition(ctx, topic, p, offs, last[p], want)
			if err != nil {
				return nil, err
			}
			out = append(out, got...)
		}
	}
	return out, nil
}

func (f *Feed) fetchPartition(ctx context.Context, topic string, p int, offs map[int]int64, end int64, want int) ([]json.RawMessage, error) {
	var out []json.RawMessage
	for len(out) < want && offs[p] < end {
		resp, err := f.client.Fetch(ctx, &kafka.FetchRequest{Topic: topic, Partition: p, Offset: offs[p], MinBytes: 1, MaxBytes: 4 << 20, MaxWait: 100 * time.Millisecond})
		if err != nil {
			return nil, fmt.Errorf("fetch %s/%d at %d: %w", topic, p, offs[p], err)
		}
		if resp.Error != nil {
			return nil, fmt.Errorf("fetch %s/%d at %d: %w", topic, p, offs[p], resp.Error)
		}
		n := 0
		for len(out) < want {
			rec, err := resp.Records.ReadRecord()
			if err != nil {
				break // io.EOF: end of this response
			}
			if rec.Offset < offs[p] {
				continue // batches may start before the offset asked for
			}
			val, err := readAll(rec.Value)
			if err != nil {
				return nil, fmt.Errorf("read %s/%d at %d: %w", topic, p, rec.Offset, err)
			}
			offs[p] = rec.Offset + 1
			n++
			if !json.Valid(val) || !strings.HasPrefix(strings.TrimSpace(string(val)), "{") {
				continue // not a CloudEvent object: skip rather than break the page
			}
			out = append(out, json.RawMessage(val))
		}
		if n == 0 {
			break // nothing more served now (e.g. transaction markers); next call
		}
	}
	return out, nil
}
