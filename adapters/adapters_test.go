package adapters_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/lienthong/lienthong/adapters"
)

func TestClassification(t *testing.T) {
	base := errors.New("boom")
	se := &adapters.StatusError{Status: 503, RetryAfter: 2 * time.Second, Err: base}
	cases := []struct {
		name       string
		err        error
		permanent  bool
		status     int
		retryAfter time.Duration
	}{
		{"plain", base, false, 0, 0},
		{"status", se, false, 503, 2 * time.Second},
		{"wrapped status", fmt.Errorf("deliver: %w", se), false, 503, 2 * time.Second},
		{"permanent", adapters.Permanent(base), true, 0, 0},
		{"permanent status", adapters.Permanent(&adapters.StatusError{Status: 400}), true, 400, 0},
		{"wrapped permanent", fmt.Errorf("x: %w", adapters.Permanent(base)), true, 0, 0},
		{"context", context.Canceled, false, 0, 0},
	}
	for _, c := range cases {
		if got := adapters.IsPermanent(c.err); got != c.permanent {
			t.Errorf("%s: IsPermanent = %v", c.name, got)
		}
		if got := adapters.StatusOf(c.err); got != c.status {
			t.Errorf("%s: StatusOf = %d", c.name, got)
		}
		if got := adapters.RetryAfterOf(c.err); got != c.retryAfter {
			t.Errorf("%s: RetryAfterOf = %s", c.name, got)
		}
	}
	if adapters.Permanent(nil) != nil {
		t.Error("Permanent(nil) != nil")
	}
	if !errors.Is(adapters.Permanent(se), base) {
		t.Error("Permanent hides the cause from errors.Is")
	}
}

func TestBackoff(t *testing.T) {
	ms := time.Millisecond
	cases := []struct {
		attempt    int
		retryAfter time.Duration
		r          float64
		want       time.Duration
	}{
		{1, 0, 0, 100 * ms},          // floor
		{1, 0, 0.999999, 100 * ms},   // first wait: ceiling is min
		{2, 0, 0.5, 150 * ms},        // between 100 and 200
		{3, 0, 1, 400 * ms},          // ceiling doubles
		{10, 0, 1, 1000 * ms},        // capped
		{100, 0, 1, 1000 * ms},       // no overflow
		{1, 700 * ms, 0, 700 * ms},   // Retry-After honoured
		{1, time.Hour, 0, 1000 * ms}, // ... but capped
		{4, 10 * ms, 0.5, 450 * ms},  // a small hint does not shorten the backoff
	}
	for _, c := range cases {
		if got := adapters.Backoff(100*ms, time.Second, c.attempt, c.retryAfter, c.r); got != c.want {
			t.Errorf("Backoff(attempt %d, after %s, r %.2f) = %s, want %s", c.attempt, c.retryAfter, c.r, got, c.want)
		}
	}
}

// Jitter: the same failure pattern gives different waits.
func TestBackoffHasJitter(t *testing.T) {
	seen := map[time.Duration]bool{}
	for i := 0; i < 50; i++ {
		seen[adapters.Backoff(10*time.Millisecond, time.Second, 5, 0, float64(i)/50)] = true
	}
	if len(seen) < 40 {
		t.Fatalf("only %d distinct waits out of 50", len(seen))
	}
}
