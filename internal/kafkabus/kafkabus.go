// Package kafkabus is lienthong's Kafka plumbing on segmentio/kafka-go:
// topic creation, a producer set for safety and low latency, and consumers
// that commit only after the work of a record is durable (the embedded
// broker for single-node runs is package embedded). Every Kafka read and write in lienthong goes
// through here, against the embedded broker and Apache Kafka alike: one code
// path.
package kafkabus

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/sasl"

	"github.com/lienthong/lienthong/problem"
)

// Options say how to reach the cluster and how to lay out topics.
type Options struct {
	Brokers           []string
	TopicPrefix       string // e.g. "lienthong."
	Partitions        int
	ReplicationFactor int
	TLS               *tls.Config    // nil: plaintext
	SASL              sasl.Mechanism // nil: no SASL
	ClientID          string
}

// Topic suffixes of DESIGN.md section 8.
const (
	TopicEvents   = "events"
	TopicState    = "state"
	TopicRejected = "rejected"
)

// InboxTopic and DLQTopic return the suffix of an agency's topics.
func InboxTopic(agency string) string { return "inbox." + agency }
func DLQTopic(agency string) string   { return "dlq." + agency }

// Header names used on records.
const (
	HeaderContentType = "content-type"
	HeaderTraceparent = "traceparent"
	HeaderError       = "lienthong-error"
	HeaderAttempts    = "lienthong-attempts"
	HeaderLastStatus  = "lienthong-last-status"
	HeaderAcceptedAt  = "lienthong-accepted-at"
)

// ErrorHeader is the lienthong-error header of a dead letter or a refused
// record: the problem URN, a space, the detail (docs/DESIGN.md, ADAPTERS.md).
func ErrorHeader(reason problem.Type, detail string) kafka.Header {
	return kafka.Header{Key: HeaderError, Value: []byte(reason.URN() + " " + detail)}
}

// Bus is a connection to one Kafka cluster. It is safe for concurrent use.
type Bus struct {
	opts      Options
	transport *kafka.Transport
	dialer    *kafka.Dialer
	writer    *kafka.Writer
}

// New prepares a Bus; it does not dial. Call EnsureTopics before use.
func New(opts Options) (*Bus, error) {
	if len(opts.Brokers) == 0 {
		return nil, errors.New("kafkabus: no brokers")
	}
	if opts.Partitions <= 0 {
		opts.Partitions = 1
	}
	if opts.ReplicationFactor <= 0 {
		opts.ReplicationFactor = 1
	}
	if opts.ClientID == "" {
		opts.ClientID = "lienthong"
	}
	b := &Bus{opts: opts}
	b.transport = b.newTransport()
	b.dialer = &kafka.Dialer{
		ClientID:      opts.ClientID,
		Timeout:       10 * time.Second,
		DualStack:     true,
		TLS:           opts.TLS,
		SASLMechanism: opts.SASL,
	}
	b.writer = b.NewWriter()
	return b, nil
}

func (b *Bus) newTransport() *kafka.Transport {
	return &kafka.Transport{
		ClientID:    b.opts.ClientID,
		TLS:         b.opts.TLS,
		SASL:        b.opts.SASL,
		DialTimeout: 10 * time.Second,
		IdleTimeout: 30 * time.Second,
		MetadataTTL: 10 * time.Second,
	}
}

// Options returns the options the bus was made with.
func (b *Bus) Options() Options { return b.opts }

// Brokers returns the bootstrap addresses.
func (b *Bus) Brokers() []string { return b.opts.Brokers }

// Topic returns the full name of a topic suffix ("events" -> "lienthong.events").
func (b *Bus) Topic(suffix string) string { return b.opts.TopicPrefix + suffix }

// Dialer returns the dialer for readers and consumer groups (TLS, SASL set).
func (b *Bus) Dialer() *kafka.Dialer { return b.dialer }

// Client returns an admin/fetch client with its own transport: a client that
// shares pooled connections across a broker restart fails on stale ones
// (LIBRARY-NOTES), so each call site gets a fresh one.
func (b *Bus) Client() *kafka.Client {
	return &kafka.Client{Addr: kafka.TCP(b.opts.Brokers...), Transport: b.newTransport(), Timeout: 15 * time.Second}
}

// maxBatchBytes bounds kafka-go's per-partition batch (the sum of its
// messages' sizes, which count more per-record overhead than the wire
// format does) so that the record batch on the wire, with its 61-byte
// header, stays under the broker default message.max.bytes of 1048588.
const maxBatchBytes = 1<<20 - 1024

