package app

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/lienthong/lienthong/internal/routing"
	"github.com/lienthong/lienthong/internal/store"
	"github.com/lienthong/lienthong/internal/tracking"
	"github.com/lienthong/lienthong/router"
)

// storeHolder opens the tracking store in the background and keeps trying:
// a database that is not up yet (or is being restarted) does not stop the
// process. Until it opens, tracking answers 503 and /readyz says why.
type storeHolder struct {
	mu  sync.Mutex
	st  *store.Store
	err error
}

var errStoreOpening = errors.New("opening")

func newStoreHolder() *storeHolder {
	return &storeHolder{err: errStoreOpening}
}

// get returns the store, or why there is none yet.
func (h *storeHolder) get() (*store.Store, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.st, h.err
}

func (h *storeHolder) set(st *store.Store, err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.st != nil {
		return
	}
	h.st, h.err = st, err
}

// close closes the store, once the workers using it have stopped.
func (h *storeHolder) close() {
	if st, _ := h.get(); st != nil {
		_ = st.Close()
	}
}

// storeConfig maps the config's store section.
func (a *App) storeConfig() store.Config {
	s := a.Config.Store
	return store.Config{DSN: s.DSN, DataDir: a.Config.DataDir, MaxOpenConns: s.MaxOpenConns,
		MaxIdleConns: s.MaxIdleConns, ConnMaxLifetime: s.ConnMaxLifetime.Duration}
}

// startStore opens the store (retrying with backoff until it answers, or
// failing for good on an error retrying cannot cure, such as a schema newer
// than this binary), then starts the projector.
func (a *App) startStore(ctx context.Context) error {
	a.store = newStoreHolder()
	if err := a.registerProjectorMetrics(); err != nil {
		return err
	}
	a.addCheck("tracking store", func() error {
		_, err := a.store.get()
		return err
	})
	cfg := a.storeConfig()
	a.Go("tracking store", func(ctx context.Context) error {
		for attempt, backoff := 1, 200*time.Millisecond; ; attempt, backoff = attempt+1, min(2*backoff, 10*time.Second) {
			octx, cancel := context.WithTimeout(ctx, 15*time.Second)
			st, err := store.Open(octx, cfg)
			cancel()
			if err == nil {
				err = a.pinForms(ctx, st)
				var changed *store.FormChangedError
				if errors.As(err, &changed) {
					_ = st.Close()
					a.store.set(nil, err)
					a.Logger.Error("refusing to run: a form schema version changed", "err", err)
					return err // fatal: a published version never changes
				}
				if err != nil {
					_ = st.Close()
				}
			}
			if err == nil {
				a.store.set(st, nil)
				a.Logger.Info("tracking store open", "database", st.Dialect(), "path", storePath(cfg))
				return a.runProjector(ctx, st)
			}
			var tooNew *store.TooNewError
			if errors.As(err, &tooNew) {
				a.store.set(nil, err)
				return err // fatal: an older binary must not write a newer schema
			}
			a.store.set(nil, fmt.Errorf("unreachable (attempt %d): %w", attempt, err))
			if attempt == 1 || attempt%10 == 0 {
				a.Logger.Warn("tracking store unreachable; retrying", "attempt", attempt, "err", err)
			}
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(backoff):
			}
		}
	}, ctx)
	return nil
}

func storePath(c store.Config) string {
	if c.DSN == "" {
		return filepath.Join(c.DataDir, "lienthong.db")
	}
	return "(dsn)"
}

// registerProjectorMetrics exports the projector's counters (zero until the
// store opens).
func (a *App) registerProjectorMetrics() error {
	stat := func(v func(tracking.ProjectorStats) int64) func() float64 {
		return func() float64 {
			if p := a.projector.Load(); p != nil {
				return float64(v(p.Stats()))
			}
			return 0
		}
	}
	for _, c := range []prometheus.Collector{
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "lienthong_projector_records_total", Help: "State records the projector copied into the tracking store (tombstones included)."},
			stat(func(s tracking.ProjectorStats) int64 { return s.Records })),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "lienthong_projector_written_total", Help: "Dossier rows the projector wrote (a record older than the stored one writes nothing)."},
			stat(func(s tracking.ProjectorStats) int64 { return s.Written })),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "lienthong_projector_failures_total", Help: "Failed tracking-store transactions of the projector (retried; tracking lags meanwhile)."},
			stat(func(s tracking.ProjectorStats) int64 { return s.Failures })),
	} {
		if err := a.Registry.Register(c); err != nil {
			return fmt.Errorf("projector metrics: %w", err)
		}
	}
	return nil
}

func (a *App) runProjector(ctx context.Context, st *store.Store) error {
	p := tracking.NewProjector(a.Bus, st, tracking.ProjectorConfig{Logger: a.Logger})
	a.projector.Store(p)
	return p.Run(ctx)
}

// archive is the router's view of the store: closed dossiers that left its
// memory. While the store is not open, lookups fail and the router waits.
type archive struct{ h *storeHolder }

func (ar archive) Lookup(ctx context.Context, codes []string) (map[string]routing.Archived, error) {
	st, err := ar.h.get()
	if err != nil {
		return nil, fmt.Errorf("tracking store: %w", err)
	}
	m, err := st.Lookup(ctx, codes)
	if err != nil {
		return nil, err
	}
	out := make(map[string]routing.Archived, len(m))
	for c, b := range m {
		out[c] = routing.Archived{Status: b.Status, Offset: b.Offset}
	}
	return out, nil
}

// pastCodes tells the gateway which codes the store holds.
func (a *App) pastCodes(ctx context.Context, codes []string) (map[string]bool, error) {
	st, err := a.store.get()
	if err != nil {
		return nil, err
	}
	m, err := st.Lookup(ctx, codes)
	if err != nil {
		return nil, err
	}
	out := make(map[string]bool, len(m))
	for c := range m {
		out[c] = true
	}
	return out, nil
}

// dossierProcedure tells the gateway a dossier's procedure, to check a
// step's outputs against the step's output schema.
func (a *App) dossierProcedure(ctx context.Context, code string) (string, bool, error) {
	st, err := a.store.get()
	if err != nil {
		return "", false, err
	}
	m, err := st.Lookup(ctx, []string{code})
	if err != nil {
		return "", false, err
	}
	b, ok := m[code]
	return b.Procedure, ok, nil
}

// pinForms records the form schema versions in use in the tracking store,
// or refuses those whose content changed since their first use.
func (a *App) pinForms(ctx context.Context, st *store.Store) error {
	var pins []store.FormPin
	for _, f := range a.Schemas.Forms() {
		pins = append(pins, store.FormPin{URN: f.URN, SHA256: f.SHA256, Path: f.Path})
	}
	pctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	return st.PinForms(pctx, pins)
}

// dueAt computes a submission's due time with the router's own rule, for
// the gateway's receipt.
func (a *App) dueAt() func(procedure string, received time.Time) (time.Time, bool) {
	routes := routing.FromConfig(a.Config)
	eng := router.NewEngine(routes)
	return func(procedure string, received time.Time) (time.Time, bool) {
		p, ok := routes.Procedure(procedure)
		if !ok {
			return time.Time{}, false
		}
		return eng.DueFrom(received.UTC(), p.Deadline, p.CutOff), true
	}
}
