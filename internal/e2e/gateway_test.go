package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lienthong/lienthong/internal/kafkabus"
)

// mutate returns a copy of a valid submission changed by fn.
func mutate(fn func(ev map[string]any)) []byte {
	ev := submitted("bad-1", "HCC-20260303-0999")
	fn(ev)
	return mustJSON(ev)
}

func data(ev map[string]any) map[string]any { return ev["data"].(map[string]any) }
func applicant(ev map[string]any) map[string]any {
	return data(ev)["applicant"].(map[string]any)
}

// Every status code of POST /v1/events, with the problem type and the JSON
// Pointer of each refusal, and nothing refused reaching Kafka.
func TestPostEventsStatusCodes(t *testing.T) {
	e := startApp(t, "gateway")
	const ce = "application/cloudevents+json"
	const batch = "application/cloudevents-batch+json"

	// Seed: one accepted submission to collide with.
	status, _, body := post(t, e.base, "HCC", ce, mustJSON(submitted("seed-1", "HCC-20260303-0001")))
	if status != http.StatusAccepted {
		t.Fatalf("seed: %d %v", status, body)
	}

	cases := []struct {
		name     string
		token    string
		ct       string
		body     []byte
		status   int
		problem  string // urn suffix
		location string // "-" = do not check
	}{
		{"no credentials", "", ce, mustJSON(submitted("a1", "HCC-20260303-0002")), 401, "unauthorized", "-"},
		{"bad token", "not-a-token", ce, mustJSON(submitted("a2", "HCC-20260303-0002")), 401, "unauthorized", "-"},
		{"text/plain", "HCC", "text/plain", mustJSON(submitted("a3", "HCC-20260303-0002")), 415, "unsupported-media-type", "-"},
		{"no content type", "HCC", "", mustJSON(submitted("a4", "HCC-20260303-0002")), 415, "unsupported-media-type", "-"},
		{"oversize", "HCC", ce, mutate(func(ev map[string]any) { data(ev)["note"] = strings.Repeat("x", 1<<20) }), 413, "too-large", "-"},
		{"malformed JSON", "HCC", ce, []byte(`{"specversion": "1.0", `), 400, "not-json", "-"},
		{"trailing garbage", "HCC", ce, []byte(`{"a":1} x`), 400, "not-json", "-"},
		{"scalar number", "HCC", ce, []byte(`42`), 400, "not-object", ""},
		{"scalar string", "HCC", "application/json", []byte(`"event"`), 400, "not-object", ""},
		{"batch of scalars", "HCC", batch, []byte(`[1,2]`), 400, "not-object", "/0"},
		{"empty batch", "HCC", batch, []byte(`[]`), 400, "not-object", "-"},
		{"object sent as batch", "HCC", batch, mustJSON(submitted("a5", "HCC-20260303-0002")), 400, "not-object", "-"},
		{"missing specversion", "HCC", ce, mutate(func(ev map[string]any) { delete(ev, "specversion") }), 422, "invalid-envelope", "/specversion"},
		{"wrong specversion", "HCC", ce, mutate(func(ev map[string]any) { ev["specversion"] = "0.3" }), 422, "invalid-envelope", "/specversion"},
		{"missing id", "HCC", ce, mutate(func(ev map[string]any) { delete(ev, "id") }), 422, "invalid-envelope", "/id"},
		{"id of wrong type", "HCC", ce, mutate(func(ev map[string]any) { ev["id"] = 17 }), 422, "invalid-envelope", "/id"},
		{"time not RFC 3339", "HCC", ce, mutate(func(ev map[string]any) { ev["time"] = "yesterday" }), 422, "invalid-envelope", "/time"},
		{"missing time", "HCC", ce, mutate(func(ev map[string]any) { delete(ev, "time") }), 422, "invalid-envelope", "/time"},
		{"bad attribute name", "HCC", ce, mutate(func(ev map[string]any) { ev["Priority"] = "high" }), 422, "invalid-envelope", "/Priority"},
		{"bad subject", "HCC", ce, mutate(func(ev map[string]any) { ev["subject"] = "hcc/0001" }), 422, "invalid-envelope", "/subject"},
		{"data not an object", "HCC", ce, mutate(func(ev map[string]any) { ev["data"] = "x" }), 422, "invalid-envelope", "/data"},
		{"unknown type", "HCC", ce, mutate(func(ev map[string]any) { ev["type"] = "dossier.teleported" }), 422, "unknown-type", "/type"},
		{"unknown schema version", "HCC", ce, mutate(func(ev map[string]any) { ev["dataschema"] = "urn:lienthong:schema:dossier.submitted:v9" }), 422, "unknown-schema-version", "/dataschema"},
		{"spoofed source", "HCC", ce, mutate(func(ev map[string]any) { ev["source"] = "urn:lienthong:agency:UBND" }), 403, "forbidden-source", "/source"},
		{"router source", "HCC", ce, mutate(func(ev map[string]any) { ev["source"] = "urn:lienthong:router" }), 403, "forbidden-source", "/source"},
		{"lienthong-only type", "HCC", ce, mutate(func(ev map[string]any) { ev["type"] = "dossier.assigned" }), 403, "router-only-type", "/type"},
		{"submission by a non-receiver", "VPDK", ce, mutate(func(ev map[string]any) { ev["source"] = "urn:lienthong:agency:VPDK" }), 403, "forbidden-type", "/type"},
		{"procedure not receivable", "UBND", ce, mutate(func(ev map[string]any) {
			ev["source"] = "urn:lienthong:agency:UBND"
			ev["subject"] = "UBND-20260303-0001"
			data(ev)["code"] = "UBND-20260303-0001"
		}), 403, "forbidden-procedure", "/data/procedure"},
		{"admin may not send", "admin", ce, mustJSON(submitted("a6", "HCC-20260303-0002")), 403, "forbidden-source", "/source"},
		{"missing id_number", "HCC", ce, mutate(func(ev map[string]any) { delete(applicant(ev), "id_number") }), 422, "invalid-data", "/data/applicant/id_number"},
		{"id_number of 11 digits", "HCC", ce, mutate(func(ev map[string]any) { applicant(ev)["id_number"] = "00119001234" }), 422, "invalid-data", "/data/applicant/id_number"},
		{"id_number as number", "HCC", ce, mutate(func(ev map[string]any) { applicant(ev)["id_number"] = 1190012345 }), 422, "invalid-data", "/data/applicant/id_number"},
		{"bad document sha256", "HCC", ce, mutate(func(ev map[string]any) {
			data(ev)["documents"] = []any{map[string]any{"name": "a.pdf", "url": "https://x.gov.vn/a", "sha256": "abc"}}
		}), 422, "invalid-data", "/data/documents/0/sha256"},
		{"extra data field", "HCC", ce, mutate(func(ev map[string]any) { data(ev)["priority"] = "vip" }), 422, "invalid-data", "/data/priority"},
		{"documents not an array", "HCC", ce, mutate(func(ev map[string]any) { data(ev)["documents"] = "a.pdf" }), 422, "invalid-data", "/data/documents"},
		{"bad channel", "HCC", ce, mutate(func(ev map[string]any) { data(ev)["channel"] = "pigeon" }), 422, "invalid-data", "/data/channel"},
		{"bad received_at", "HCC", ce, mutate(func(ev map[string]any) { data(ev)["received_at"] = "03/03/2026" }), 422, "invalid-data", "/data/received_at"},
		{"missing procedure", "HCC", ce, mutate(func(ev map[string]any) { delete(data(ev), "procedure") }), 422, "invalid-data", "/data/procedure"},
		{"bad data code", "HCC", ce, mutate(func(ev map[string]any) { data(ev)["code"] = "not a code" }), 422, "invalid-data", "/data/code"},
		{"business without tax code", "HCC", ce, mutate(func(ev map[string]any) {
			data(ev)["applicant"] = map[string]any{"kind": "business", "full_name": "Công ty TNHH A"}
		}), 422, "invalid-data", "/data/applicant/tax_code"},
		{"unknown procedure", "HCC", ce, mutate(func(ev map[string]any) { data(ev)["procedure"] = "9.999999" }), 422, "unknown-procedure", "/data/procedure"},
		{"subject differs from code", "HCC", ce, mutate(func(ev map[string]any) { data(ev)["code"] = "HCC-20260303-0998" }), 422, "subject-mismatch", "/subject"},
		{"step event without step", "VPDK", ce, mustJSON(stepEvent("VPDK", "dossier.step.completed", "s1", "HCC-20260303-0001", map[string]any{"outputs": map[string]any{}})), 422, "invalid-data", "/data/step"},
		{"supplement request without missing", "VPDK", ce, mustJSON(stepEvent("VPDK", "dossier.supplement.requested", "s2", "HCC-20260303-0001", map[string]any{"step": "verify", "reason": "thiếu giấy tờ"})), 422, "invalid-data", "/data/missing"},
		{"batch with one bad element", "HCC", batch, mustJSON([]any{submitted("b1", "HCC-20260303-0010"), func() map[string]any {
			ev := submitted("b2", "HCC-20260303-0011")
			applicant(ev)["id_number"] = "12"
			return ev
		}()}), 422, "invalid-data", "/1/data/applicant/id_number"},
		{"UTF-8 byte order mark", "HCC", ce, append([]byte("\xef\xbb\xbf"), mustJSON(submitted("bom-1", "HCC-20260303-0002"))...), 400, "not-json", ""},
		{"duplicate key", "HCC", ce, []byte(`{"specversion":"1.0","id":"dup-1","id":"dup-2","source":"urn:lienthong:agency:HCC","type":"dossier.withdrawn","subject":"HCC-20260303-0001","time":"2026-03-03T08:15:00+07:00","data":{"reason":"r"}}`), 400, "not-json", "/id"},
		{"duplicate nested key", "HCC", ce, bytes.Replace(mustJSON(submitted("dup-3", "HCC-20260303-0002")), []byte(`"full_name":`), []byte(`"phone":"0900000000","full_name":`), 1), 400, "not-json", "/data/applicant/phone"},
		{"duplicate key in a batch", "HCC", batch, []byte(`[` + string(mustJSON(submitted("dup-4", "HCC-20260303-0002"))) + `,{"id":"a","id":"b"}]`), 400, "not-json", "/1/id"},
		{"time a year ahead", "HCC", ce, mutate(func(ev map[string]any) { ev["time"] = time.Now().AddDate(1, 0, 0).Format(time.RFC3339) }), 422, "invalid-envelope", "/time"},
		{"received_at a year ahead", "HCC", ce, mutate(func(ev map[string]any) { data(ev)["received_at"] = time.Now().AddDate(1, 0, 0).Format(time.RFC3339) }), 422, "invalid-data", "/data/received_at"},
		{"received_at in 1999", "HCC", ce, mutate(func(ev map[string]any) { data(ev)["received_at"] = "1999-12-31T08:00:00+07:00" }), 422, "invalid-data", "/data/received_at"},
		{"code of another agency", "HCC", ce, mutate(func(ev map[string]any) { ev["subject"] = "UBND-20260303-0001"; data(ev)["code"] = "UBND-20260303-0001" }), 422, "invalid-data", "/data/code"},
		{"code dated 1999", "HCC", ce, mutate(func(ev map[string]any) { ev["subject"] = "HCC-19991231-0001"; data(ev)["code"] = "HCC-19991231-0001" }), 422, "invalid-data", "/data/code"},
		{"code dated 2026-02-30", "HCC", ce, mutate(func(ev map[string]any) { ev["subject"] = "HCC-20260230-0001"; data(ev)["code"] = "HCC-20260230-0001" }), 422, "invalid-data", "/data/code"},
		{"id reused with another body", "HCC", ce, mustJSON(submitted("seed-1", "HCC-20260303-0003")), 409, "id-conflict", "/id"},
		{"dossier code submitted twice", "HCC", ce, mustJSON(submitted("seed-2", "HCC-20260303-0001")), 409, "dossier-exists", "/subject"},
	}
	if len(cases) < 30 {
		t.Fatalf("only %d cases", len(cases))
	}
	before := countRecords(t, e.bus, kafkabus.TopicEvents)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			status, hdr, body := post(t, e.base, c.token, c.ct, c.body)
			if status != c.status {
				t.Fatalf("status %d, want %d: %v", status, c.status, body)
			}
			if ct := hdr.Get("Content-Type"); ct != "application/problem+json" {
				t.Errorf("content type %q", ct)
			}
			if got := body["type"]; got != "urn:lienthong:problem:"+c.problem {
				t.Errorf("problem type %v, want %s (%v)", got, c.problem, body)
			}
			if body["status"] != float64(c.status) || body["title"] == "" {
				t.Errorf("problem body %v", body)
			}
			if c.location != "-" {
				errs, _ := body["errors"].([]any)
				found := false
				for _, x := range errs {
					if m, _ := x.(map[string]any); m["location"] == c.location {
						found = true
					}
				}
				if !found {
					t.Errorf("no error at %q: %v", c.location, body["errors"])
				}
			}
		})
	}
	if after := countRecords(t, e.bus, kafkabus.TopicEvents); after != before {
		t.Fatalf("refused events reached Kafka: %d records before, %d after", before, after)
	}

	// The method, and a duplicate: 200 with the first receipt, nothing re-sent.
	resp, err := http.Get(e.base + "/v1/events")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed && resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("GET /v1/events: %d", resp.StatusCode)
	}
	first := mustJSON(submitted("seed-1", "HCC-20260303-0001"))
	// The same event with other whitespace is the same body.
	var indented bytes.Buffer
	_ = json.Indent(&indented, first, "", "  ")
	status, _, receipt := post(t, e.base, "HCC", ce, indented.Bytes())
	if status != http.StatusOK || receipt["duplicate"] != true || receipt["id"] != "seed-1" {
		t.Fatalf("retry: %d %v", status, receipt)
	}
	if body["accepted_at"] != receipt["accepted_at"] {
		t.Errorf("retry receipt accepted_at %v, first %v", receipt["accepted_at"], body["accepted_at"])
	}
	if after := countRecords(t, e.bus, kafkabus.TopicEvents); after != before {
		t.Fatalf("a duplicate reached Kafka")
	}
}

