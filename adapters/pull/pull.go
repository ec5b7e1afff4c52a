// Package pull is the client of the inbox feed for agencies in pull mode,
// which read their events over HTTP from behind a firewall (DESIGN.md
// sections 6 and 7):
//
//	GET /v1/agencies/{code}/inbox?after=<cursor>&limit=&wait=
//	-> {"events": [CloudEvent...], "next": "<cursor>"}
//
// Only the agency itself may read its inbox (403 forbidden otherwise), an
// agency not in pull mode has none (404 not-found), and a cursor is opaque:
// one that is corrupt or made for another inbox is 400 bad-cursor. Events of
// one dossier come in order; nothing is deleted, so moving the cursor is the
// acknowledgement. The server's half is internal (internal/pullfeed).
package pull

import (
	"encoding/json"
	"time"
)

// Limits of the query parameters.
const (
	DefaultLimit = 100
	MaxLimit     = 1000
	MaxWait      = 30 * time.Second
)

// Page is one answer of the feed.
type Page struct {
	Events []json.RawMessage `json:"events"`
	Next   string            `json:"next"`
}
