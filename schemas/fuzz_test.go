package schemas

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The validation entry point never panics, and every error it reports has a
// JSON Pointer location (empty for the whole document) and a message.
func FuzzValidateEvent(f *testing.F) {
	files, _ := filepath.Glob("testdata/*/*.json")
	for _, name := range files {
		if b, err := os.ReadFile(name); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte(`{"specversion":"1.0","data":{"applicant":{"kind":"business"}}}`))
	f.Add([]byte(`[]`))
	r := MustLoad()
	f.Fuzz(func(t *testing.T, raw []byte) {
		for _, e := range r.ValidateEvent(raw) {
			if e.Location != "" && !strings.HasPrefix(e.Location, "/") {
				t.Fatalf("location %q is not a JSON Pointer", e.Location)
			}
			if e.Message == "" {
				t.Fatalf("error at %q without a message", e.Location)
			}
		}
	})
}
