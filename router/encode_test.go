package router

import (
	"encoding/json"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/lienthong/lienthong/event"
)

// The hand-written encoders must decode, with encoding/json, into exactly
// the values encoded. States of every shape come from a random run.
func TestEncodersRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	e := NewEngine(testRoutes())
	states := map[string]*State{}
	var events []event.Event
	at := t0
	for i := 0; i < 3000; i++ {
		at = at.Add(time.Duration(rng.IntN(600)) * time.Minute)
		code := []string{"HCC-20260303-0001", "HCC-20260303-0002", "HCC-20260303-0003", "HCC-20260303-0004"}[rng.IntN(4)]
		ev, _ := randomEvent(rng, e.routes, states[code], code, nil)
		n, outs, _ := e.Apply(states[code], ev, at)
		n, tick := e.Tick(n, at)
		for _, o := range append(outs, tick...) {
			events = append(events, o.Event)
		}
		if n != nil {
			n.Offset = int64(i)
			states[code] = n
			var back State
			raw := EncodeState(n)
			if err := json.Unmarshal(raw, &back); err != nil {
				t.Fatalf("state JSON invalid: %v\n%s", err, raw)
			}
			want := n.Clone()
			// Raw fields may be re-spaced by a decode; compare them as JSON.
			normalize(want)
			normalize(&back)
			if !reflect.DeepEqual(*want, back) {
				t.Fatalf("state round trip differs:\n got %+v\nwant %+v", back, *want)
			}
		}
	}
	// Strings that need escaping take the slow path.
	events = append(events, event.Event{SpecVersion: "1.0", ID: "a\"b\\c\n", Source: "urn:x", Type: "t", Subject: "Hồ sơ \x01", Data: json.RawMessage(`{"x":1}`)})
	for _, ev := range events {
		raw := EncodeEvent(ev)
		var back event.Event
		if err := json.Unmarshal(raw, &back); err != nil {
			t.Fatalf("event JSON invalid: %v\n%s", err, raw)
		}
		std, _ := json.Marshal(ev)
		var viaStd event.Event
		_ = json.Unmarshal(std, &viaStd)
		if !reflect.DeepEqual(back, viaStd) {
			t.Fatalf("event round trip differs:\n got %+v\nwant %+v", back, viaStd)
		}
	}
}

func normalize(s *State) {
	compact := func(r json.RawMessage) json.RawMessage {
		if len(r) == 0 {
			return nil
		}
		var v any
		_ = json.Unmarshal(r, &v)
		b, _ := json.Marshal(v)
		return b
	}
	s.Dossier = compact(s.Dossier)
	s.Form = compact(s.Form)
	s.Supplied = append([]Supplied(nil), s.Supplied...)
	for i := range s.Supplied {
		s.Supplied[i].Documents = compact(s.Supplied[i].Documents)
	}
	s.Steps = append([]StepState(nil), s.Steps...)
	for i := range s.Steps {
		s.Steps[i].Outputs = compact(s.Steps[i].Outputs)
		s.Steps[i].Documents = compact(s.Steps[i].Documents)
		if len(s.Steps[i].After) == 0 {
			s.Steps[i].After = nil
		}
	}
	if len(s.Timeline) == 0 && s.Timeline != nil {
		s.Timeline = []Entry{}
	}
}
