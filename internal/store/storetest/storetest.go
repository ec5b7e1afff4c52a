// Package storetest is the conformance kit of the tracking store: Run checks
// a store (SQLite or PostgreSQL) against the router's own semantics.
package storetest

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lienthong/lienthong/internal/store"
	"github.com/lienthong/lienthong/problem"
	"github.com/lienthong/lienthong/router"
)

// Run runs every conformance test, each on a fresh store from open (which
// should close it at the end of the test).
func Run(t *testing.T, open func(t *testing.T) *store.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s *store.Store)
	}{
		{"RoundTrip", testRoundTrip},
		{"VersionGuard", testVersionGuard},
		{"BatchCoalesce", testBatchCoalesce},
		{"Replay", testReplay},
		{"Position", testPosition},
		{"AtomicBatch", testAtomicBatch},
		{"Lookup", testLookup},
		{"ListFilters", testListFilters},
		{"Visibility", testVisibility},
		{"Paging", testPaging},
		{"Limit", testLimit},
		{"BadCursor", testBadCursor},
		{"Overdue", testOverdue},
		{"Stats", testStats},
		{"Report", testReport},
		{"ConcurrentApply", testConcurrentApply},
		{"Migrations", testMigrations},
		{"TooNew", testTooNew},
		{"PinForms", testPinForms},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.fn(t, open(t))
		})
	}
}

const topic = "lienthong.state"

func apply(t *testing.T, s *store.Store, next int64, recs []store.Record) int {
	t.Helper()
	n, err := s.Apply(context.Background(), topic, 0, next, recs)
	if err != nil {
		t.Fatalf("Apply: %v", err)
	}
	return n
}

// applyStates applies states as one batch per 500 and returns them by code.
func applyStates(t *testing.T, s *store.Store, states []*router.State) map[string]*router.State {
	t.Helper()
	by := make(map[string]*router.State, len(states))
	for i := 0; i < len(states); i += 500 {
		batch := states[i:min(i+500, len(states))]
		apply(t, s, int64(i+len(batch)), records(int64(i), batch...))
		for _, st := range batch {
			by[st.Code] = st
		}
	}
	return by
}

func get(t *testing.T, s *store.Store, code string) *router.State {
	t.Helper()
	st, err := s.Get(context.Background(), code)
	if err != nil {
		t.Fatalf("Get %s: %v", code, err)
	}
	return st
}

// diff shows the lines of two JSON texts that differ, with their neighbours.
func diff(got, want string) string {
	g, w := strings.Split(got, "\n"), strings.Split(want, "\n")
	var b strings.Builder
	for i := 0; i < max(len(g), len(w)); i++ {
		var gl, wl string
		if i < len(g) {
			gl = g[i]
		}
		if i < len(w) {
			wl = w[i]
		}
		if gl != wl {
			for j := max(0, i-3); j < i; j++ {
				fmt.Fprintf(&b, "\n    %s", w[min(j, len(w)-1)])
			}
			fmt.Fprintf(&b, "\n got %s\nwant %s", gl, wl)
			break
		}
	}
	return b.String()
}

func js(v any) string {
	b, _ := json.MarshalIndent(v, "", "  ")
	return string(b)
}

// same checks that Get returns want minus what the store must not keep.
func same(t *testing.T, s *store.Store, want *router.State) {
	t.Helper()
	got := get(t, s, want.Code)
	if w := normalize(want); !reflect.DeepEqual(got, w) {
		t.Fatalf("Get %s differs:%s", want.Code, diff(js(got), js(w)))
	}
}

func testRoundTrip(t *testing.T, s *store.Store) {
	g := newGen(1)
	states := g.states(0, 80)
	// Edge cases: every optional field empty; times with a monotonic reading
	// and a zone; far dates.
	now := time.Now()
	states = append(states,
		&router.State{Code: "EMPTY", Offset: 1},
		&router.State{Code: "ZONES", Procedure: "p", Receiver: "r", Status: router.StatusProcessing, Offset: 2,
			ReceivedAt: now, AcceptedAt: now.In(hanoi), DueAt: now.Add(time.Hour), PausedAt: time.Date(2200, 1, 1, 0, 0, 0, 1, hanoi),
			Steps:    []router.StepState{{ID: "a", Agency: "x", Status: router.StepInProgress, DueAt: now, After: []string{}}},
			Timeline: []router.Entry{{ID: "e", Time: now}}},
		&router.State{Code: "QUOTE'S \"and\" ünïcode", Procedure: "it's", Receiver: "r'", Status: "o'k", Offset: 3})
	if n := apply(t, s, 1, records(0, states...)); n != len(states) {
		t.Fatalf("Apply wrote %d dossiers, want %d", n, len(states))
	}
	for _, st := range states {
		same(t, s, st)
	}
	if _, err := s.Get(context.Background(), "NO-SUCH"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Get of a missing dossier: %v, want ErrNotFound", err)
	}
}