// Writer returns the bus's shared producer. Messages must set Topic.
func (b *Bus) Writer() *kafka.Writer { return b.writer }

// NewWriter makes a producer set for safety and low latency:
//   - acks from all in-sync replicas (a kafka.Writer{} literal defaults to none);
//   - the Murmur2 key balancer, the Java client's default partitioner, so a
//     dossier's records land on the same partition number in every topic
//     whoever produced them (the router relies on events and state agreeing);
//   - a 1 ms batch timeout: kafka-go's 1 s default would show up as request
//     latency on every synchronous write. Concurrent callers still batch.
//   - per-partition batches under the broker's default message.max.bytes
//     (1048588, Apache Kafka and kfake alike): a bigger batch is refused
//     whole with MESSAGE_TOO_LARGE, and a writer retrying it (the router
//     catching up after a restart) never gets past it.
func (b *Bus) NewWriter() *kafka.Writer {
	return &kafka.Writer{
		Addr:                   kafka.TCP(b.opts.Brokers...),
		Balancer:               &kafka.Murmur2Balancer{},
		RequiredAcks:           kafka.RequireAll,
		BatchTimeout:           time.Millisecond,
		BatchSize:              500,
		BatchBytes:             maxBatchBytes,
		MaxAttempts:            5,
		WriteBackoffMin:        20 * time.Millisecond,
		WriteBackoffMax:        500 * time.Millisecond,
		ReadTimeout:            10 * time.Second,
		WriteTimeout:           10 * time.Second,
		AllowAutoTopicCreation: false,
		Transport:              b.newTransport(),
	}
}

// ReaderConfig fills the connection fields and lienthong's defaults into cfg:
// manual commits only (CommitInterval 0 and FetchMessage + CommitMessages at
// the call site; ReadMessage loses records when its commit fails), a 1 s
// MaxWait (250 ms gave transient i/o timeouts), and the first offset for a
// group that has none.
func (b *Bus) ReaderConfig(cfg kafka.ReaderConfig) kafka.ReaderConfig {
	cfg.Brokers = b.opts.Brokers
	cfg.Dialer = b.dialer
	if cfg.MinBytes == 0 {
		cfg.MinBytes = 1
	}
	if cfg.MaxBytes == 0 {
		cfg.MaxBytes = 10 << 20
	}
	if cfg.MaxWait == 0 {
		cfg.MaxWait = time.Second
	}
	if cfg.StartOffset == 0 {
		cfg.StartOffset = kafka.FirstOffset
	}
	if cfg.ReadBackoffMin == 0 {
		cfg.ReadBackoffMin = 50 * time.Millisecond
	}
	if cfg.ReadBackoffMax == 0 {
		cfg.ReadBackoffMax = time.Second
	}
	if cfg.GroupID != "" {
		if cfg.HeartbeatInterval == 0 {
			cfg.HeartbeatInterval = time.Second
		}
		if cfg.SessionTimeout == 0 {
			cfg.SessionTimeout = 10 * time.Second
		}
		if cfg.RebalanceTimeout == 0 {
			cfg.RebalanceTimeout = 10 * time.Second
		}
		if cfg.JoinGroupBackoff == 0 {
			cfg.JoinGroupBackoff = 500 * time.Millisecond
		}
	}
	return cfg
}

// NewReader returns a kafka-go reader with ReaderConfig's defaults.
func (b *Bus) NewReader(cfg kafka.ReaderConfig) *kafka.Reader {
	return kafka.NewReader(b.ReaderConfig(cfg))
}

// GroupConfig is lienthong's consumer-group settings: start at the first
// offset when the group has none, a 10 s session and rebalance timeout,
// committed offsets kept 7 days. log (nil: none) gets kafka-go's group
// events (joins, assignments, heartbeats) at debug and its failures (of a
// heartbeat, a sync, a commit) at warn: kafka-go reports those nowhere else.
func GroupConfig(id string, brokers []string, dialer *kafka.Dialer, log *slog.Logger, topics ...string) kafka.ConsumerGroupConfig {
	cfg := kafka.ConsumerGroupConfig{
		ID:                id,
		Brokers:           brokers,
		Dialer:            dialer,
		Topics:            topics,
		StartOffset:       kafka.FirstOffset,
		HeartbeatInterval: time.Second,
		SessionTimeout:    10 * time.Second,
		RebalanceTimeout:  10 * time.Second,
		JoinGroupBackoff:  500 * time.Millisecond,
		RetentionTime:     7 * 24 * time.Hour,
	}
	if log != nil {
		log = log.With("group", id)
		cfg.Logger = kafka.LoggerFunc(func(msg string, args ...any) {
			log.Debug("kafka: consumer group", "detail", fmt.Sprintf(msg, args...))
		})
		cfg.ErrorLogger = kafka.LoggerFunc(func(msg string, args ...any) {
			log.Warn("kafka: consumer group", "detail", fmt.Sprintf(msg, args...))
		})
	}
	return cfg
}

