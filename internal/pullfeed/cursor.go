package pullfeed

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"sort"

	"github.com/lienthong/lienthong/problem"
)

const (
	cursorVersion = 1
	tagLen        = 10
)

// defaultCursorKey binds cursors to their topic when no key is configured:
// then the tag is a checksum (anyone who reads this source can forge one),
// which is enough since a cursor only says where an agency's own reading
// stands; the agency check is the bearer token.
var defaultCursorKey = []byte("lienthong pull cursor v1")

// encodeCursor packs partition -> next offset: a version byte, uvarint
// count, (uvarint partition, uvarint offset)..., and a truncated HMAC over
// the topic name and that payload, base64url without padding.
func encodeCursor(key []byte, topic string, offs map[int]int64) string {
	parts := make([]int, 0, len(offs))
	for p := range offs {
		parts = append(parts, p)
	}
	sort.Ints(parts)
	buf := []byte{cursorVersion}
	buf = binary.AppendUvarint(buf, uint64(len(parts)))
	for _, p := range parts {
		buf = binary.AppendUvarint(buf, uint64(p))
		buf = binary.AppendUvarint(buf, uint64(offs[p]))
	}
	buf = append(buf, tag(key, topic, buf)...)
	return base64.RawURLEncoding.EncodeToString(buf)
}

// decodeCursor reverses encodeCursor; "" is the start of the inbox.
func decodeCursor(key []byte, topic, s string) (map[int]int64, error) {
	offs := map[int]int64{}
	if s == "" {
		return offs, nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(raw) < 1+tagLen {
		return nil, problem.ErrBadCursor
	}
	body, t := raw[:len(raw)-tagLen], raw[len(raw)-tagLen:]
	if !hmac.Equal(t, tag(key, topic, body)) || body[0] != cursorVersion {
		return nil, problem.ErrBadCursor
	}
	rest := body[1:]
	n, k := binary.Uvarint(rest)
	if k <= 0 || n > 1<<16 {
		return nil, problem.ErrBadCursor
	}
	rest = rest[k:]
	for i := uint64(0); i < n; i++ {
		p, k1 := binary.Uvarint(rest)
		if k1 <= 0 {
			return nil, problem.ErrBadCursor
		}
		rest = rest[k1:]
		o, k2 := binary.Uvarint(rest)
		if k2 <= 0 || p > 1<<20 || o > 1<<62 {
			return nil, problem.ErrBadCursor
		}
		rest = rest[k2:]
		offs[int(p)] = int64(o)
	}
	if len(rest) != 0 {
		return nil, problem.ErrBadCursor
	}
	return offs, nil
}

func tag(key []byte, topic string, body []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(topic))
	m.Write([]byte{0})
	m.Write(body)
	return m.Sum(nil)[:tagLen]
}
