package routing

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/lienthong/lienthong/event"
	"github.com/lienthong/lienthong/internal/kafkabus"
	"github.com/lienthong/lienthong/internal/kafkabus/kafkatest"
	"github.com/lienthong/lienthong/router"
)

// memArchive is an archive the test feeds from the state topic, as the
// tracking store's projector feeds the store; until fed it lags.
type memArchive struct {
	mu   sync.Mutex
	have map[string]Archived
}

func (a *memArchive) Lookup(_ context.Context, codes []string) (map[string]Archived, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := map[string]Archived{}
	for _, c := range codes {
		if v, ok := a.have[c]; ok {
			out[c] = v
		}
	}
	return out, nil
}

// A router whose archive lags holds at most MaxClosed closed dossiers per
// partition and waits; when the archive catches up, it evicts them and
// routes the rest. Nothing is lost.
func TestRunnerWaitsForTheArchive(t *testing.T) {
	bus := kafkatest.Start(t, 1, testAgencies...)
	const n, maxClosed = 60, 10
	var msgs []kafka.Message
	for i := 0; i < n; i++ {
		code := fmt.Sprintf("HCC-20260303-%04d", i)
		for _, ev := range []event.Event{submitEv("HCC", code, landProc, "s"+code), receiverEv("HCC", event.Withdrawn, code, "w"+code)} {
			v, _ := json.Marshal(ev)
			msgs = append(msgs, kafkabus.Record(bus.Topic(kafkabus.TopicEvents), code, v,
				kafka.Header{Key: kafkabus.HeaderAcceptedAt, Value: []byte(t0.Format(time.RFC3339Nano))}))
		}
	}
	arch := &memArchive{have: map[string]Archived{}}
	view := startView(t, bus, func() time.Time { return t0 })
	produce(t, bus, msgs)
	r, _ := startRunner(t, bus, RunnerConfig{Archive: arch, MaxClosed: maxClosed, EvictEvery: 50 * time.Millisecond, MaxBatch: 4})
	deadline := time.Now().Add(30 * time.Second)
	for r.Stats().ArchiveWaits == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("the partition never waited: %+v", r.Stats())
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond)
	if st := r.Stats(); st.InMemory > maxClosed+4 || st.Applied >= 2*n {
		t.Fatalf("with the archive behind the router went on: %+v", st)
	}
	// The archive catches up with what the state topic says.
	for deadline := time.Now().Add(30 * time.Second); ; {
		arch.mu.Lock()
		for i := 0; i < n; i++ {
			code := fmt.Sprintf("HCC-20260303-%04d", i)
			if st, ok := view.Get(code); ok {
				arch.have[code] = Archived{Status: st.Status, Offset: st.Offset}
			}
		}
		arch.mu.Unlock()
		st := r.Stats()
		if st.Evicted == n && st.InMemory == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not every closed dossier left memory: %+v", st)
		}
		time.Sleep(50 * time.Millisecond)
	}
	for i := 0; i < n; i++ {
		if st, ok := view.Get(fmt.Sprintf("HCC-20260303-%04d", i)); !ok || st.Status != router.StatusWithdrawn {
			t.Fatalf("dossier %d: %+v", i, st)
		}
	}
}