// A valid batch is accepted whole, with one receipt per event.
func TestPostBatch(t *testing.T) {
	e := startApp(t, "gateway")
	evs := []any{submitted("b-1", "HCC-20260304-0001"), submitted("b-2", "HCC-20260304-0002"),
		stepEvent("HCC", "dossier.withdrawn", "b-3", "HCC-20260304-0001", map[string]any{"reason": "công dân rút hồ sơ"})}
	status, _, body := post(t, e.base, "HCC", "application/cloudevents-batch+json", mustJSON(evs))
	if status != http.StatusAccepted {
		t.Fatalf("%d %v", status, body)
	}
	rs, _ := body["receipts"].([]any)
	if len(rs) != 3 {
		t.Fatalf("receipts %v", body)
	}
	if n := countRecords(t, e.bus, kafkabus.TopicEvents); n != 3 {
		t.Fatalf("%d records, want 3", n)
	}
	// The same batch again: all duplicates, 200.
	status, _, body = post(t, e.base, "HCC", "application/cloudevents-batch+json", mustJSON(evs))
	if status != http.StatusOK {
		t.Fatalf("retry %d %v", status, body)
	}
	if n := countRecords(t, e.bus, kafkabus.TopicEvents); n != 3 {
		t.Fatalf("%d records after retry, want 3", n)
	}
}

