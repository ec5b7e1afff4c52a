// Package embedded is the in-process Kafka-protocol broker (the patched
// kfake of third_party/kfake) used when no brokers are configured, and by
// tests. It is a package of its own so that importers of the Kafka plumbing
// (internal/kafkabus, adapters/delivery) do not link the broker or franz-go.
package embedded

import (
	"crypto/tls"
	"fmt"
	"net"
	"os"

	"github.com/lienthong/lienthong/third_party/kfake"
)

// Broker is a running embedded broker. lienthong talks to it over TCP
// through kafka-go, exactly as to Apache Kafka.
type Broker struct {
	cluster *kfake.Cluster
	addr    string
}

// Options configure the embedded broker. Zero values are fine.
type Options struct {
	DataDir string // "" keeps everything in memory (tests of the plumbing only)
	Listen  string // host:port, "127.0.0.1:0" picks a free port
	// SASL users (mechanism -> user -> password) and a TLS server config, to
	// test the client options against a broker that demands them.
	SASL map[string]map[string]string
	TLS  *tls.Config
	// SyncWrites fsyncs each batch: needed only to survive an operating
	// system crash; a process crash loses nothing without it.
	SyncWrites bool
}

// Start starts a one-broker kfake cluster. With a DataDir, topics,
// records and committed offsets survive a restart of the process (a SIGKILL
// included: segments are appended as they are written).
func Start(o Options) (*Broker, error) {
	listen := o.Listen
	if listen == "" {
		listen = "127.0.0.1:0"
	}
	opts := []kfake.Opt{
		kfake.NumBrokers(1),
		kfake.ListenFn(func(network, _ string) (net.Listener, error) { return net.Listen(network, listen) }),
		kfake.ClusterID("lienthong-embedded"),
		// Compaction of the state topic runs on this ticker (default 1 h).
		kfake.BrokerConfigs(map[string]string{"log.cleaner.backoff.ms": "60000"}),
	}
	if o.DataDir != "" {
		if err := os.MkdirAll(o.DataDir, 0o750); err != nil {
			return nil, fmt.Errorf("embedded broker data dir: %w", err)
		}
		opts = append(opts, kfake.DataDir(o.DataDir))
	}
	if o.SyncWrites {
		opts = append(opts, kfake.SyncWrites())
	}
	if len(o.SASL) > 0 {
		opts = append(opts, kfake.EnableSASL())
		for mech, users := range o.SASL {
			for u, p := range users {
				opts = append(opts, kfake.Superuser(mech, u, p))
			}
		}
	}
	if o.TLS != nil {
		opts = append(opts, kfake.TLS(o.TLS))
	}
	c, err := kfake.NewCluster(opts...)
	if err != nil {
		return nil, fmt.Errorf("start embedded broker on %s: %w", listen, err)
	}
	addrs := c.ListenAddrs()
	if len(addrs) == 0 {
		c.Close()
		return nil, fmt.Errorf("start embedded broker on %s: no listener", listen)
	}
	return &Broker{cluster: c, addr: addrs[0]}, nil
}

// Addr is the broker's host:port.
func (e *Broker) Addr() string { return e.addr }

// Close stops the broker and saves its state.
func (e *Broker) Close() { e.cluster.Close() }