// NewConsumerGroup joins a consumer group on the given full topic names; the
// caller drives generations (Next, Start, CommitOffsets), which is what a
// consumer needs that keeps per-partition state.
func (b *Bus) NewConsumerGroup(id string, log *slog.Logger, topics ...string) (*kafka.ConsumerGroup, error) {
	return kafka.NewConsumerGroup(GroupConfig(id, b.opts.Brokers, b.dialer, log, topics...))
}

// TopicSpec is a topic to create.
type TopicSpec struct {
	Suffix  string
	Compact bool // cleanup.policy=compact (the state topic)
}

// EnsureTopics creates the topics (with the prefix) that do not exist yet,
// with the configured partitions and replication factor, and waits until the
// cluster serves their metadata.
func (b *Bus) EnsureTopics(ctx context.Context, specs ...TopicSpec) error {
	if len(specs) == 0 {
		return nil
	}
	cl := b.Client()
	req := &kafka.CreateTopicsRequest{}
	for _, s := range specs {
		tc := kafka.TopicConfig{
			Topic:             b.Topic(s.Suffix),
			NumPartitions:     b.opts.Partitions,
			ReplicationFactor: b.opts.ReplicationFactor,
		}
		if s.Compact {
			// The router tombstones a closed dossier once the store holds
			// it; compaction must then actually run, so that a restart
			// reads the open dossiers, not the history: Kafka compacts only
			// closed segments (segment.ms defaults to 7 days), and keeps
			// tombstones a day by default (nothing needs them long: readers
			// of the whole topic start from the beginning).
			tc.ConfigEntries = append(tc.ConfigEntries,
				kafka.ConfigEntry{ConfigName: "cleanup.policy", ConfigValue: "compact"},
				kafka.ConfigEntry{ConfigName: "segment.ms", ConfigValue: "3600000"},
				kafka.ConfigEntry{ConfigName: "min.cleanable.dirty.ratio", ConfigValue: "0.2"},
				kafka.ConfigEntry{ConfigName: "delete.retention.ms", ConfigValue: "600000"})
		}
		req.Topics = append(req.Topics, tc)
	}
	resp, err := cl.CreateTopics(ctx, req)
	if err != nil {
		return fmt.Errorf("create topics: %w", b.diagnose(ctx, err))
	}
	for name, terr := range resp.Errors {
		if terr != nil && !errors.Is(terr, kafka.TopicAlreadyExists) {
			return fmt.Errorf("create topic %s: %w", name, terr)
		}
	}
	names := make([]string, 0, len(specs))
	for _, s := range specs {
		names = append(names, b.Topic(s.Suffix))
	}
	return b.waitTopics(ctx, cl, names)
}

