package gateway

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"maps"
	"sync"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/lienthong/lienthong/event"
	"github.com/lienthong/lienthong/internal/kafkabus"
)

// Index remembers every accepted event (source+id -> body hash and receipt)
// and every submitted dossier code, so that a retried event gets its first
// receipt, a reused id with another body gets 409, and a dossier code is
// submitted once.
//
// The events topic is the record of truth: every gateway replica tails the
// duplicate window of it (records stamped within the window, default 7
// days) and learns what any replica accepted (and, after a crash, what it
// accepted itself). Until the tail has caught up with what the topic held at
// start, the gateway is not ready. Entries older than the window are pruned,
// so memory and start-up follow the window, not the history; dossier codes
// older than the window are checked in the tracking store (Options.PastCodes).
//
// Within one process, concurrent requests with the same key are serialised by
// reservations: the second waits for the first's write to settle.
type Index struct {
	mu       sync.Mutex
	accepted map[string]entry        // source \x00 id
	codes    map[string]string       // dossier code -> key of its submission
	pending  map[string]*reservation // keys being written now
	pcodes   map[string]*reservation // dossier codes being written now
	window   time.Duration           // 0: keep everything observed
}

type entry struct {
	hash       [sha256.Size]byte
	subject    string
	acceptedAt time.Time
}

type reservation struct {
	hash [sha256.Size]byte
	done chan struct{}
}

// SetWindow makes Observe ignore records accepted more than d ago: a tail
// may read older ones (record timestamps are the producer's), and a Go map
// does not shrink once they are in.
func (ix *Index) SetWindow(d time.Duration) {
	ix.mu.Lock()
	ix.window = d
	ix.mu.Unlock()
}

// NewIndex returns an empty index.
func NewIndex() *Index {
	return &Index{
		accepted: make(map[string]entry),
		codes:    make(map[string]string),
		pending:  make(map[string]*reservation),
		pcodes:   make(map[string]*reservation),
	}
}

func indexKey(source, id string) string { return source + "\x00" + id }

// outcome of a reservation attempt.
type outcome int

const (
	fresh outcome = iota
	duplicate
	idConflict
	codeTaken
	sameRequest // a repeat, within one request, of an earlier claim
)

// claim is one event of a request to reserve: its index key, body hash and
// dossier code ("" unless a submission).
type claim struct {
	key  string
	hash [sha256.Size]byte
	code string
}

// verdict is what reserveAll decided for one claim.
type verdict struct {
	out   outcome
	entry entry        // duplicate: the first acceptance
	first int          // sameRequest: the index of the earlier claim
	r     *reservation // fresh: the reservation to settle
}

// reserveAll decides every claim of one request at once and reserves the
// fresh ones, all or nothing. It never waits while holding a reservation:
// when another request holds one of the keys or codes, it waits for that
// request to settle and starts over. Two requests reserving overlapping keys
// in different orders therefore cannot wait on each other, and a request
// naming the same key or code twice cannot wait on itself.
//
// Repeats within the request: the same key with the same body is
// sameRequest (it shares the first claim's receipt); the same key with
// another body is idConflict; the same code under another key is codeTaken.
// On idConflict or codeTaken nothing is reserved and the index of the
// offending claim is returned.
func (ix *Index) reserveAll(ctx context.Context, cs []claim) ([]verdict, int, error) {
	for {
		vs := make([]verdict, len(cs))
		var wait chan struct{}
		bad := -1
		keys := make(map[string]int, len(cs))
		codes := make(map[string]int, len(cs))
		ix.mu.Lock()
		for i, c := range cs {
			if j, ok := keys[c.key]; ok {
				if cs[j].hash != c.hash {
					vs[i].out, bad = idConflict, i
					break
				}
				vs[i] = verdict{out: sameRequest, first: j}
				continue
			}
			keys[c.key] = i
			if e, ok := ix.accepted[c.key]; ok {
				if e.hash != c.hash {
					vs[i].out, vs[i].entry, bad = idConflict, e, i
					break
				}
				vs[i] = verdict{out: duplicate, entry: e}
				continue
			}
			if c.code != "" {
				if _, ok := codes[c.code]; ok {
					vs[i].out, bad = codeTaken, i
					break
				}
				codes[c.code] = i
				if k, ok := ix.codes[c.code]; ok && k != c.key {
					vs[i].out, bad = codeTaken, i
					break
				}
			}
			if r, ok := ix.pending[c.key]; ok {
				wait = r.done
				break
			}
			if c.code != "" {
				if r, ok := ix.pcodes[c.code]; ok {
					wait = r.done
					break
				}
			}
		}
		if bad >= 0 {
			ix.mu.Unlock()
			return vs, bad, nil
		}
		if wait == nil {
			for i, c := range cs {
				if vs[i].out != fresh {
					continue
				}
				r := &reservation{hash: c.hash, done: make(chan struct{})}
				vs[i].r = r
				ix.pending[c.key] = r
				if c.code != "" {
					ix.pcodes[c.code] = r
				}
			}
			ix.mu.Unlock()
			return vs, -1, nil
		}
		ix.mu.Unlock()
		select {
		case <-wait:
		case <-ctx.Done():
			return nil, -1, ctx.Err()
		}
	}
}

