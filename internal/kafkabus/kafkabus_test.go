package kafkabus_test

import (
	"context"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/lienthong/lienthong/internal/kafkabus"
	"github.com/lienthong/lienthong/internal/kafkabus/embedded"
	"github.com/lienthong/lienthong/internal/kafkabus/kafkatest"
	"github.com/lienthong/lienthong/problem"
)

// The lienthong-error header has one format, for the delivery engine's dead
// letters and the router's refused records alike: the URN, a space, the detail.
func TestErrorHeader(t *testing.T) {
	h := kafkabus.ErrorHeader(problem.DeliveryRejected, "permanent: status 400: bad")
	if h.Key != "lienthong-error" || string(h.Value) != "urn:lienthong:problem:delivery-rejected permanent: status 400: bad" {
		t.Fatalf("ErrorHeader = %s: %s", h.Key, h.Value)
	}
}

// The same key lands on the same partition number in every topic: the router
// relies on it to find a dossier's state next to its events.
func TestKeyedRecordsShareThePartitionAcrossTopics(t *testing.T) {
	b := kafkatest.Start(t, 6, "VPDK")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	keys := []string{"HCC-20260303-0001", "HCC-20260303-0002", "000.00.01.H22-20260303-0003", "X-20260303-0004"}
	var msgs []kafka.Message
	for _, k := range keys {
		msgs = append(msgs, kafkabus.Record(b.Topic(kafkabus.TopicEvents), k, []byte(`{}`)))
		msgs = append(msgs, kafkabus.Record(b.Topic(kafkabus.TopicState), k, []byte(`{}`)))
	}
	if err := b.Writer().WriteMessages(ctx, msgs...); err != nil {
		t.Fatal(err)
	}
	part := map[string]map[string]int{}
	for _, topic := range []string{b.Topic(kafkabus.TopicEvents), b.Topic(kafkabus.TopicState)} {
		r := b.NewReader(kafka.ReaderConfig{GroupID: "g-" + topic, Topic: topic})
		for i := 0; i < len(keys); i++ {
			m, err := r.FetchMessage(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if kafkabus.Header(m, kafkabus.HeaderContentType) != "application/cloudevents+json; charset=UTF-8" {
				t.Fatalf("content-type header = %q", kafkabus.Header(m, kafkabus.HeaderContentType))
			}
			if part[string(m.Key)] == nil {
				part[string(m.Key)] = map[string]int{}
			}
			part[string(m.Key)][topic] = m.Partition
		}
		r.Close()
	}
	for k, byTopic := range part {
		if len(byTopic) != 2 || byTopic[b.Topic(kafkabus.TopicEvents)] != byTopic[b.Topic(kafkabus.TopicState)] {
			t.Errorf("key %s partitions %v", k, byTopic)
		}
	}
	if len(part) != len(keys) {
		t.Fatalf("read %d keys, want %d", len(part), len(keys))
	}
}

// With a data dir, records and committed offsets survive a broker restart.
func TestEmbeddedBrokerPersists(t *testing.T) {
	dir := t.TempDir()
	e, err := embedded.Start(embedded.Options{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	addr := e.Addr()
	b := kafkatest.Open(t, []string{addr}, "p.", 2)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	topic := b.Topic(kafkabus.TopicEvents)
	if err := b.Writer().WriteMessages(ctx, kafkabus.Record(topic, "A-20260101-0001", []byte(`1`)), kafkabus.Record(topic, "A-20260101-0002", []byte(`2`))); err != nil {
		t.Fatal(err)
	}
	_ = b.Close()
	e.Close()

	e2, err := embedded.Start(embedded.Options{DataDir: dir, Listen: addr})
	if err != nil {
		t.Fatal(err)
	}
	defer e2.Close()
	b2 := kafkatest.Open(t, []string{e2.Addr()}, "p.", 2)
	r := b2.NewReader(kafka.ReaderConfig{GroupID: "after-restart", Topic: topic})
	defer r.Close()
	got := map[string]bool{}
	for len(got) < 2 {
		m, err := r.FetchMessage(ctx)
		if err != nil {
			t.Fatalf("after restart: %v (got %v)", err, got)
		}
		got[string(m.Value)] = true
	}
}