// A batch that repeats an event or a dossier code is answered (it once hung
// forever, and so did every later request with that id or code), and the id
// and code stay usable afterwards.
func TestPostBatchRepeats(t *testing.T) {
	e := startApp(t, "gateway")
	const batch = "application/cloudevents-batch+json"
	done := make(chan struct{})
	go func() {
		select {
		case <-done:
		case <-time.After(60 * time.Second):
			panic("a request with repeats hung")
		}
	}()
	defer close(done)

	// The same event twice: one record, both elements get the first receipt.
	ev := submitted("rep-1", "HCC-20260305-0001")
	status, _, body := post(t, e.base, "HCC", batch, mustJSON([]any{ev, ev}))
	if status != http.StatusAccepted {
		t.Fatalf("same event twice: %d %v", status, body)
	}
	rs, _ := body["receipts"].([]any)
	if len(rs) != 2 || !reflect.DeepEqual(rs[0], rs[1]) || rs[0].(map[string]any)["duplicate"] != false {
		t.Fatalf("receipts %v", body)
	}
	if n := countRecords(t, e.bus, kafkabus.TopicEvents); n != 1 {
		t.Fatalf("%d records, want 1", n)
	}
	// The same id with two bodies in one batch: 409 at the second.
	other := submitted("rep-2", "HCC-20260305-0002")
	changed := submitted("rep-2", "HCC-20260305-0003")
	status, _, body = post(t, e.base, "HCC", batch, mustJSON([]any{other, changed}))
	if status != http.StatusConflict || body["type"] != "urn:lienthong:problem:id-conflict" || body["index"] != float64(1) {
		t.Fatalf("same id, two bodies: %d %v", status, body)
	}
	// The same dossier code under two ids: 409 for the whole batch, at the second.
	status, _, body = post(t, e.base, "HCC", batch, mustJSON([]any{submitted("rep-3", "HCC-20260305-0004"), submitted("rep-4", "HCC-20260305-0004")}))
	if status != http.StatusConflict || body["type"] != "urn:lienthong:problem:dossier-exists" || body["index"] != float64(1) {
		t.Fatalf("same code twice: %d %v", status, body)
	}
	if errs, _ := body["errors"].([]any); len(errs) == 0 || errs[0].(map[string]any)["location"] != "/1/subject" {
		t.Errorf("location: %v", body["errors"])
	}
	if n := countRecords(t, e.bus, kafkabus.TopicEvents); n != 1 {
		t.Fatalf("refused batches reached Kafka: %d records", n)
	}
	// Nothing was left reserved: the ids and the code are usable at once.
	for _, c := range []struct {
		ev     map[string]any
		status int
	}{
		{ev, http.StatusOK},
		{other, http.StatusAccepted},
		{submitted("rep-3", "HCC-20260305-0004"), http.StatusAccepted},
	} {
		if status, _, body := post(t, e.base, "HCC", "application/cloudevents+json", mustJSON(c.ev)); status != c.status {
			t.Fatalf("after the repeats, %v: %d %v", c.ev["id"], status, body)
		}
	}
	// Two batches naming the same two events in opposite orders, many times
	// over, concurrently: each is answered (no lock-order wait).
	a, b := submitted("rep-5", "HCC-20260305-0005"), submitted("rep-6", "HCC-20260305-0006")
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			pair := []any{a, b}
			if i%2 == 1 {
				pair = []any{b, a}
			}
			if status, _, body := post(t, e.base, "HCC", batch, mustJSON(pair)); status != http.StatusAccepted && status != http.StatusOK {
				t.Errorf("concurrent batch: %d %v", status, body)
			}
		}(i)
	}
	wg.Wait()
	if n := countRecords(t, e.bus, kafkabus.TopicEvents); n != 5 {
		t.Fatalf("%d records, want 5", n)
	}
}

