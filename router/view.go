package router

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"log/slog"
	"sort"
	"sync"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/lienthong/lienthong/internal/auth"
	"github.com/lienthong/lienthong/internal/kafkabus"
)

// View is the tracking view: it tails the whole state topic (every
// partition, no consumer group: every replica keeps its own full copy) and
// answers queries about dossiers from memory. It lags the router by the time
// a state record takes to travel, milliseconds.
type View struct {
	bus    *kafkabus.Bus
	topic  string
	now    func() time.Time
	logger *slog.Logger

	mu       sync.RWMutex
	dossiers map[string]*State // the latest state of each dossier, without personal data

	tailer *kafkabus.Tail // reads the state topic; Caught once it read what it held at start
}

// ViewOptions tune a View. Zero values take the defaults.
type ViewOptions struct {
	Now    func() time.Time // clock for "overdue now"; default time.Now
	Logger *slog.Logger
}

// NewView makes a view; Run feeds it.
func NewView(bus *kafkabus.Bus, o ViewOptions) *View {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	v := &View{bus: bus, topic: bus.Topic(kafkabus.TopicState), now: o.Now, logger: o.Logger, dossiers: map[string]*State{}}
	v.tailer = bus.NewTail(v.topic, func(m kafka.Message) { v.put(m.Value) }).WithLogger(o.Logger)
	return v
}

// Ready reports whether the view has read every partition up to the
// high-water mark it saw when it started.
func (v *View) Ready() bool {
	select {
	case <-v.tailer.Caught():
		return true
	default:
		return false
	}
}

// Run tails the state topic until ctx ends, through broker outages.
func (v *View) Run(ctx context.Context) error {
	_ = v.tailer.Run(ctx)
	return nil
}

// put stores a state record, keeping only what tracking shows.
func (v *View) put(value []byte) {
	var st State
	if err := json.Unmarshal(value, &st); err != nil || st.Code == "" {
		return
	}
	st.Dossier = nil // personal data: tracking never shows it
	for i := range st.Steps {
		st.Steps[i].Outputs, st.Steps[i].Documents = nil, nil
	}
	v.mu.Lock()
	if old := v.dossiers[st.Code]; old == nil || st.Offset >= old.Offset {
		v.dossiers[st.Code] = &st
	}
	v.mu.Unlock()
}

// Get returns the latest state of a dossier. The state must not be modified.
func (v *View) Get(code string) (*State, bool) {
	v.mu.RLock()
	defer v.mu.RUnlock()
	st, ok := v.dossiers[code]
	return st, ok
}

// CanSee reports whether p may see a dossier: the admin, its receiver, and
// the agencies of its route.
func CanSee(p auth.Principal, st *State) bool {
	return p.Admin || (p.Agency != "" && st.OnRoute(p.Agency))
}

// Filter selects dossiers in List. Zero fields match everything.
type Filter struct {
	Status  string
	Agency  string // the receiver or an agency on the route
	Overdue *bool
}

// Summary is one dossier in a list.
type Summary struct {
	Code         string    `json:"code"`
	Procedure    string    `json:"procedure"`
	Receiver     string    `json:"receiver"`
	Status       string    `json:"status"`
	PortalStatus int       `json:"portal_status"`
	Overdue      bool      `json:"overdue"`
	ReceivedAt   time.Time `json:"received_at"`
	DueAt        time.Time `json:"due_at"`
	OpenSteps    []string  `json:"open_steps"`
}

// ErrBadCursor is returned by List for a cursor it did not make.
var ErrBadCursor = errors.New("bad cursor")

