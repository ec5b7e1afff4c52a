package routing

import (
	"context"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/lienthong/lienthong/internal/kafkabus"
	"github.com/lienthong/lienthong/internal/kafkabus/kafkatest"
)

const benchPartitions = 12

// BenchmarkRouterVsRelay measures the router's throughput on the embedded
// broker beside a baseline measured in the same run: a plain kafka-go relay
// over the same kind of topics (group reader, write each record to one inbox,
// commit), batched the same way. Run with -benchtime=1x.
func BenchmarkRouterVsRelay(b *testing.B) {
	const dossiers = 2000
	for i := 0; i < b.N; i++ {
		bus := kafkatest.Start(b, benchPartitions, testAgencies...)
		sc := buildScenario(b, bus, dossiers)
		produce(b, bus, sc.records)
		total := int64(len(sc.records))

		relayRate := relay(b, bus, total)

		r, stop := startRunner(b, bus, RunnerConfig{})
		deadline := time.Now().Add(120 * time.Second)
		for r.Stats().Partitions < benchPartitions && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
		start := time.Now()
		for {
			s := r.Stats()
			if s.Records >= total {
				break
			}
			if time.Now().After(deadline) {
				b.Fatalf("router stuck at %+v of %d", s, total)
			}
			time.Sleep(time.Millisecond)
		}
		elapsed := time.Since(start)
		stop()
		rate := float64(total) / elapsed.Seconds()
		b.ReportMetric(rate, "router-events/s")
		b.ReportMetric(float64(dossiers)/elapsed.Seconds(), "dossiers-completed/s")
		st := r.Stats()
		b.ReportMetric(float64(st.Outputs+st.States)/elapsed.Seconds(), "router-records-written/s")
		b.ReportMetric(relayRate, "relay-events/s")
		b.ReportMetric(100*rate/relayRate, "%-of-relay")
	}
}

// relay consumes the events topic with a group reader and writes each record
// to one inbox topic, committing after each acknowledged batch; it returns
// records per second.
func relay(b *testing.B, bus *kafkabus.Bus, total int64) float64 {
	rd := bus.NewReader(kafka.ReaderConfig{Topic: bus.Topic(kafkabus.TopicEvents), GroupID: "relay-baseline"})
	defer rd.Close()
	inbox := bus.Topic(kafkabus.InboxTopic("OTHER"))
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	var n int64
	var start time.Time
	for n < total {
		m, err := rd.FetchMessage(ctx)
		if err != nil {
			b.Fatalf("relay after %d: %v", n, err)
		}
		if start.IsZero() {
			start = time.Now()
		}
		batch := []kafka.Message{m}
		bctx, bcancel := context.WithTimeout(ctx, 5*time.Millisecond)
		for len(batch) < 500 {
			m, err := rd.FetchMessage(bctx)
			if err != nil {
				break
			}
			batch = append(batch, m)
		}
		bcancel()
		outs := make([]kafka.Message, len(batch))
		for i, m := range batch {
			outs[i] = kafkabus.Record(inbox, string(m.Key), m.Value)
		}
		if err := bus.Writer().WriteMessages(ctx, outs...); err != nil {
			b.Fatal(err)
		}
		if err := rd.CommitMessages(ctx, batch...); err != nil {
			b.Fatal(err)
		}
		n += int64(len(batch))
	}
	return float64(total) / time.Since(start).Seconds()
}
