package config

import (
	"errors"
	"os"
	"testing"
)

// The loader never panics, and whatever it refuses it explains with at
// least one located problem.
func FuzzParse(f *testing.F) {
	f.Add(Example())
	f.Add([]byte("listen: [\n"))
	f.Add([]byte("agencies: {code: 1}\n"))
	f.Add([]byte("procedures:\n  - code: \"1.1\"\n    steps: [{id: a, after: [a]}]\n"))
	if b, err := os.ReadFile("testdata/fuzz-seed.yaml"); err == nil {
		f.Add(b)
	}
	env := func(k string) (string, bool) { return ExampleLookupEnv(k) }
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := ParseWith(data, "fuzz.yaml", env)
		if err == nil {
			if cfg == nil || cfg.Cal() == nil {
				t.Fatal("nil config without error")
			}
			return
		}
		var ve *ValidationError
		if errors.As(err, &ve) && len(ve.Problems) == 0 {
			t.Fatalf("validation error without problems: %v", err)
		}
		if err.Error() == "" {
			t.Fatal("empty error")
		}
	})
}
