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
