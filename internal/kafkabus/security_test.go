package kafkabus_test

import (
	"context"
	"crypto/tls"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/lienthong/lienthong/internal/app"
	"github.com/lienthong/lienthong/internal/config"
	"github.com/lienthong/lienthong/internal/kafkabus"
	"github.com/lienthong/lienthong/internal/kafkabus/embedded"
	"github.com/lienthong/lienthong/internal/testpki"
)

// brokerTLS makes a CA and a server certificate for 127.0.0.1 signed by it;
// it returns the broker's TLS config and the CA file a client trusts.
func brokerTLS(t *testing.T) (*tls.Config, string) {
	t.Helper()
	pki := testpki.New(t)
	srv := pki.Server("broker")
	return &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{srv.Cert}}, pki.CAFile
}

// secureBroker starts an embedded broker that demands TLS and SASL with one
// user per mechanism, the password "s3cret-<mechanism>".
func secureBroker(t *testing.T, serverTLS *tls.Config) string {
	t.Helper()
	users := map[string]map[string]string{}
	for _, m := range []string{config.SASLPlain, config.SASLScramSHA256, config.SASLScramSHA512} {
		users[m] = map[string]string{"lienthong": "s3cret-" + m}
	}
	e, err := embedded.Start(embedded.Options{SASL: users, TLS: serverTLS})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close)
	return e.Addr()
}

// The client options lienthong builds from its config (app.BusOptions)
// create topics, produce and consume in a group over TLS with each SASL
// mechanism the config accepts.
func TestBusOverTLSWithEachSASLMechanism(t *testing.T) {
	serverTLS, caFile := brokerTLS(t)
	addr := secureBroker(t, serverTLS)
	for _, mech := range []string{config.SASLPlain, config.SASLScramSHA256, config.SASLScramSHA512} {
		t.Run(mech, func(t *testing.T) {
			opts, err := app.BusOptions(config.Kafka{
				Brokers:     []string{addr},
				TopicPrefix: "sec." + strings.ToLower(mech) + ".",
				Partitions:  2,
				TLS:         config.KafkaTLS{Enabled: true, CAFile: caFile},
				SASL:        config.SASL{Mechanism: mech, Username: "lienthong", Password: "s3cret-" + mech},
			})
			if err != nil {
				t.Fatal(err)
			}
			if opts.TLS == nil || opts.TLS.RootCAs == nil || opts.SASL == nil || opts.SASL.Name() != mech {
				t.Fatalf("BusOptions: TLS %v, SASL %v", opts.TLS, opts.SASL)
			}
			b, err := kafkabus.New(opts)
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if err := b.EnsureTopics(ctx, kafkabus.TopicSpec{Suffix: kafkabus.TopicEvents}); err != nil {
				t.Fatal(err)
			}
			topic := b.Topic(kafkabus.TopicEvents)
			want := `{"mech":"` + mech + `"}`
			if err := b.Writer().WriteMessages(ctx, kafkabus.Record(topic, "HCC-20260303-0001", []byte(want))); err != nil {
				t.Fatalf("produce: %v", err)
			}
			r := b.NewReader(kafka.ReaderConfig{GroupID: "sec-" + mech, Topic: topic})
			defer r.Close()
			m, err := r.FetchMessage(ctx)
			if err != nil {
				t.Fatalf("consume: %v", err)
			}
			if string(m.Value) != want || string(m.Key) != "HCC-20260303-0001" {
				t.Fatalf("read %s=%s, want %s", m.Key, m.Value, want)
			}
			cctx, ccancel := context.WithTimeout(ctx, 10*time.Second)
			defer ccancel()
			if err := r.CommitMessages(cctx, m); err != nil {
				t.Fatalf("commit: %v", err)
			}
			if err := b.Ping(ctx); err != nil {
				t.Fatalf("ping: %v", err)
			}
		})
	}
}

// Bad credentials or a missing TLS trust fail fast with an error an operator
// can act on, not a hang until the start-up deadline.
func TestBusRefusedCredentialsFailClearly(t *testing.T) {
	serverTLS, caFile := brokerTLS(t)
	addr := secureBroker(t, serverTLS)
	cases := []struct {
		name string
		k    config.Kafka
		want string // in the error, case-insensitive
	}{
		{"wrong SCRAM-SHA-512 password", config.Kafka{
			TLS:  config.KafkaTLS{Enabled: true, CAFile: caFile},
			SASL: config.SASL{Mechanism: config.SASLScramSHA512, Username: "lienthong", Password: "wrong"},
		}, "sasl authentication failed"},
		{"wrong PLAIN password", config.Kafka{
			TLS:  config.KafkaTLS{Enabled: true, CAFile: caFile},
			SASL: config.SASL{Mechanism: config.SASLPlain, Username: "lienthong", Password: "wrong"},
		}, "sasl authentication failed"},
		{"unknown user", config.Kafka{
			TLS:  config.KafkaTLS{Enabled: true, CAFile: caFile},
			SASL: config.SASL{Mechanism: config.SASLScramSHA256, Username: "nobody", Password: "s3cret-SCRAM-SHA-256"},
		}, "sasl authentication failed"},
		{"CA not trusted", config.Kafka{
			TLS:  config.KafkaTLS{Enabled: true}, // system roots: the test CA is not among them
			SASL: config.SASL{Mechanism: config.SASLScramSHA512, Username: "lienthong", Password: "s3cret-SCRAM-SHA-512"},
		}, "x509"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.k.Brokers = []string{addr}
			c.k.TopicPrefix = "bad."
			opts, err := app.BusOptions(c.k)
			if err != nil {
				t.Fatal(err)
			}
			b, err := kafkabus.New(opts)
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			start := time.Now()
			err = b.EnsureTopics(ctx, kafkabus.TopicSpec{Suffix: kafkabus.TopicEvents})
			took := time.Since(start)
			if err == nil {
				t.Fatal("EnsureTopics succeeded with refused credentials")
			}
			if took > 15*time.Second {
				t.Errorf("EnsureTopics took %v to fail", took)
			}
			if !strings.Contains(strings.ToLower(err.Error()), c.want) {
				t.Errorf("error %q does not mention %q", err, c.want)
			}
			t.Logf("failed after %v: %v", took.Round(time.Millisecond), err)
		})
	}
}

// BusOptions refuses what it cannot use, naming the config field.
func TestBusOptionsRefusesBadSecuritySettings(t *testing.T) {
	dir := t.TempDir()
	notPEM := filepath.Join(dir, "not.pem")
	if err := os.WriteFile(notPEM, []byte("hello"), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		k    config.Kafka
		want string
	}{
		{"CA file without certificates", config.Kafka{TLS: config.KafkaTLS{Enabled: true, CAFile: notPEM}}, "kafka.tls.ca_file"},
		{"missing CA file", config.Kafka{TLS: config.KafkaTLS{Enabled: true, CAFile: filepath.Join(dir, "none.pem")}}, "kafka.tls.ca_file"},
		{"bad client key pair", config.Kafka{TLS: config.KafkaTLS{Enabled: true, CertFile: notPEM, KeyFile: notPEM}}, "kafka.tls.cert_file"},
		{"unknown mechanism", config.Kafka{SASL: config.SASL{Mechanism: "GSSAPI"}}, "kafka.sasl"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := app.BusOptions(c.k)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want one naming %s", err, c.want)
			}
		})
	}
}
