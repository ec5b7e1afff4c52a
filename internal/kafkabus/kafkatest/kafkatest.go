// Package kafkatest gives tests a real Kafka broker over TCP: Apache Kafka
// when LIENTHONG_TEST_KAFKA_BROKERS names one (make test-kafka), otherwise a
// fresh embedded broker for the test. Each Bus gets a unique topic prefix so
// tests sharing one cluster do not see each other's records.
package kafkatest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/lienthong/lienthong/internal/kafkabus"
	"github.com/lienthong/lienthong/internal/kafkabus/embedded"
)

// EnvBrokers names the environment variable with an external cluster.
const EnvBrokers = "LIENTHONG_TEST_KAFKA_BROKERS"

// Brokers returns the external brokers from the environment, or nil.
func Brokers() []string {
	v := strings.TrimSpace(os.Getenv(EnvBrokers))
	if v == "" {
		return nil
	}
	return strings.Split(v, ",")
}

// Start returns a Bus on a broker for this test, with every lienthong topic
// for the given agencies created. The embedded broker (if any) is stopped at
// the end of the test.
func Start(t testing.TB, partitions int, agencies ...string) *kafkabus.Bus {
	t.Helper()
	brokers := Brokers()
	if brokers == nil {
		e, err := embedded.Start(embedded.Options{DataDir: t.TempDir()})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(e.Close)
		brokers = []string{e.Addr()}
	}
	return Open(t, brokers, Prefix(), partitions, agencies...)
}

// Prefix returns a topic prefix unique to one test run.
func Prefix() string { return fmt.Sprintf("t%x.", rand.Uint64()) }

// Open connects to brokers with prefix and creates the topics.
func Open(t testing.TB, brokers []string, prefix string, partitions int, agencies ...string) *kafkabus.Bus {
	t.Helper()
	b, err := kafkabus.New(kafkabus.Options{Brokers: brokers, TopicPrefix: prefix, Partitions: partitions, ReplicationFactor: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := b.EnsureTopics(ctx, kafkabus.AllTopics(agencies)...); err != nil {
		t.Fatal(err)
	}
	return b
}