func testVersionGuard(t *testing.T, s *store.Store) {
	g := newGen(2)
	v1 := g.state("A", 10)
	if n := apply(t, s, 1, []store.Record{{State: v1, StateOffset: 100}}); n != 1 {
		t.Fatalf("first write: %d written", n)
	}
	older := g.state("A", 5)
	if n := apply(t, s, 2, []store.Record{{State: older, StateOffset: 200}}); n != 0 {
		t.Fatalf("an older events offset was written (%d)", n)
	}
	same(t, s, v1)
	equal := g.state("A", 10)
	if n := apply(t, s, 3, []store.Record{{State: equal, StateOffset: 100}}); n != 0 {
		t.Fatalf("an equal version was written (%d)", n)
	}
	same(t, s, v1)
	lowerSt := g.state("A", 10)
	if n := apply(t, s, 3, []store.Record{{State: lowerSt, StateOffset: 99}}); n != 0 {
		t.Fatalf("same events offset, lower state offset was written (%d)", n)
	}
	same(t, s, v1)
	// A tick rewrites the state without a new event: same events offset, later record.
	tick := g.next(v1, 10)
	if n := apply(t, s, 4, []store.Record{{State: tick, StateOffset: 101}}); n != 1 {
		t.Fatalf("a tick (same events offset, higher state offset) was not written (%d)", n)
	}
	same(t, s, tick)
	// A higher events offset wins whatever its state offset (after a topic
	// is recreated, state offsets restart).
	v2 := g.next(tick, 11)
	v2.Steps = []router.StepState{{ID: "other", Agency: "elsewhere", Status: router.StepInProgress}}
	if n := apply(t, s, 5, []store.Record{{State: v2, StateOffset: 3}}); n != 1 {
		t.Fatalf("a higher events offset was not written (%d)", n)
	}
	same(t, s, v2)
	// Visibility follows the latest route.
	for _, a := range append([]string{"elsewhere"}, agencies...) {
		items, _, err := s.List(context.Background(), store.Query{Viewer: store.Viewer{Agency: a}, Now: base})
		if err != nil {
			t.Fatal(err)
		}
		if want := v2.OnRoute(a); (len(items) == 1) != want || len(items) > 1 {
			t.Fatalf("agency %s sees %d dossiers; on the route: %v", a, len(items), want)
		}
	}
}

func testBatchCoalesce(t *testing.T, s *store.Store) {
	g := newGen(3)
	b7 := g.state("B", 7)
	b3, b5 := g.prev(b7, 3), g.prev(b7, 5)
	c12 := g.state("C", 4)
	c10 := g.prev(c12, 4)
	recs := []store.Record{{State: b3, StateOffset: 1}, {State: b7, StateOffset: 2}, {State: b5, StateOffset: 3},
		{State: c12, StateOffset: 12}, {State: c10, StateOffset: 10}}
	if n := apply(t, s, 13, recs); n != 2 {
		t.Fatalf("a batch with 2 dossiers wrote %d", n)
	}
	same(t, s, b7)
	same(t, s, c12)
}

func testReplay(t *testing.T, s *store.Store) {
	g := newGen(4)
	states := g.states(0, 60)
	recs := records(1000, states...)
	apply(t, s, 1060, recs)
	if n := apply(t, s, 1060, recs); n != 0 {
		t.Fatalf("replaying a batch wrote %d dossiers", n)
	}
	// A replay from further back (after a rebalance): older versions of the same dossiers.
	var old []*router.State
	for _, st := range states {
		o := g.prev(st, st.Offset-1)
		old = append(old, o)
	}
	if n := apply(t, s, 1060, records(0, old...)); n != 0 {
		t.Fatalf("replaying older records wrote %d dossiers", n)
	}
	for _, st := range states {
		same(t, s, st)
	}
	// A later version after the replay is still taken, timeline grown by one.
	st := states[0]
	nxt := *normalize(st)
	nxt.Offset++
	nxt.Status = router.StatusResultReady
	nxt.Timeline = append(nxt.Timeline, router.Entry{ID: "late", Type: "t", Source: "x", Time: base})
	if n := apply(t, s, 1061, []store.Record{{State: &nxt, StateOffset: 1060}}); n != 1 {
		t.Fatalf("the next version after a replay was not written")
	}
	same(t, s, &nxt)
}

