package pullfeed

import (
	"encoding/base64"
	"errors"
	"testing"

	"github.com/lienthong/lienthong/problem"
)

// The cursor parser never panics and refuses anything it did not make. The
// fuzzer supplies the payload, signed with the right tag, so the parsing
// behind the tag check is exercised too; and a raw string, which must
// decode only if it is a valid cursor for the topic.
func FuzzCursor(f *testing.F) {
	f.Add([]byte{cursorVersion, 2, 0, 5, 3, 9}, "")
	f.Add([]byte{cursorVersion, 0xff, 0xff, 0xff, 0xff, 0x0f}, "AAAA")
	f.Add([]byte{2, 0}, encodeCursor(defaultCursorKey, "x.inbox.HCC", map[int]int64{0: 1, 11: 42}))
	const topic = "lienthong.inbox.HCC"
	f.Fuzz(func(t *testing.T, payload []byte, raw string) {
		signed := base64.RawURLEncoding.EncodeToString(append(append([]byte(nil), payload...), tag(defaultCursorKey, topic, payload)...))
		for _, s := range []string{signed, raw} {
			offs, err := decodeCursor(defaultCursorKey, topic, s)
			if err != nil {
				if !errors.Is(err, problem.ErrBadCursor) {
					t.Fatalf("error %v is not problem.ErrBadCursor", err)
				}
				continue
			}
			for p, o := range offs {
				if p < 0 || o < 0 {
					t.Fatalf("negative partition or offset %d:%d", p, o)
				}
			}
			// What decodes re-encodes to a cursor that decodes the same.
			again, err := decodeCursor(defaultCursorKey, topic, encodeCursor(defaultCursorKey, topic, offs))
			if err != nil || len(again) != len(offs) {
				t.Fatalf("round trip of %v: %v %v", offs, again, err)
			}
			for p, o := range offs {
				if again[p] != o {
					t.Fatalf("round trip of %v gave %v", offs, again)
				}
			}
			// A cursor of one agency is refused for another.
			if s != "" {
				if _, err := decodeCursor(defaultCursorKey, "lienthong.inbox.VPDK", s); err == nil {
					t.Fatal("cursor accepted for another topic")
				}
			}
		}
	})
}
