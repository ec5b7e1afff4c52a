package schemas

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/lienthong/lienthong/event"
)

// Rules that JSON Schema cannot state: they need the clock, or compare two
// fields. ValidateEvent (offline) and the gateway both apply them, so
// `lienthong validate` and the server agree.

// DefaultClockSkew is how far in the future an event's time or a receipt
// time may lie: senders' clocks drift.
const DefaultClockSkew = 5 * time.Minute

// earliest is the first date a dossier code or a receipt may carry: the
// one-stop mechanism postdates it, so an earlier date is a typo.
var earliest = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// CheckRules checks a decoded CloudEvent (numbers as json.Number or
// float64) against the rules at now, with skew allowed for clocks:
//   - time is not more than skew in the future;
//   - for dossier.submitted: data.received_at is neither before 2000 nor
//     more than skew in the future; data.code's agency prefix is the sending
//     agency (source), and its date is a real date from 2000 to tomorrow.
//
// Fields of the wrong type or form are left to the schemas. CheckEnvelope
// applies the first rule, CheckData the others.
func CheckRules(obj map[string]any, now time.Time, skew time.Duration) []Error {
	errs := checkTime(obj, now, skew)
	if typ, _ := obj["type"].(string); typ == event.Submitted {
		errs = append(errs, checkSubmission(obj, now, skew)...)
	}
	return errs
}

// future reports a time more than skew after now.
func future(loc string, t, now time.Time, skew time.Duration) []Error {
	if ahead := t.Sub(now); ahead > skew {
		return []Error{{loc, fmt.Sprintf("is %s in the future; at most %s of clock skew is allowed", ahead.Round(time.Second), skew)}}
	}
	return nil
}

func checkTime(obj map[string]any, now time.Time, skew time.Duration) []Error {
	if s, ok := obj["time"].(string); ok {
		if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
			return future("/time", t, now, skew)
		}
	}
	return nil
}

func checkSubmission(obj map[string]any, now time.Time, skew time.Duration) []Error {
	var errs []Error
	data, _ := obj["data"].(map[string]any)
	if s, ok := data["received_at"].(string); ok {
		if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
			errs = append(errs, future("/data/received_at", t, now, skew)...)
			if t.Before(earliest) {
				errs = append(errs, Error{"/data/received_at", "is before 2000: not a receipt time of this system"})
			}
		}
	}
	code, _ := data["code"].(string)
	prefix, date, ok := splitCode(code)
	if !ok {
		return errs
	}
	if src, _ := obj["source"].(string); src != "" {
		if agency, isAgency := event.AgencyOf(src); isAgency && agency != prefix {
			errs = append(errs, Error{"/data/code", fmt.Sprintf("starts with %q, but a dossier code starts with its receiving agency's code (%s, the source)", prefix, agency)})
		}
	}
	d, err := time.Parse("20060102", date)
	switch {
	case err != nil:
		errs = append(errs, Error{"/data/code", fmt.Sprintf("date part %q is not a calendar date (YYYYMMDD)", date)})
	case d.Before(earliest) || d.After(now.Add(skew+24*time.Hour)):
		errs = append(errs, Error{"/data/code", fmt.Sprintf("date part %s is out of range: from 2000-01-01 to the receipt day", d.Format(time.DateOnly))})
	}
	return errs
}

// CodeDate returns the receipt date in a dossier code (AGENCY-YYYYMMDD-N),
// as midnight UTC of that day.
func CodeDate(code string) (time.Time, bool) {
	_, date, ok := splitCode(code)
	if !ok {
		return time.Time{}, false
	}
	d, err := time.Parse("20060102", date)
	return d, err == nil
}

// splitCode returns a dossier code's agency prefix and date (the pattern of
// defs.json: AGENCY-YYYYMMDD-SEQUENCE).
func splitCode(code string) (prefix, date string, ok bool) {
	i := strings.Index(code, "-")
	if i < 1 || len(code) < i+10 || code[i+9] != '-' {
		return "", "", false
	}
	return code[:i], code[i+1 : i+9], true
}

