package routing

import (
	"bytes"
	"testing"
	"time"

	"github.com/lienthong/lienthong/event"
	"github.com/lienthong/lienthong/internal/config"
	"github.com/lienthong/lienthong/router"
)

// A procedure that lists no receivers is receivable by every receiver
// agency: the routes take the config's resolution (one default, in
// internal/config), not a second computation.
func TestFromConfigDefaultReceivers(t *testing.T) {
	data := bytes.ReplaceAll(config.Example(), []byte("    receivers: [HCC]\n"), nil)
	c, err := config.ParseWith(data, "example", config.ExampleLookupEnv)
	if err != nil {
		t.Fatal(err)
	}
	for code, p := range FromConfig(c).Procedures {
		cp, _ := c.Procedure(code)
		if len(cp.Receivers) != 0 {
			t.Fatalf("procedure %s still lists receivers %v", code, cp.Receivers)
		}
		if !p.ReceivableBy("HCC") || p.ReceivableBy("VPDK") || len(p.Receivers) != len(c.Receivers()) {
			t.Errorf("procedure %s: receivers %v, want every receiver agency %v", code, p.Receivers, c.Receivers())
		}
	}
}

// The example config's routes drive the engine with the real calendar.
func TestFromConfigExample(t *testing.T) {
	c, err := config.ParseWith(config.Example(), "example", config.ExampleLookupEnv)
	if err != nil {
		t.Fatal(err)
	}
	routes := FromConfig(c)
	land, ok := routes.Procedure("1.004227")
	if !ok || len(land.Steps) != 3 || land.Steps[1].Agency != "THUE" || land.Steps[1].After[0] != "verify" || !land.ReceivableBy("HCC") || land.ReceivableBy("VPDK") {
		t.Fatalf("land procedure %+v", land)
	}
	if len(AgencyCodes(c)) != len(c.Agencies) {
		t.Fatal("agency codes")
	}
	e := router.NewEngine(routes)
	vn := time.FixedZone("ICT", 7*3600)
	at := time.Date(2026, 3, 3, 8, 15, 0, 0, vn) // a Tuesday, office hours
	ev := submitEv("HCC", "HCC-20260303-0001", "1.004227", "s")
	ev.Data = []byte(`{"code":"HCC-20260303-0001","procedure":"1.004227","received_at":"2026-03-03T08:15:00+07:00"}`)
	st, outs, rej := e.Apply(nil, ev, at)
	if rej != nil {
		t.Fatalf("submission refused: %v", rej)
	}
	if len(outs) != 3 || outs[2].Event.Type != event.Assigned || outs[2].To != "VPDK" {
		t.Fatalf("outputs %+v", outs)
	}
	// Five working days from Tuesday 08:15 is the next Tuesday 08:15;
	// ten is Tuesday two weeks on.
	if want := time.Date(2026, 3, 10, 8, 15, 0, 0, vn); !st.Step("verify").DueAt.Equal(want) {
		t.Fatalf("verify due %s, want %s", st.Step("verify").DueAt.In(vn), want)
	}
	if want := time.Date(2026, 3, 17, 8, 15, 0, 0, vn); !st.DueAt.Equal(want) {
		t.Fatalf("dossier due %s, want %s", st.DueAt.In(vn), want)
	}
}
