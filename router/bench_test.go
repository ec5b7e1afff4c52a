package router

import (
	"fmt"
	"runtime"
	"testing"

	"github.com/lienthong/lienthong/event"
)

// BenchmarkStateMemory measures the router's in-memory state for 100,000
// open dossiers (just submitted, first step assigned), as the runner holds
// them. Run with -benchtime=1x.
func BenchmarkStateMemory(b *testing.B) {
	const dossiers = 100000
	e := NewEngine(testRoutes())
	for i := 0; i < b.N; i++ {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		states := make(map[string]*State, dossiers)
		for k := 0; k < dossiers; k++ {
			code := fmt.Sprintf("HCC-20260303-%06d", k)
			proc := landProc
			if k%2 == 1 {
				proc = birthProc
			}
			st, _, rej := e.Apply(nil, submitEv("HCC", code, proc, code), t0)
			if rej != nil {
				b.Fatal(rej)
			}
			st.Offset = int64(k)
			states[code] = st
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		used := float64(after.HeapAlloc - before.HeapAlloc)
		b.ReportMetric(used/(1<<20), "MiB/100k-dossiers")
		b.ReportMetric(used/dossiers, "bytes/dossier")
		runtime.KeepAlive(states)
	}
}

// BenchmarkEngineDossier applies one dossier's five events and encodes the
// outputs and states as the runner does: the CPU cost of routing, without
// Kafka.
func BenchmarkEngineDossier(b *testing.B) {
	e := NewEngine(testRoutes())
	const code = "HCC-20260303-0001"
	evs := []event.Event{submitEv("HCC", code, landProc, "s"), completeEv("VPDK", code, "verify", "c1"),
		completeEv("THUE", code, "tax", "c2"), completeEv("VPDK", code, "certificate", "c3"),
		receiverEv("HCC", event.ResultReturned, code, "r")}
	b.ReportAllocs()
	var bytesOut int
	for i := 0; i < b.N; i++ {
		var st *State
		for _, ev := range evs {
			var outs []Output
			st, outs, _ = e.Apply(st, ev, t0)
			for _, o := range outs {
				bytesOut += len(EncodeEvent(o.Event))
			}
			bytesOut += len(EncodeState(st))
		}
	}
	b.ReportMetric(float64(b.N*len(evs))/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(float64(bytesOut)/float64(b.N*len(evs)), "bytes-written/event")
}
