package gateway

import (
	"crypto/sha256"
	"encoding/json"
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
// The events topic is the record of truth: every gateway replica tails it
// from the beginning and learns what any replica accepted (and, after a
// crash, what it accepted itself). Until the tail has caught up with what the
// topic held at start, the gateway is not ready. The idempotency window is
// therefore the events topic's retention.
//
// Within one process, concurrent requests with the same key are serialised by
// reservations: the second waits for the first's write to settle.
type Index struct {
	mu       sync.Mutex
	accepted map[string]entry        // source \x00 id
	codes    map[string]string       // dossier code -> key of its submission
	pending  map[string]*reservation // keys being written now
	pcodes   map[string]*reservation // dossier codes being written now
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
)

// reserve claims key for a write of body. When another request holds the
// key or the code, it waits for it to settle and checks again.
func (ix *Index) reserve(key string, hash [sha256.Size]byte, code string) (outcome, entry, *reservation) {
	for {
		ix.mu.Lock()
		if e, ok := ix.accepted[key]; ok {
			ix.mu.Unlock()
			if e.hash != hash {
				return idConflict, e, nil
			}
			return duplicate, e, nil
		}
		if r, ok := ix.pending[key]; ok {
			ix.mu.Unlock()
			<-r.done
			continue
		}
		if code != "" {
			if k, ok := ix.codes[code]; ok && k != key {
				ix.mu.Unlock()
				return codeTaken, entry{}, nil
			}
			if r, ok := ix.pcodes[code]; ok {
				ix.mu.Unlock()
				<-r.done
				continue
			}
		}
		r := &reservation{hash: hash, done: make(chan struct{})}
		ix.pending[key] = r
		if code != "" {
			ix.pcodes[code] = r
		}
		ix.mu.Unlock()
		return fresh, entry{}, r
	}
}

// settle ends a reservation; when written, the event is remembered.
func (ix *Index) settle(key, code string, r *reservation, written bool, e entry) {
	ix.mu.Lock()
	delete(ix.pending, key)
	if code != "" {
		delete(ix.pcodes, code)
	}
	if written {
		ix.addLocked(key, code, e)
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
	ix.addLocked(indexKey(ev.Source, ev.ID), code, entry{hash: sha256.Sum256(m.Value), subject: ev.Subject, acceptedAt: at})
	ix.mu.Unlock()
}

// Len returns how many accepted events the index holds.
func (ix *Index) Len() int {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	return len(ix.accepted)
}