func position(t *testing.T, s *store.Store, p int) (int64, bool) {
	t.Helper()
	next, ok, err := s.Position(context.Background(), topic, p)
	if err != nil {
		t.Fatalf("Position: %v", err)
	}
	return next, ok
}

func testPosition(t *testing.T, s *store.Store) {
	if _, ok := position(t, s, 0); ok {
		t.Fatal("a fresh store has a position")
	}
	g := newGen(5)
	if _, err := s.Apply(context.Background(), topic, 0, 10, records(0, g.states(0, 10)...)); err != nil {
		t.Fatal(err)
	}
	if next, ok := position(t, s, 0); !ok || next != 10 {
		t.Fatalf("position %d %v, want 10", next, ok)
	}
	if _, ok := position(t, s, 1); ok {
		t.Fatal("partition 1 has a position it never got")
	}
	if next, ok, err := s.Position(context.Background(), "other", 0); err != nil || ok {
		t.Fatalf("topic other has position %d %v %v", next, ok, err)
	}
	// An empty batch (all records filtered or compacted away) still moves it.
	if _, err := s.Apply(context.Background(), topic, 0, 25, nil); err != nil {
		t.Fatal(err)
	}
	if next, _ := position(t, s, 0); next != 25 {
		t.Fatalf("position %d after an empty batch, want 25", next)
	}
	if _, err := s.Apply(context.Background(), topic, 3, 7, nil); err != nil {
		t.Fatal(err)
	}
	if next, _ := position(t, s, 3); next != 7 {
		t.Fatalf("partition 3 at %d, want 7", next)
	}
	if next, _ := position(t, s, 0); next != 25 {
		t.Fatalf("partition 0 moved to %d by partition 3", next)
	}
}

