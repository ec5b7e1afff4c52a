package gateway

import (
	"fmt"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/lienthong/lienthong/internal/kafkabus"
)

// The index keeps the window only: records older than it are not taken in,
// pruning forgets what ages out, and a code it forgot is free in the index
// (the store answers for it).
func TestIndexWindow(t *testing.T) {
	ix := NewIndex()
	ix.SetWindow(time.Hour)
	rec := func(id, code string, at time.Time) kafka.Message {
		v := fmt.Sprintf(`{"specversion":"1.0","id":%q,"source":"urn:lienthong:agency:HCC","type":"dossier.submitted","subject":%q}`, id, code)
		return kafka.Message{Value: []byte(v), Time: at, Headers: []kafka.Header{{Key: kafkabus.HeaderAcceptedAt, Value: []byte(at.Format(time.RFC3339Nano))}}}
	}
	now := time.Now()
	ix.Observe(rec("old", "HCC-20260303-0001", now.Add(-2*time.Hour)))
	ix.Observe(rec("mid", "HCC-20260303-0002", now.Add(-30*time.Minute)))
	ix.Observe(rec("new", "HCC-20260303-0003", now))
	if n := ix.Len(); n != 2 {
		t.Fatalf("index holds %d events, want 2 (the old one is outside the window)", n)
	}
	if ix.knownCode("HCC-20260303-0001") || !ix.knownCode("HCC-20260303-0002") {
		t.Fatal("codes do not follow the window")
	}
	if n := ix.Prune(now.Add(-10 * time.Minute)); n != 1 || ix.Len() != 1 || ix.knownCode("HCC-20260303-0002") {
		t.Fatalf("prune removed %d, %d left", n, ix.Len())
	}
}
