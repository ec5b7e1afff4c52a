package routing

import (
	"context"
	"encoding/json"
	"sync"

	"github.com/segmentio/kafka-go"

	"github.com/lienthong/lienthong/internal/kafkabus"
	"github.com/lienthong/lienthong/router"
)

// View tails the whole state topic into memory: the tests' way to see what
// the runner wrote (tracking itself reads the store, internal/tracking).
type View struct {
	mu       sync.RWMutex
	dossiers map[string]*router.State
	tailer   *kafkabus.Tail
}

func newView(bus *kafkabus.Bus) *View {
	v := &View{dossiers: map[string]*router.State{}}
	v.tailer = bus.NewTail(bus.Topic(kafkabus.TopicState), func(m kafka.Message) { v.put(m) })
	return v
}

func (v *View) Ready() bool {
	select {
	case <-v.tailer.Caught():
		return true
	default:
		return false
	}
}

func (v *View) Run(ctx context.Context) error { _ = v.tailer.Run(ctx); return nil }

func (v *View) put(m kafka.Message) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if m.Value == nil {
		return // a tombstone: the dossier closed and left the router; keep its last state
	}
	var st router.State
	if err := json.Unmarshal(m.Value, &st); err != nil || st.Code == "" {
		return
	}
	if old := v.dossiers[st.Code]; old == nil || st.Offset >= old.Offset {
		v.dossiers[st.Code] = &st
	}
}

func (v *View) Get(code string) (*router.State, bool) {
	v.mu.RLock()
	defer v.mu.RUnlock()
	st, ok := v.dossiers[code]
	return st, ok
}
