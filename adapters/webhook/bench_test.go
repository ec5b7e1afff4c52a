package webhook_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/lienthong/lienthong/adapters/adaptertest"
	"github.com/lienthong/lienthong/adapters/webhook"
	"github.com/lienthong/lienthong/internal/kafkabus"
	"github.com/lienthong/lienthong/internal/kafkabus/kafkatest"
)

// BenchmarkWebhookDelivery measures events/s through the engine and the
// webhook driver, from the inbox topic on the embedded broker to a local
// receiver that answers 204 at once, over 4 partitions and 200 dossiers.
func BenchmarkWebhookDelivery(b *testing.B) {
	for _, conc := range []int{16, 64} {
		b.Run(fmt.Sprintf("concurrency=%d", conc), func(b *testing.B) {
			bus := kafkatest.Start(b, 4, "BENCH")
			var got atomic.Int64
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				got.Add(1)
				w.WriteHeader(http.StatusNoContent)
			}))
			defer srv.Close()
			d, err := webhook.New(webhook.Options{URL: srv.URL, Secret: secret})
			if err != nil {
				b.Fatal(err)
			}
			defer d.Close()
			topic := bus.Topic(kafkabus.InboxTopic("BENCH"))
			msgs := make([]kafka.Message, 0, 1000)
			ctx := context.Background()
			for i := 0; i < b.N; i++ {
				dossier := adaptertest.Dossier(i % 200)
				msgs = append(msgs, kafkabus.Record(topic, dossier, adaptertest.Event(dossier, i/200+1)))
				if len(msgs) == cap(msgs) || i == b.N-1 {
					if err := bus.Writer().WriteMessages(ctx, msgs...); err != nil {
						b.Fatal(err)
					}
					msgs = msgs[:0]
				}
			}
			o := adaptertest.Options()
			o.Concurrency = conc
			o.MaxInFlight = 1000
			o.CommitInterval = time.Second
			b.ResetTimer()
			start := time.Now()
			stop := adaptertest.Start(b, adaptertest.Cluster{Brokers: bus.Brokers(), Prefix: bus.Options().TopicPrefix}, "BENCH", d, o)
			for got.Load() < int64(b.N) {
				time.Sleep(time.Millisecond)
			}
			el := time.Since(start)
			b.StopTimer()
			stop()
			b.ReportMetric(float64(b.N)/el.Seconds(), "events/s")
		})
	}
}
