package delivery_test

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/lienthong/lienthong/adapters"
	"github.com/lienthong/lienthong/adapters/adaptertest"
)

// Two engines in one group (two replicas of lienthong serve): a second one
// joining midway takes over some partitions; nothing is lost and each
// dossier stays in order (duplicates allowed, same id and body).
func TestRebalanceBetweenReplicas(t *testing.T) {
	if testing.Short() {
		t.Skip("rebalance takes seconds")
	}
	b := adaptertest.StartCluster(t, 4, "RB")
	var mu sync.Mutex
	var got []adaptertest.Delivery
	perEngine := map[string]int{}
	driver := func(name string) adapters.Driver {
		return adapters.DriverFunc(func(ctx context.Context, m *adapters.Message) error {
			time.Sleep(5 * time.Millisecond)
			var ev struct{ ID, Subject string }
			_ = json.Unmarshal(m.Body, &ev)
			mu.Lock()
			got = append(got, adaptertest.Delivery{ID: ev.ID, Subject: ev.Subject, Body: m.Body})
			perEngine[name]++
			mu.Unlock()
			return nil
		})
	}
	count := func() int {
		mu.Lock()
		defer mu.Unlock()
		ids := map[string]bool{}
		for _, d := range got {
			ids[d.ID] = true
		}
		return len(ids)
	}
	total := adaptertest.Publish(t, b, "RB", 20, 40)
	o := adaptertest.Options()
	o.Concurrency = 1
	adaptertest.Start(t, b, "RB", driver("a"), o)
	deadline := time.Now().Add(30 * time.Second)
	for count() < total/10 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	adaptertest.Start(t, b, "RB", driver("b"), o)
	deadline = time.Now().Add(60 * time.Second)
	for count() < total {
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d delivered", count(), total)
		}
		time.Sleep(20 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	adaptertest.CheckOrder(t, got)
	if perEngine["b"] == 0 {
		t.Logf("the second engine got no partition before the end (%v)", perEngine)
	}
	t.Logf("deliveries per engine %v, %d in all for %d events", perEngine, len(got), total)
}