func (b *Bus) waitTopics(ctx context.Context, cl *kafka.Client, names []string) error {
	deadline := time.Now().Add(30 * time.Second)
	for {
		md, err := cl.Metadata(ctx, &kafka.MetadataRequest{Topics: names})
		if err == nil {
			ready := 0
			req := &kafka.ListOffsetsRequest{Topics: map[string][]kafka.OffsetRequest{}}
			for _, t := range md.Topics {
				ok := t.Error == nil && len(t.Partitions) > 0
				for _, p := range t.Partitions {
					ok = ok && p.Error == nil && p.Leader.ID >= 0
					req.Topics[t.Name] = append(req.Topics[t.Name], kafka.LastOffsetOf(p.ID))
				}
				if ok {
					ready++
				}
			}
			// Apache Kafka serves metadata with a leader some tens of
			// milliseconds before that leader answers produce and list
			// offsets (NOT_LEADER_OR_FOLLOWER): wait until it does.
			if ready == len(names) {
				if err = offsetsServed(ctx, cl, req); err == nil {
					return nil
				}
			}
		}
		if time.Now().After(deadline) {
			if err == nil {
				err = errors.New("metadata incomplete")
			}
			return fmt.Errorf("wait for topics %s: %w", strings.Join(names, ","), err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func offsetsServed(ctx context.Context, cl *kafka.Client, req *kafka.ListOffsetsRequest) error {
	resp, err := cl.ListOffsets(ctx, req)
	if err != nil {
		return err
	}
	for topic, ps := range resp.Topics {
		for _, p := range ps {
			if p.Error != nil {
				return fmt.Errorf("%s/%d: %w", topic, p.Partition, p.Error)
			}
		}
	}
	return nil
}

// Partitions returns the partition ids of a full topic name.
func (b *Bus) Partitions(ctx context.Context, topic string) ([]int, error) {
	md, err := b.Client().Metadata(ctx, &kafka.MetadataRequest{Topics: []string{topic}})
	if err != nil {
		return nil, fmt.Errorf("metadata %s: %w", topic, explain(err))
	}
	for _, t := range md.Topics {
		if t.Name != topic {
			continue
		}
		if t.Error != nil {
			return nil, fmt.Errorf("metadata %s: %w", topic, t.Error)
		}
		ps := make([]int, 0, len(t.Partitions))
		for _, p := range t.Partitions {
			ps = append(ps, p.ID)
		}
		return ps, nil
	}
	return nil, fmt.Errorf("metadata %s: topic not found", topic)
}

// Ping checks that the cluster answers metadata within ctx.
func (b *Bus) Ping(ctx context.Context) error {
	_, err := b.Client().Metadata(ctx, &kafka.MetadataRequest{Topics: []string{b.Topic(TopicEvents)}})
	if err != nil {
		return b.diagnose(ctx, err)
	}
	return nil
}

// Close flushes and closes the shared writer.
func (b *Bus) Close() error { return b.writer.Close() }

// Record makes a record in the CloudEvents Kafka binding's structured mode:
// key = dossier code, value = the CloudEvent JSON, content-type header.
func Record(topic, key string, value []byte, headers ...kafka.Header) kafka.Message {
	hs := make([]kafka.Header, 0, 1+len(headers))
	hs = append(hs, kafka.Header{Key: HeaderContentType, Value: []byte("application/cloudevents+json; charset=UTF-8")})
	hs = append(hs, headers...)
	return kafka.Message{Topic: topic, Key: []byte(key), Value: value, Headers: hs}
}

// Header returns the value of the named header of m, or "".
func Header(m kafka.Message, name string) string {
	for _, h := range m.Headers {
		if h.Key == name {
			return string(h.Value)
		}
	}
	return ""
}

// explain turns kafka-go's opaque errors on SASL or TLS trouble into
// something an operator can act on: a bad password shows up as a bare EOF.
func explain(err error) error {
	if err == nil {
		return nil
	}
	var ne net.Error
	if errors.Is(err, kafka.SASLAuthenticationFailed) {
		return fmt.Errorf("kafka SASL authentication failed (check kafka.sasl): %w", err)
	}
	if strings.Contains(err.Error(), "unexpected EOF") {
		return fmt.Errorf("%w (the broker closed the connection: wrong SASL credentials or TLS settings?)", err)
	}
	if errors.As(err, &ne) && ne.Timeout() {
		return fmt.Errorf("kafka unreachable: %w", err)
	}
	return err
}

// diagnose finds the cause that kafka-go's Client hides: a connection the
// broker refused (bad SASL credentials, an untrusted TLS certificate) comes
// back as "[8] Broker Not Available" or a bare EOF. A direct dial with the
// bus's dialer reports "SASL Authentication Failed" or the x509 error, which
// is what an operator needs to see at start-up.
func (b *Bus) diagnose(ctx context.Context, err error) error {
	if !errors.Is(err, kafka.BrokerNotAvailable) && !strings.Contains(err.Error(), "unexpected EOF") {
		return explain(err)
	}
	dctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	for _, addr := range b.opts.Brokers {
		conn, derr := b.dialer.DialContext(dctx, "tcp", addr)
		if derr != nil {
			return fmt.Errorf("%w; a direct connection to %s says: %w", err, addr, explain(derr))
		}
		_ = conn.Close()
	}
	return explain(err)
}

// AllTopics lists every topic lienthong needs for the given agencies.
func AllTopics(agencies []string) []TopicSpec {
	specs := []TopicSpec{{Suffix: TopicEvents}, {Suffix: TopicState, Compact: true}, {Suffix: TopicRejected}}
	for _, a := range agencies {
		specs = append(specs, TopicSpec{Suffix: InboxTopic(a)}, TopicSpec{Suffix: DLQTopic(a)})
	}
	return specs
}
