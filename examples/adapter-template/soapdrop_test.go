package soapdrop_test

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/lienthong/lienthong/adapters"
	"github.com/lienthong/lienthong/adapters/adaptertest"
	soapdrop "github.com/lienthong/lienthong/examples/adapter-template"
)

// legacy is the fake SOAP service the harness controls.
type legacy struct {
	mu      sync.Mutex
	respond func(adaptertest.Delivery) adaptertest.Outcome
	got     []adaptertest.Delivery
}

func (l *legacy) SetResponder(f func(adaptertest.Delivery) adaptertest.Outcome) {
	l.mu.Lock()
	l.respond = f
	l.mu.Unlock()
}

func (l *legacy) Received() []adaptertest.Delivery {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]adaptertest.Delivery(nil), l.got...)
}

func (l *legacy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	raw, _ := io.ReadAll(r.Body)
	var env struct {
		Code  string `xml:"Body>NhanSuKien>MaHoSo"`
		ID    string `xml:"Body>NhanSuKien>MaSuKien"`
		Event string `xml:"Body>NhanSuKien>SuKien"`
	}
	if err := xml.Unmarshal(raw, &env); err != nil || !json.Valid([]byte(env.Event)) {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	d := adaptertest.Delivery{ID: env.ID, Subject: env.Code, Body: []byte(env.Event)}
	l.mu.Lock()
	f := l.respond
	l.mu.Unlock()
	out := adaptertest.Accept
	if f != nil {
		out = f(d)
	}
	switch out {
	case adaptertest.Accept:
		l.mu.Lock()
		l.got = append(l.got, d)
		l.mu.Unlock()
		fmt.Fprint(w, `<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><Ok/></soap:Body></soap:Envelope>`)
	case adaptertest.Transient, adaptertest.Reject:
		code := "soap:Server"
		if out == adaptertest.Reject {
			code = "soap:Client"
		}
		w.WriteHeader(http.StatusInternalServerError)
		fmt.Fprintf(w, `<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><soap:Fault><faultcode>%s</faultcode><faultstring>test</faultstring></soap:Fault></soap:Body></soap:Envelope>`, code)
	case adaptertest.Hang:
		<-r.Context().Done()
	}
}

type harness struct{}

func (harness) MakeDriver(t *testing.T, agency string) (adapters.Driver, adaptertest.System) {
	l := &legacy{}
	srv := httptest.NewServer(l)
	t.Cleanup(srv.Close)
	return soapdrop.New(srv.URL, 5*time.Second), l
}

// The whole conformance suite, inside the real engine over a real broker.
func TestConformance(t *testing.T) { adaptertest.RunConformanceTests(t, harness{}) }
