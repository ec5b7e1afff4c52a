package schemas

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/lienthong/lienthong/event"
)

func TestCheckJSON(t *testing.T) {
	for _, tc := range []struct {
		name, in, loc string
		bad           bool
	}{
		{"plain", `{"a":1,"b":{"c":[{"d":1},{"d":2}]}}`, "", false},
		{"byte order mark", "\xef\xbb\xbf{}", "", true},
		{"top-level repeat", `{"a":1,"a":2}`, "/a", true},
		{"nested repeat", `{"a":{"b":1,"c":2,"b":3}}`, "/a/b", true},
		{"repeat in an array element", `[{"x":1},{"y":1,"y":2}]`, "/1/y", true},
		{"same key in sibling objects", `{"a":{"k":1},"b":{"k":1}}`, "", false},
		{"escaped pointer", `{"a/b":{"~":1,"~":2}}`, "/a~1b/~0", true},
		{"key equal to a string value", `{"a":"b","b":1}`, "", false},
		{"empty key", `{"":""}`, "", false},
		{"empty key with a string value, then a repeat", `{"":"","a":1,"a":2}`, "/a", true},
		{"empty key repeated", `{"":1,"":2}`, "/", true},
		{"invalid JSON is left to the parser", `{"a":`, "", false},
		{"escaped repeat", `{"a":1,"\u0061":2}`, "/a", true},
		{"braces and quotes in strings", `{"a":"}{\",\"a\":","b":["{\"b\":1"]}`, "", false},
		{"repeat after many keys", `{"k0":0,"k1":1,"k2":2,"k3":3,"k4":4,"k5":5,"k6":6,"k7":7,"k8":8,"k9":9,"k10":10,"k11":11,"k12":12,"k13":13,"k14":14,"k15":15,"k16":16,"k17":17,"k3":3}`, "/k3", true},
		{"many keys, none repeated", `{"k0":0,"k1":1,"k2":2,"k3":3,"k4":4,"k5":5,"k6":6,"k7":7,"k8":8,"k9":9,"k10":10,"k11":11,"k12":12,"k13":13,"k14":14,"k15":15,"k16":16,"k17":17,"k18":18}`, "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := CheckJSON([]byte(tc.in))
			if (e != nil) != tc.bad || (e != nil && e.Location != tc.loc) {
				t.Fatalf("CheckJSON(%q) = %+v, want bad=%v at %q", tc.in, e, tc.bad, tc.loc)
			}
		})
	}
}

func TestCheckRules(t *testing.T) {
	now := time.Date(2026, 3, 3, 2, 0, 0, 0, time.UTC)
	ev := func(mod func(m map[string]any)) map[string]any {
		m := map[string]any{"type": "dossier.submitted", "source": "urn:lienthong:agency:HCC", "time": "2026-03-03T08:15:00+07:00",
			"data": map[string]any{"code": "HCC-20260303-0001", "received_at": "2026-03-03T08:10:00+07:00"}}
		if mod != nil {
			mod(m)
		}
		return m
	}
	data := func(m map[string]any) map[string]any { return m["data"].(map[string]any) }
	for _, tc := range []struct {
		name string
		mod  func(m map[string]any)
		loc  string // "" = valid
	}{
		{"valid", nil, ""},
		{"time within the skew", func(m map[string]any) { m["time"] = now.Add(4 * time.Minute).Format(time.RFC3339) }, ""},
		{"time beyond the skew", func(m map[string]any) { m["time"] = now.Add(6 * time.Minute).Format(time.RFC3339) }, "/time"},
		{"received_at ahead", func(m map[string]any) { data(m)["received_at"] = "2027-03-03T08:10:00+07:00" }, "/data/received_at"},
		{"received_at in 1999", func(m map[string]any) { data(m)["received_at"] = "1999-03-03T08:10:00+07:00" }, "/data/received_at"},
		{"another agency's prefix", func(m map[string]any) { data(m)["code"] = "UBND-20260303-0001" }, "/data/code"},
		{"national agency id prefix", func(m map[string]any) {
			m["source"] = "urn:lienthong:agency:000.00.01.H22"
			data(m)["code"] = "000.00.01.H22-20260303-0001"
		}, ""},
		{"date 1999", func(m map[string]any) { data(m)["code"] = "HCC-19990303-0001" }, "/data/code"},
		{"date not a date", func(m map[string]any) { data(m)["code"] = "HCC-20261399-0001" }, "/data/code"},
		{"date tomorrow (time zones)", func(m map[string]any) { data(m)["code"] = "HCC-20260304-0001" }, ""},
		{"date next week", func(m map[string]any) { data(m)["code"] = "HCC-20260310-0001" }, "/data/code"},
		{"other types: only time", func(m map[string]any) { m["type"] = "dossier.withdrawn"; data(m)["code"] = "X-19990101-1" }, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			errs := CheckRules(ev(tc.mod), now, DefaultClockSkew)
			if tc.loc == "" {
				if len(errs) > 0 {
					t.Fatalf("want valid, got %+v", errs)
				}
				return
			}
			if len(errs) != 1 || errs[0].Location != tc.loc {
				b, _ := json.Marshal(errs)
				t.Fatalf("want one error at %s, got %s", tc.loc, b)
			}
		})
	}
}

// The agency-code pattern is defined once in Go (event.AgencyCodePattern);
// defs.json states it for JSON Schema: they must not drift apart.
func TestAgencyCodePatternMatchesDefs(t *testing.T) {
	raw, ok := MustLoad().Document("defs")
	if !ok {
		t.Fatal("no defs document")
	}
	var defs struct {
		Defs map[string]struct {
			Pattern string `json:"pattern"`
		} `json:"$defs"`
	}
	if err := json.Unmarshal(raw, &defs); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"agency_code": "^" + event.AgencyCodePattern + "$", "agency_urn": "^urn:lienthong:agency:" + event.AgencyCodePattern + "$"}
	for name, pattern := range want {
		if got := defs.Defs[name].Pattern; got != pattern {
			t.Errorf("defs.json $defs/%s pattern %q, want %q", name, got, pattern)
		}
	}
}

// The fast test and the walk that locates agree on any input.
func FuzzDuplicateKey(f *testing.F) {
	for _, s := range []string{`{"a":1,"a":2}`, `{"a":{"b":[{"c":1,"c":2}]}}`, `[{"x":"\"x\":"}]`, `{"a":1,"\u0061":2}`, `{}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if !json.Valid(b) {
			return
		}
		_, _, slow := duplicateKey(b)
		if fast := hasDuplicateKey(b); fast != slow {
			t.Fatalf("hasDuplicateKey %v, duplicateKey %v on %q", fast, slow, b)
		}
	})
}
