package app

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/segmentio/kafka-go"

	engine "github.com/lienthong/lienthong/adapters/delivery"
	"github.com/lienthong/lienthong/internal/config"
	"github.com/lienthong/lienthong/internal/console"
	"github.com/lienthong/lienthong/internal/kafkabus"
)

// mountConsole serves the operator console at /console/: it signs in with
// the API's tokens and reads through the API mux as the session's caller.
func (a *App) mountConsole(ctx context.Context) {
	c := console.New(console.Options{
		API:          a.api,
		Authenticate: a.authn.Authenticate,
		Config:       a.Config,
		NotReady: func(ctx context.Context) string {
			pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			defer cancel()
			if err := a.Bus.Ping(pctx); err != nil {
				return "kafka unreachable"
			}
			return a.notReady()
		},
		Lag:     a.consumerLag,
		Metrics: a.Registry,
		Logger:  a.Logger,
	})
	a.mux.Handle(console.Prefix, c)
	a.Go("console", c.Run, ctx)
}

// consumerLag is each consumer group's lag (end offsets minus committed
// offsets, summed over partitions) for the roles this process runs.
func (a *App) consumerLag(ctx context.Context) ([]console.LagRow, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	var rows []console.LagRow
	if a.roles[RoleRouter] {
		rows = append(rows, console.LagRow{Role: RoleRouter, Group: "lienthong-router", Topic: a.Bus.Topic(kafkabus.TopicEvents)})
	}
	if p := a.projector.Load(); p != nil {
		rows = append(rows, console.LagRow{Role: "projector", Group: p.GroupID(), Topic: a.Bus.Topic(kafkabus.TopicState)})
	}
	if a.roles[RoleDelivery] {
		var codes []string
		for _, ag := range a.Config.Agencies {
			if ag.Delivery.Mode == config.ModeWebhook {
				codes = append(codes, ag.Code)
			}
		}
		sort.Strings(codes)
		for _, code := range codes {
			rows = append(rows, console.LagRow{Role: RoleDelivery + " " + code, Group: engine.GroupID(code), Topic: a.Bus.Topic(kafkabus.InboxTopic(code))})
		}
	}
	cl := a.Bus.Client()
	for i := range rows {
		r := &rows[i]
		ends, err := a.Bus.Offsets(ctx, r.Topic)
		if err != nil {
			r.Err = err.Error()
			continue
		}
		parts := make([]int, 0, len(ends))
		for p := range ends {
			parts = append(parts, p)
		}
		resp, err := cl.OffsetFetch(ctx, &kafka.OffsetFetchRequest{GroupID: r.Group, Topics: map[string][]int{r.Topic: parts}})
		if err == nil && resp.Error != nil {
			err = resp.Error
		}
		if err != nil {
			r.Err = fmt.Sprintf("offsets of %s: %v", r.Group, err)
			continue
		}
		committed := map[int]int64{}
		for _, p := range resp.Topics[r.Topic] {
			committed[p.Partition] = p.CommittedOffset
		}
		for p, b := range ends {
			c, ok := committed[p]
			if !ok || c < 0 {
				c = b.First // nothing committed yet: everything retained is to do
			}
			if b.End > c {
				r.Lag += b.End - c
			}
		}
	}
	return rows, nil
}
