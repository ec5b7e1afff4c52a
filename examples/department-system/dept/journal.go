package dept

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"github.com/lienthong/lienthong/event"
)

// Journal keeps, in a directory, every event this system decided to send,
// before it sends it. A retry after a crash, or a second delivery of the
// webhook that caused it, resends the same event byte for byte: same id,
// same time, same data, so lienthong answers with the first receipt
// instead of 409 id-conflict. It also keeps the desk's daily sequence of
// dossier codes.
type Journal struct {
	dir string
	mu  sync.Mutex
}

// OpenJournal creates dir if needed.
func OpenJournal(dir string) (*Journal, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("journal: %w", err)
	}
	return &Journal{dir: dir}, nil
}

var keyRE = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,160}$`)

func (j *Journal) path(key string) (string, error) {
	if !keyRE.MatchString(key) || strings.Contains(key, "..") {
		return "", fmt.Errorf("journal: bad key %q", key)
	}
	return filepath.Join(j.dir, key+".json"), nil
}

// Load returns the event kept under key, and false when there is none.
func (j *Journal) Load(key string) (event.Event, bool, error) {
	p, err := j.path(key)
	if err != nil {
		return event.Event{}, false, err
	}
	b, err := os.ReadFile(p)
	if errors.Is(err, os.ErrNotExist) {
		return event.Event{}, false, nil
	}
	if err != nil {
		return event.Event{}, false, fmt.Errorf("journal: %w", err)
	}
	var ev event.Event
	if err := json.Unmarshal(b, &ev); err != nil {
		return event.Event{}, false, fmt.Errorf("journal: %s: %w", p, err)
	}
	return ev, true, nil
}

// Keep stores ev under key unless an event is already kept there, and
// returns the kept one: the first decision wins.
func (j *Journal) Keep(key string, ev event.Event) (event.Event, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if old, ok, err := j.Load(key); err != nil || ok {
		return old, err
	}
	p, err := j.path(key)
	if err != nil {
		return event.Event{}, err
	}
	b, err := json.Marshal(ev)
	if err != nil {
		return event.Event{}, fmt.Errorf("journal: %w", err)
	}
	return ev, writeFile(p, b)
}

// Next returns the next number of the named sequence (1, 2, ...), kept in
// the directory.
func (j *Journal) Next(name string) (int, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	p, err := j.path("seq." + name)
	if err != nil {
		return 0, err
	}
	n := 0
	b, err := os.ReadFile(p)
	switch {
	case err == nil:
		if n, err = strconv.Atoi(strings.TrimSpace(string(b))); err != nil {
			return 0, fmt.Errorf("journal: %s: %w", p, err)
		}
	case !errors.Is(err, os.ErrNotExist):
		return 0, fmt.Errorf("journal: %w", err)
	}
	n++
	return n, writeFile(p, []byte(strconv.Itoa(n)))
}

// writeFile replaces p atomically: a temporary file, synced, renamed.
func writeFile(p string, b []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(p), filepath.Base(p)+".*")
	if err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	_, werr := tmp.Write(b)
	serr := tmp.Sync()
	cerr := tmp.Close()
	if err := errors.Join(werr, serr, cerr); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("journal: %w", err)
	}
	if err := os.Rename(tmp.Name(), p); err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	return nil
}

// Forget drops what is kept under key (a refused event, to be corrected
// and sent anew with a new id).
func (j *Journal) Forget(key string) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	p, err := j.path(key)
	if err != nil {
		return err
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("journal: %w", err)
	}
	return nil
}