// List returns up to limit dossiers that p may see and f selects, in code
// order after the cursor, and the cursor of the next page ("" at the end).
func (v *View) List(p auth.Principal, f Filter, limit int, cursor string) ([]Summary, string, error) {
	after := ""
	if cursor != "" {
		b, err := base64.RawURLEncoding.DecodeString(cursor)
		if err != nil || len(b) < 2 || b[0] != 'c' {
			return nil, "", ErrBadCursor
		}
		after = string(b[1:])
	}
	now := v.now()
	var hits []*State
	v.mu.RLock()
	for code, st := range v.dossiers {
		if code <= after || !CanSee(p, st) ||
			(f.Status != "" && st.Status != f.Status) ||
			(f.Agency != "" && !st.OnRoute(f.Agency)) ||
			(f.Overdue != nil && st.AnyOverdueAt(now) != *f.Overdue) {
			continue
		}
		hits = append(hits, st)
	}
	v.mu.RUnlock()
	sort.Slice(hits, func(i, j int) bool { return hits[i].Code < hits[j].Code })
	next := ""
	if len(hits) > limit {
		hits = hits[:limit]
		next = base64.RawURLEncoding.EncodeToString([]byte("c" + hits[limit-1].Code))
	}
	out := make([]Summary, len(hits))
	for i, st := range hits {
		out[i] = summarize(st, now)
	}
	return out, next, nil
}

func summarize(st *State, now time.Time) Summary {
	s := Summary{Code: st.Code, Procedure: st.Procedure, Receiver: st.Receiver, Status: st.Status,
		PortalStatus: PortalStatus(st.Status), Overdue: st.AnyOverdueAt(now), ReceivedAt: st.ReceivedAt, DueAt: st.DueAt,
		OpenSteps: []string{}}
	for _, s2 := range st.Steps {
		if s2.Status == StepInProgress {
			s.OpenSteps = append(s.OpenSteps, s2.ID)
		}
	}
	return s
}

// StatRow counts one agency's work on one procedure. Role "receiver" counts
// dossiers received at its desk (completed = result ready by the dossier's
// due time or not); role "step" counts the steps it was assigned.
type StatRow struct {
	Procedure  string `json:"procedure"`
	Agency     string `json:"agency"`
	Role       string `json:"role"`
	Received   int    `json:"received"`
	Completed  int    `json:"completed"`
	OnTime     int    `json:"on_time"`
	Late       int    `json:"late"`
	OverdueNow int    `json:"overdue_now"`
}

// Stats returns the rows p may see: every row for the admin, an agency's
// own rows otherwise. Rows are sorted by procedure, agency, role.
func (v *View) Stats(p auth.Principal) []StatRow {
	now := v.now()
	type key struct{ proc, agency, role string }
	rows := map[key]*StatRow{}
	row := func(proc, agency, role string) *StatRow {
		k := key{proc, agency, role}
		r := rows[k]
		if r == nil {
			r = &StatRow{Procedure: proc, Agency: agency, Role: role}
			rows[k] = r
		}
		return r
	}
	mine := func(agency string) bool { return p.Admin || (p.Agency != "" && agency == p.Agency) }
	v.mu.RLock()
	for _, st := range v.dossiers {
		if mine(st.Receiver) {
			r := row(st.Procedure, st.Receiver, "receiver")
			r.Received++
			switch {
			case !st.ResultAt.IsZero():
				r.Completed++
				if st.ResultAt.After(st.DueAt) {
					r.Late++
				} else {
					r.OnTime++
				}
			case st.Open() && st.OverdueAt(now):
				r.OverdueNow++
			}
		}
		for i := range st.Steps {
			s := &st.Steps[i]
			if s.AssignedAt.IsZero() || !mine(s.Agency) {
				continue
			}
			r := row(st.Procedure, s.Agency, "step")
			r.Received++
			switch {
			case s.Status == StepCompleted:
				r.Completed++
				if s.OnTime {
					r.OnTime++
				} else {
					r.Late++
				}
			case s.Status == StepInProgress && s.OverdueAt(now, st.Paused()):
				r.OverdueNow++
			}
		}
	}
	v.mu.RUnlock()
	out := make([]StatRow, 0, len(rows))
	for _, r := range rows {
		out = append(out, *r)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Procedure != b.Procedure {
			return a.Procedure < b.Procedure
		}
		if a.Agency != b.Agency {
			return a.Agency < b.Agency
		}
		return a.Role < b.Role
	})
	return out
}