// settle ends a reservation; when written, the event is remembered.
func (ix *Index) settle(c claim, r *reservation, written bool, e entry) {
	ix.mu.Lock()
	delete(ix.pending, c.key)
	if c.code != "" {
		delete(ix.pcodes, c.code)
	}
	if written {
		ix.addLocked(c.key, c.code, e)
	}
	ix.mu.Unlock()
	close(r.done)
}

func (ix *Index) addLocked(key, code string, e entry) {
	if _, ok := ix.accepted[key]; !ok {
		ix.accepted[key] = e
	}
	if code != "" {
		if _, ok := ix.codes[code]; !ok {
			ix.codes[code] = key
		}
	}
}

// Observe records an event read back from the events topic.
func (ix *Index) Observe(m kafka.Message) {
	var ev struct {
		ID      string `json:"id"`
		Source  string `json:"source"`
		Type    string `json:"type"`
		Subject string `json:"subject"`
	}
	if json.Unmarshal(m.Value, &ev) != nil || ev.ID == "" {
		return
	}
	at := m.Time
	if s := kafkabus.Header(m, kafkabus.HeaderAcceptedAt); s != "" {
		if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
			at = t
		}
	}
	code := ""
	if ev.Type == event.Submitted {
		code = ev.Subject
	}
	ix.mu.Lock()
	defer ix.mu.Unlock()
	if ix.window > 0 && at.Before(time.Now().Add(-ix.window)) {
		return // older than the window: the store answers for its code
	}
	ix.addLocked(indexKey(ev.Source, ev.ID), code, entry{hash: sha256.Sum256(m.Value), subject: ev.Subject, acceptedAt: at})
}

// Prune forgets the events and codes accepted before t (the window's start).
// Reserved keys are untouched.
func (ix *Index) Prune(t time.Time) int {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	n := 0
	for k, e := range ix.accepted {
		if e.acceptedAt.Before(t) {
			delete(ix.accepted, k)
			n++
		}
	}
	for code, k := range ix.codes {
		if _, ok := ix.accepted[k]; !ok {
			delete(ix.codes, code)
		}
	}
	// A Go map keeps its buckets after deletes: copy it once most of it is
	// gone, so memory follows the window after a burst.
	if n > 0 && n >= 2*len(ix.accepted) {
		ix.accepted = compact(ix.accepted)
		ix.codes = compact(ix.codes)
	}
	return n
}

// compact copies m into a map sized for what it holds (maps.Clone may keep
// the old size).
func compact[V any](m map[string]V) map[string]V {
	out := make(map[string]V, len(m))
	maps.Copy(out, m)
	return out
}

// knownCode reports whether the index holds code (accepted or being written).
func (ix *Index) knownCode(code string) bool {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	_, ok := ix.codes[code]
	_, pending := ix.pcodes[code]
	return ok || pending
}

// Len returns how many accepted events the index holds.
func (ix *Index) Len() int {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	return len(ix.accepted)
}