// CheckJSON refuses what encoding/json silently accepts but a sender cannot
// have meant: a UTF-8 byte order mark before the value, and an object with
// the same key twice (the last would win). It returns nil for valid input
// and does not check the syntax otherwise.
func CheckJSON(raw []byte) *Error {
	if bytes.HasPrefix(raw, []byte("\xef\xbb\xbf")) {
		return &Error{"", "the body starts with a UTF-8 byte order mark (EF BB BF): send the JSON without it"}
	}
	if !hasDuplicateKey(raw) {
		return nil
	}
	if ptr, key, dup := duplicateKey(raw); dup {
		return &Error{ptr, fmt.Sprintf("the key %q appears twice in this object", key)}
	}
	return nil
}

// hasDuplicateKey is the fast test behind CheckJSON: one pass over the
// bytes, no token values (json.Decoder.Token made the check 7% of the
// gateway's CPU). Only when it finds a repeat does duplicateKey walk the
// document again to name where. On invalid JSON it may answer either way:
// the parser reports that input.
func hasDuplicateKey(b []byte) bool {
	type frame struct {
		obj, expectKey bool
		keys           []string
		set            map[string]bool // past 16 keys: a linear search would be quadratic
	}
	var stack []frame
	for i := 0; i < len(b); i++ {
		switch b[i] {
		case '{':
			stack = append(stack, frame{obj: true, expectKey: true})
		case '[':
			stack = append(stack, frame{})
		case '}', ']':
			if len(stack) == 0 {
				return false
			}
			stack = stack[:len(stack)-1]
		case ',':
			if n := len(stack); n > 0 && stack[n-1].obj {
				stack[n-1].expectKey = true
			}
		case '"':
			j, esc := i+1, false
			for ; j < len(b) && b[j] != '"'; j++ {
				if b[j] == '\\' {
					esc = true
					j++
				}
			}
			if j >= len(b) {
				return false
			}
			if n := len(stack); n > 0 && stack[n-1].obj && stack[n-1].expectKey {
				f := &stack[n-1]
				f.expectKey = false
				k := string(b[i+1 : j])
				if esc && json.Unmarshal(b[i:j+1], &k) != nil {
					return false
				}
				if f.set != nil {
					if f.set[k] {
						return true
					}
					f.set[k] = true
				} else {
					for _, x := range f.keys {
						if x == k {
							return true
						}
					}
					f.keys = append(f.keys, k)
					if len(f.keys) > 16 {
						f.set = make(map[string]bool, 2*len(f.keys))
						for _, x := range f.keys {
							f.set[x] = true
						}
					}
				}
			}
			i = j
		}
	}
	return false
}

// duplicateKey finds the first object holding a key twice and returns the
// JSON Pointer of the second occurrence.
func duplicateKey(raw []byte) (ptr, key string, found bool) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	type frame struct {
		obj  bool
		keys map[string]bool
		path string // pointer of this container
		next int    // arrays: index of the next element
		key  string // objects: the key whose value comes next...
		// ...when pending: "" is a key like any other, so it cannot mean
		// "none" (the fuzzer found {"":""} reported as a repeat).
		pending bool
	}
	var stack []*frame
	// child returns the pointer of the value about to be read.
	child := func() string {
		if len(stack) == 0 {
			return ""
		}
		f := stack[len(stack)-1]
		if f.obj {
			return f.path + "/" + escapePointer(f.key)
		}
		return f.path + "/" + strconv.Itoa(f.next)
	}
	// consumed marks the value just read in its container.
	consumed := func() {
		if len(stack) == 0 {
			return
		}
		f := stack[len(stack)-1]
		if f.obj {
			f.key, f.pending = "", false
		} else {
			f.next++
		}
	}
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) || err != nil {
			return "", "", false // syntax errors are reported elsewhere
		}
		top := (*frame)(nil)
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		// In an object, a string token with no pending key is a key.
		if s, isStr := tok.(string); isStr && top != nil && top.obj && !top.pending {
			if top.keys[s] {
				return top.path + "/" + escapePointer(s), s, true
			}
			top.keys[s] = true
			top.key, top.pending = s, true
			continue
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, &frame{obj: true, keys: map[string]bool{}, path: child()})
		case json.Delim('['):
			stack = append(stack, &frame{path: child()})
		case json.Delim('}'), json.Delim(']'):
			stack = stack[:len(stack)-1]
			consumed()
		default:
			consumed()
		}
	}
}

func escapePointer(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
}
