package soapdrop_test

import (
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/lienthong/lienthong/adapters"
	"github.com/lienthong/lienthong/adapters/adaptertest"
	soapdrop "github.com/lienthong/lienthong/examples/adapter-template"
)

// The fake legacy SOAP service is an adaptertest.Recorder: it reads the
// delivery out of the SOAP envelope and answers with SOAP faults.

func decodeSOAP(_ *http.Request, body []byte) (adaptertest.Delivery, error) {
	var env struct {
		Code  string `xml:"Body>NhanSuKien>MaHoSo"`
		ID    string `xml:"Body>NhanSuKien>MaSuKien"`
		Event string `xml:"Body>NhanSuKien>SuKien"`
	}
	if err := xml.Unmarshal(body, &env); err != nil {
		return adaptertest.Delivery{}, err
	}
	if !json.Valid([]byte(env.Event)) {
		return adaptertest.Delivery{}, errors.New("SuKien is not JSON")
	}
	return adaptertest.Delivery{ID: env.ID, Subject: env.Code, Body: []byte(env.Event)}, nil
}

func answerSOAP(w http.ResponseWriter, o adaptertest.Outcome) {
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	if o == adaptertest.Accept {
		fmt.Fprint(w, `<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><Ok/></soap:Body></soap:Envelope>`)
		return
	}
	code := "soap:Server" // Transient
	if o == adaptertest.Reject {
		code = "soap:Client"
	}
	w.WriteHeader(http.StatusInternalServerError)
	fmt.Fprintf(w, `<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><soap:Fault><faultcode>%s</faultcode><faultstring>test</faultstring></soap:Fault></soap:Body></soap:Envelope>`, code)
}

type harness struct{}

func (harness) MakeDriver(t *testing.T, agency string) (adapters.Driver, adaptertest.System) {
	rec := adaptertest.NewRecorder(t, adaptertest.RecorderOptions{Decode: decodeSOAP, Answer: answerSOAP})
	return soapdrop.New(rec.URL, 5*time.Second), rec
}

// The whole conformance suite, inside the real engine over a real broker.
func TestConformance(t *testing.T) { adaptertest.RunConformanceTests(t, harness{}) }