// A body over the limit always gets its 413 problem, even from a client that
// writes the whole body before reading (a reset instead of the answer was
// seen): with and without Content-Length, 20 times each.
func TestPostTooLargeIsReadable(t *testing.T) {
	e := startApp(t, "gateway")
	host := strings.TrimPrefix(e.base, "http://")
	body := bytes.Repeat([]byte("x"), 2<<20)
	for _, chunked := range []bool{false, true} {
		for i := 0; i < 20; i++ {
			conn, err := net.Dial("tcp", host)
			if err != nil {
				t.Fatal(err)
			}
			head := "POST /v1/events HTTP/1.1\r\nHost: " + host + "\r\nAuthorization: Bearer " + tokens["HCC"] +
				"\r\nContent-Type: application/cloudevents+json\r\n"
			var req []byte
			if chunked {
				req = append([]byte(head+"Transfer-Encoding: chunked\r\n\r\n"+strconv.FormatInt(int64(len(body)), 16)+"\r\n"), body...)
				req = append(req, "\r\n0\r\n\r\n"...)
			} else {
				req = append([]byte(head+"Content-Length: "+strconv.Itoa(len(body))+"\r\n\r\n"), body...)
			}
			// The whole request in one go, as a naive client does; write
			// errors (the server may stop reading) are expected.
			go func() { _, _ = conn.Write(req) }()
			_ = conn.SetReadDeadline(time.Now().Add(20 * time.Second))
			resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
			if err != nil {
				conn.Close()
				t.Fatalf("chunked=%v try %d: no response: %v", chunked, i, err)
			}
			raw, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			conn.Close()
			if resp.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(string(raw), "too-large") {
				t.Fatalf("chunked=%v try %d: %d %s", chunked, i, resp.StatusCode, raw)
			}
		}
	}
}