// testAtomicBatch: a failed Apply leaves neither dossiers nor the position.
func testAtomicBatch(t *testing.T, s *store.Store) {
	g := newGen(6)
	first := g.states(0, 5)
	apply(t, s, 5, records(0, first...))
	bad := append(records(5, g.states(5, 5)...), store.Record{StateOffset: 10})
	if _, err := s.Apply(context.Background(), topic, 0, 11, bad); err == nil {
		t.Fatal("a record without a state was accepted")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	upd := g.next(first[0], first[0].Offset+1)
	if _, err := s.Apply(ctx, topic, 0, 12, []store.Record{{State: upd, StateOffset: 11}}); err == nil {
		t.Fatal("Apply with a cancelled context succeeded")
	}
	if next, _ := position(t, s, 0); next != 5 {
		t.Fatalf("position %d after failed batches, want 5", next)
	}
	got, err := s.Lookup(context.Background(), []string{g.code(5), first[0].Code})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[first[0].Code].Offset != first[0].Offset {
		t.Fatalf("failed batches left %v", got)
	}
}

func testLookup(t *testing.T, s *store.Store) {
	g := newGen(7)
	states := g.states(0, 1500) // more codes than one statement takes
	by := applyStates(t, s, states)
	codes := []string{"MISSING", states[3].Code, states[3].Code}
	for _, st := range states {
		codes = append(codes, st.Code)
	}
	got, err := s.Lookup(context.Background(), codes)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(by) {
		t.Fatalf("Lookup found %d of %d", len(got), len(by))
	}
	for code, st := range by {
		if b := got[code]; b.Status != st.Status || b.Offset != st.Offset || b.Procedure != st.Procedure {
			t.Fatalf("Lookup %s = %+v, want %s/%d/%s", code, b, st.Status, st.Offset, st.Procedure)
		}
	}
	if got, err := s.Lookup(context.Background(), nil); err != nil || len(got) != 0 {
		t.Fatalf("Lookup(nil) = %v, %v", got, err)
	}
}

// listAll pages through q with limit and returns every item.
func listAll(t *testing.T, s *store.Store, q store.Query) []router.Summary {
	t.Helper()
	var all []router.Summary
	q.Cursor = ""
	for pages := 0; ; pages++ {
		if pages > 1000 {
			t.Fatal("List does not end")
		}
		items, next, err := s.List(context.Background(), q)
		if err != nil {
			t.Fatalf("List %+v: %v", q, err)
		}
		if items == nil {
			t.Fatal("List returned a nil page")
		}
		if q.Limit > 0 && len(items) > q.Limit {
			t.Fatalf("a page of %d items, limit %d", len(items), q.Limit)
		}
		all = append(all, items...)
		if next == "" {
			return all
		}
		if len(items) == 0 {
			t.Fatal("an empty page with a next cursor")
		}
		q.Cursor = next
	}
}

func checkList(t *testing.T, s *store.Store, by map[string]*router.State, q store.Query) {
	t.Helper()
	got := listAll(t, s, q)
	want := wantList(by, q)
	if len(got) == 0 && len(want) == 0 {
		return
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("List %s:\n got %d items %s\nwant %d items %s", describe(q), len(got), brief(got), len(want), brief(want))
	}
}

func describe(q store.Query) string {
	ov := "nil"
	if q.Overdue != nil {
		ov = fmt.Sprint(*q.Overdue)
	}
	return fmt.Sprintf("viewer=%+v status=%q agency=%q procedure=%q overdue=%s received=[%v,%v) due=[%v,%v) limit=%d now=%v",
		q.Viewer, q.Status, q.Agency, q.Procedure, ov, q.ReceivedFrom, q.ReceivedTo, q.DueFrom, q.DueTo, q.Limit, q.Now)
}

func brief(items []router.Summary) string {
	var b strings.Builder
	for i, it := range items {
		if i == 20 {
			b.WriteString(" ...")
			break
		}
		fmt.Fprintf(&b, "\n  %+v", it)
	}
	return b.String()
}

func ptr(b bool) *bool { return &b }

func testListFilters(t *testing.T, s *store.Store) {
	g := newGen(8)
	by := applyStates(t, s, g.states(0, 250))
	admin := store.Viewer{Admin: true}
	queries := []store.Query{
		{Viewer: admin},
		{Viewer: admin, Status: router.StatusProcessing},
		{Viewer: admin, Status: "no-such-status"},
		{Viewer: admin, Procedure: procedures[1]},
		{Viewer: admin, Agency: "tax-office"},
		{Viewer: admin, Agency: "ward-1", Status: router.StatusReceived},
		{Viewer: admin, Overdue: ptr(true)},
		{Viewer: admin, Overdue: ptr(false)},
		{Viewer: admin, ReceivedFrom: base.Add(-48 * time.Hour)},
		{Viewer: admin, ReceivedTo: base},
		{Viewer: admin, ReceivedFrom: base.Add(-72 * time.Hour), ReceivedTo: base.Add(36 * time.Hour)},
		{Viewer: admin, DueFrom: base},
		{Viewer: admin, DueTo: base},
		{Viewer: admin, DueFrom: base.Add(-72 * time.Hour), DueTo: base.Add(72 * time.Hour)},
		{Viewer: store.Viewer{Agency: "ward-2"}},
		{Viewer: store.Viewer{Agency: "police"}},
		{Viewer: store.Viewer{Agency: "police"}, Agency: "police"},
		{Viewer: store.Viewer{Agency: "police"}, Agency: "ward-1"},
		{Viewer: store.Viewer{Agency: "ward-1"}, Status: router.StatusAwaitingSupplement, Overdue: ptr(true)},
		{Viewer: store.Viewer{Agency: "district-justice"}, Procedure: procedures[0], Overdue: ptr(false), ReceivedFrom: base.Add(-96 * time.Hour)},
		{Viewer: store.Viewer{Agency: "land-office"}, DueTo: base.Add(24 * time.Hour), ReceivedTo: base.Add(48 * time.Hour)},
	}
	// And random combinations.
	for i := 0; i < 40; i++ {
		q := store.Query{Viewer: admin}
		if g.chance(0.5) {
			q.Viewer = store.Viewer{Agency: g.pick(agencies)}
		}
		if g.chance(0.3) {
			q.Status = g.pick(statuses)
		}
		if g.chance(0.3) {
			q.Agency = g.pick(agencies)
		}
		if g.chance(0.3) {
			q.Procedure = g.pick(procedures)
		}
		if g.chance(0.4) {
			q.Overdue = ptr(g.chance(0.5))
		}
		if g.chance(0.3) {
			q.ReceivedFrom = g.around(10)
		}
		if g.chance(0.3) {
			q.ReceivedTo = g.around(10)
		}
		if g.chance(0.3) {
			q.DueFrom = g.around(10)
		}
		if g.chance(0.3) {
			q.DueTo = g.around(10)
		}
		queries = append(queries, q)
	}
	for i, q := range queries {
		q.Now = base
		q.Limit = []int{7, 50, 500}[i%3]
		checkList(t, s, by, q)
	}
}

func testVisibility(t *testing.T, s *store.Store) {
	g := newGen(9)
	by := applyStates(t, s, g.states(0, 100))
	for _, v := range []store.Viewer{{Agency: "nobody"}, {}} {
		items, next, err := s.List(context.Background(), store.Query{Viewer: v, Now: base})
		if err != nil || len(items) != 0 || next != "" || items == nil {
			t.Fatalf("viewer %+v sees %d dossiers (next %q, err %v), want an empty page", v, len(items), next, err)
		}
	}
	items, _, err := s.List(context.Background(), store.Query{Viewer: store.Viewer{Admin: true}, Agency: "nobody", Now: base})
	if err != nil || len(items) != 0 {
		t.Fatalf("agency filter nobody: %d dossiers, %v", len(items), err)
	}
	if got := listAll(t, s, store.Query{Viewer: store.Viewer{Admin: true}, Limit: 500, Now: base}); len(got) != len(by) {
		t.Fatalf("admin sees %d of %d dossiers", len(got), len(by))
	}
	for _, a := range agencies {
		checkList(t, s, by, store.Query{Viewer: store.Viewer{Agency: a}, Limit: 500, Now: base})
	}
}

func testPaging(t *testing.T, s *store.Store) {
	g := newGen(10)
	states := g.states(0, 120)
	for i, st := range states {
		st.ReceivedAt = base.Add(time.Duration(i%7) * time.Hour) // ties: code breaks them
	}
	by := applyStates(t, s, states)
	q := store.Query{Viewer: store.Viewer{Admin: true}, Limit: 50, Now: base}
	var got []router.Summary
	var sizes []int
	for {
		items, next, err := s.List(context.Background(), q)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, items...)
		sizes = append(sizes, len(items))
		if next == "" {
			break
		}
		q.Cursor = next
	}
	if !reflect.DeepEqual(sizes, []int{50, 50, 20}) {
		t.Fatalf("page sizes %v, want [50 50 20]", sizes)
	}
	seen := map[string]bool{}
	for _, it := range got {
		if seen[it.Code] {
			t.Fatalf("%s listed twice", it.Code)
		}
		seen[it.Code] = true
	}
	if want := wantList(by, q); !reflect.DeepEqual(got, want) {
		t.Fatalf("paged list differs from the expected order:\n got %s\nwant %s", brief(got), brief(want))
	}
	// A write before the cursor does not shift the next page (keyset, not offset).
	q.Cursor = ""
	q.Limit = 10
	_, next, err := s.List(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	late := g.state("ZZZ-LATE", 1)
	late.ReceivedAt = base.Add(-time.Hour)
	apply(t, s, 200, []store.Record{{State: late, StateOffset: 200}})
	q.Cursor = next
	items, _, err := s.List(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	if len(items) == 0 || items[0].Code != got[10].Code {
		t.Fatalf("second page starts at %v, want %s", items, got[10].Code)
	}
}

func testLimit(t *testing.T, s *store.Store) {
	g := newGen(11)
	applyStates(t, s, g.states(0, 60))
	for _, c := range []struct{ limit, want int }{{0, 50}, {-3, 50}, {1, 1}, {1000, 60}} {
		items, next, err := s.List(context.Background(), store.Query{Viewer: store.Viewer{Admin: true}, Limit: c.limit, Now: base})
		if err != nil {
			t.Fatal(err)
		}
		if len(items) != c.want || (next == "") != (c.want == 60) {
			t.Fatalf("limit %d: %d items, next %q; want %d", c.limit, len(items), next, c.want)
		}
	}
}

func testBadCursor(t *testing.T, s *store.Store) {
	g := newGen(12)
	applyStates(t, s, g.states(0, 30))
	q := store.Query{Viewer: store.Viewer{Admin: true}, Limit: 5, Now: base}
	_, next, err := s.List(context.Background(), q)
	if err != nil || next == "" {
		t.Fatalf("first page: %v, next %q", err, next)
	}
	raw, _ := base64.RawURLEncoding.DecodeString(next)
	flipped := append([]byte(nil), raw...)
	flipped[3] ^= 1
	bad := []string{
		"!!!",
		"not a cursor",
		base64.RawURLEncoding.EncodeToString([]byte("cHS-000001")), // the router's format
		base64.RawURLEncoding.EncodeToString(flipped),
		base64.RawURLEncoding.EncodeToString(raw[:len(raw)-1]),
		base64.RawURLEncoding.EncodeToString(nil) + "=",
		next + "A",
	}
	for _, c := range bad {
		q.Cursor = c
		if _, _, err := s.List(context.Background(), q); !errors.Is(err, problem.ErrBadCursor) {
			t.Fatalf("cursor %q: %v, want ErrBadCursor", c, err)
		}
	}
}

func testOverdue(t *testing.T, s *store.Store) {
	g := newGen(13)
	by := applyStates(t, s, g.states(0, 400))
	for _, now := range []time.Time{base.Add(-6 * 24 * time.Hour), base, base.Add(3*24*time.Hour + time.Nanosecond), base.Add(40 * 24 * time.Hour)} {
		late := 0
		for _, want := range []bool{true, false} {
			items := listAll(t, s, store.Query{Viewer: store.Viewer{Admin: true}, Overdue: ptr(want), Limit: 500, Now: now})
			for _, it := range items {
				if st := by[it.Code]; st.AnyOverdueAt(now) != want || it.Overdue != want {
					t.Fatalf("now %v: %s listed with overdue=%v (item says %v), AnyOverdueAt says %v", now, it.Code, want, it.Overdue, st.AnyOverdueAt(now))
				}
			}
			if want {
				late = len(items)
			} else if late+len(items) != len(by) {
				t.Fatalf("now %v: %d overdue + %d not = %d, want %d", now, late, len(items), late+len(items), len(by))
			}
		}
		all := listAll(t, s, store.Query{Viewer: store.Viewer{Admin: true}, Limit: 500, Now: now})
		for _, it := range all {
			if it.Overdue != by[it.Code].AnyOverdueAt(now) {
				t.Fatalf("now %v: %s Overdue=%v, AnyOverdueAt %v", now, it.Code, it.Overdue, !it.Overdue)
			}
		}
	}
	// A due time equal to now is not late (now must be after it).
	st := &router.State{Code: "EDGE", Status: router.StatusProcessing, DueAt: base, Offset: 1}
	apply(t, s, 1, []store.Record{{State: st, StateOffset: 1}})
	items, _, err := s.List(context.Background(), store.Query{Viewer: store.Viewer{Admin: true}, Overdue: ptr(true), Limit: 500, Now: base})
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range items {
		if it.Code == "EDGE" {
			t.Fatal("a dossier due exactly now is listed as overdue")
		}
	}
}

func testStats(t *testing.T, s *store.Store) {
	g := newGen(14)
	states := g.states(0, 300)
	states = append(states, &router.State{Code: "NO-RECEIVER", Procedure: "p", Status: router.StatusReceived, Offset: 1,
		Steps: []router.StepState{{ID: "a", Status: router.StepInProgress, AssignedAt: base}}})
	by := applyStates(t, s, states)
	viewers := []store.Viewer{{Admin: true}, {Agency: "nobody"}, {}}
	for _, a := range agencies {
		viewers = append(viewers, store.Viewer{Agency: a})
	}
	for _, now := range []time.Time{base.Add(-5 * 24 * time.Hour), base, base.Add(30 * 24 * time.Hour)} {
		for _, v := range viewers {
			got, err := s.Stats(context.Background(), store.StatsQuery{Viewer: v, Now: now})
			if err != nil {
				t.Fatal(err)
			}
			if want := wantStats(by, v, now); !reflect.DeepEqual(got, want) {
				t.Fatalf("Stats viewer %+v now %v:\n got %s\nwant %s", v, now, js(got), js(want))
			}
		}
	}
}

// testConcurrentApply: two writers (replicas during a rebalance) apply
// interleaved versions of the same dossiers; each ends at its highest.
func testConcurrentApply(t *testing.T, s *store.Store) {
	g := newGen(15)
	const n, versions = 100, 6
	all := make([][]*router.State, versions)
	for i := 0; i < n; i++ {
		st := g.state(g.code(i), 10)
		for v := range all {
			if v > 0 {
				st = g.next(st, int64(10+v))
			}
			all[v] = append(all[v], st)
		}
	}
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	for w := 0; w < 2; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for v := w; v < versions; v += 2 {
				if _, err := s.Apply(context.Background(), topic, w, int64(v), records(int64(v*n), all[v]...)); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	for _, st := range all[versions-1] {
		same(t, s, st)
	}
}

func testMigrations(t *testing.T, s *store.Store) {
	ctx := context.Background()
	g := newGen(16)
	st := g.state("KEEP", 1)
	apply(t, s, 1, []store.Record{{State: st, StateOffset: 1}})
	for i := 0; i < 2; i++ {
		s2, err := store.Open(ctx, s.Config())
		if err != nil {
			t.Fatalf("reopen %d: %v", i, err)
		}
		if s2.ID() == "" || s2.ID() != s.ID() {
			t.Fatalf("store id %q after reopen, was %q", s2.ID(), s.ID())
		}
		if s2.Dialect() != s.Dialect() {
			t.Fatalf("dialect %s after reopen, was %s", s2.Dialect(), s.Dialect())
		}
		if err := s2.Ping(ctx); err != nil {
			t.Fatal(err)
		}
		same(t, s2, st)
		if err := s2.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if len(s.ID()) < 16 {
		t.Fatalf("store id %q is too short to be random", s.ID())
	}
}

func testTooNew(t *testing.T, s *store.Store) {
	ctx := context.Background()
	have := store.SchemaVersion + 2
	if _, err := s.DB().ExecContext(ctx, `INSERT INTO lienthong_schema (version, applied_at) VALUES ($1, 0)`, have); err != nil {
		t.Fatal(err)
	}
	s2, err := store.Open(ctx, s.Config())
	if err == nil {
		s2.Close()
		t.Fatal("a database of a newer schema opened")
	}
	var tn *store.TooNewError
	if !errors.As(err, &tn) || tn.Have != have || tn.Know != store.SchemaVersion {
		t.Fatalf("error %v (%T), want *TooNewError{%d, %d}", err, err, have, store.SchemaVersion)
	}
	want := fmt.Sprintf("store schema version %d is newer than this lienthong knows (%d): upgrade lienthong", have, store.SchemaVersion)
	if !strings.Contains(err.Error(), want) {
		t.Fatalf("error %q, want it to say %q", err, want)
	}
}

// A form schema version's content is pinned by its first use: the same
// content again is fine, other content is refused with both digests.
func testPinForms(t *testing.T, s *store.Store) {
	ctx := context.Background()
	a := store.FormPin{URN: "urn:lienthong:form:1.004227:v1", SHA256: strings.Repeat("a", 64), Path: "schemas/forms/1.004227.v1.json"}
	b := store.FormPin{URN: "urn:lienthong:form:tax-notice:v1", SHA256: strings.Repeat("b", 64), Path: "forms/tax.json"}
	if err := s.PinForms(ctx, []store.FormPin{a}); err != nil {
		t.Fatal(err)
	}
	if err := s.PinForms(ctx, []store.FormPin{a, b}); err != nil {
		t.Fatalf("same content again, one new: %v", err)
	}
	changed := b
	changed.SHA256, changed.Path = strings.Repeat("c", 64), "forms/tax-edited.json"
	c := store.FormPin{URN: "urn:lienthong:form:new:v1", SHA256: strings.Repeat("d", 64), Path: "forms/new.json"}
	err := s.PinForms(ctx, []store.FormPin{a, changed, c})
	var fc *store.FormChangedError
	if !errors.As(err, &fc) || len(fc.Changed) != 1 || fc.Changed[0].URN != b.URN || fc.Changed[0].Was != b.SHA256 ||
		fc.Changed[0].Now != changed.SHA256 || fc.Changed[0].FirstPath != "forms/tax.json" {
		t.Fatalf("changed content: %v (%T)", err, err)
	}
	if !strings.Contains(err.Error(), "urn:lienthong:form:tax-notice:v1 (forms/tax-edited.json) has changed") {
		t.Fatalf("error wording: %v", err)
	}
	// A refused call records nothing, not even its new versions.
	c.SHA256 = strings.Repeat("e", 64)
	if err := s.PinForms(ctx, []store.FormPin{c}); err != nil {
		t.Fatalf("a version first offered in a refused call: %v", err)
	}
}
