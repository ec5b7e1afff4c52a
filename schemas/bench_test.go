package schemas

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// typicalSubmitted is a dossier.submitted event of about 2 KB: a full
// applicant and five documents.
func typicalSubmitted(tb testing.TB) []byte {
	ev := decode(tb, readFile(tb, "testdata/valid/dossier.submitted.json"))
	data := ev["data"].(map[string]any)
	docs := data["documents"].([]any)
	for i := len(docs); i < 5; i++ {
		docs = append(docs, map[string]any{
			"name":       fmt.Sprintf("Giấy tờ kèm theo số %d.pdf", i),
			"url":        fmt.Sprintf("https://hcc.example.gov.vn/files/HCC-20260303-0001/kem-theo-%d.pdf", i),
			"sha256":     strings.Repeat(fmt.Sprintf("%02x", i), 32),
			"size":       json.Number("204800"),
			"media_type": "application/pdf",
		})
	}
	data["documents"] = docs
	raw, err := json.Marshal(ev)
	if err != nil {
		tb.Fatal(err)
	}
	return raw
}

func TestTypicalSubmittedIsValid(t *testing.T) {
	raw := typicalSubmitted(t)
	if len(raw) < 1800 || len(raw) > 2600 {
		t.Fatalf("benchmark event is %d bytes, want about 2 KB", len(raw))
	}
	if errs := reg.ValidateEvent(raw); errs != nil {
		t.Fatal(errs)
	}
}

// The gateway's path: the event decoded once, then envelope and data.
func BenchmarkValidateSubmitted(b *testing.B) {
	ev := decode(b, typicalSubmitted(b))
	data := ev["data"]
	b.ReportAllocs()
	cpuPerOp(b, func() {
		if errs := reg.ValidateEnvelope(ev); errs != nil {
			b.Fatal(errs)
		}
		if errs := reg.ValidateData("dossier.submitted", 1, data); errs != nil {
			b.Fatal(errs)
		}
	})
}

// The same with JSON decoding (json.Decoder with UseNumber) in the loop.
func BenchmarkValidateSubmittedWithDecode(b *testing.B) {
	raw := typicalSubmitted(b)
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		var ev map[string]any
		if err := dec.Decode(&ev); err != nil {
			b.Fatal(err)
		}
		if errs := reg.ValidateEnvelope(ev); errs != nil {
			b.Fatal(errs)
		}
		if errs := reg.ValidateData("dossier.submitted", 1, ev["data"]); errs != nil {
			b.Fatal(errs)
		}
	}
}

// ValidateEvent: the offline, full check.
func BenchmarkValidateEvent(b *testing.B) {
	raw := typicalSubmitted(b)
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if errs := reg.ValidateEvent(raw); errs != nil {
			b.Fatal(errs)
		}
	}
}

// An invalid event: the error path (leaf walk, rewording) must stay cheap too.
func BenchmarkValidateInvalid(b *testing.B) {
	ev := decode(b, typicalSubmitted(b))
	ev["time"] = "yesterday"
	data := ev["data"].(map[string]any)
	data["applicant"].(map[string]any)["id_number"] = "1"
	delete(data, "channel")
	raw, _ := json.Marshal(ev)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if errs := reg.ValidateEvent(raw); len(errs) != 3 {
			b.Fatal(errs)
		}
	}
}

func BenchmarkLoad(b *testing.B) {
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := Load(); err != nil {
			b.Fatal(err)
		}
	}
}
