package adaptertest

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
)

// Recorder is a ready System for drivers that speak HTTP: a department
// system on loopback that answers each request as the responder says and
// records what it accepted (its embedded Fake). RecorderOptions.Decode reads
// a Delivery from a request (the default reads a CloudEvent JSON body, as the
// webhook driver sends) and RecorderOptions.Answer writes the answer of each
// Outcome (the default: 204, 503, 400), so a harness for another protocol
// (SOAP, form posts...) supplies only those two functions:
//
//	func (harness) MakeDriver(t *testing.T, agency string) (adapters.Driver, adaptertest.System) {
//		rec := adaptertest.NewRecorder(t, adaptertest.RecorderOptions{Decode: decodeSOAP, Answer: answerSOAP})
//		return mydriver.New(rec.URL), rec
//	}
type Recorder struct {
	// URL is the base URL of the server (http://127.0.0.1:port); every
	// path is served alike.
	URL  string
	Fake // SetResponder and Received

	srv    *httptest.Server
	decode func(*http.Request, []byte) (Delivery, error)
	answer func(http.ResponseWriter, Outcome)

	mu       sync.Mutex
	requests []Request
}

// Fake is the bookkeeping of a fake System: the responder and what the
// system accepted. Embed it in a fake of your own (a file drop, a queue)
// and call Answer for each delivery the driver makes; a Recorder embeds it.
type Fake struct {
	mu      sync.Mutex
	respond func(Delivery) Outcome
	got     []Delivery
}

// SetResponder decides the answer to every later delivery; nil accepts
// everything.
func (f *Fake) SetResponder(r func(Delivery) Outcome) {
	f.mu.Lock()
	f.respond = r
	f.mu.Unlock()
}

// Received returns the deliveries the system accepted, in order.
func (f *Fake) Received() []Delivery {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Delivery(nil), f.got...)
}

// Answer asks the responder how to answer d (Accept when there is none)
// and records d as received when the answer is Accept. Call it once per
// delivery, before the system answers the driver.
func (f *Fake) Answer(d Delivery) Outcome {
	f.mu.Lock()
	r := f.respond
	f.mu.Unlock()
	out := Accept
	if r != nil {
		out = r(d)
	}
	if out == Accept {
		f.mu.Lock()
		f.got = append(f.got, d)
		f.mu.Unlock()
	}
	return out
}

// RecorderOptions shape a Recorder to the protocol of the driver under test.
// The zero value serves CloudEvents posted as JSON.
type RecorderOptions struct {
	// Decode reads the delivery from a request whose body has been read
	// into body. A request it fails is answered 400, recorded in Requests
	// with the error, and not shown to the responder. Nil: DecodeCloudEvent.
	// A harness that checks more (a signature, a header) does it here and
	// may call t.Errorf itself.
	Decode func(r *http.Request, body []byte) (Delivery, error)
	// Answer writes the answer for Accept, Transient or Reject (Hang
	// answers nothing: the handler waits for the request's context). Nil:
	// 204 No Content, 503 Service Unavailable, 400 Bad Request.
	Answer func(w http.ResponseWriter, o Outcome)
}

// Request is one request as a Recorder saw it, accepted or not.
type Request struct {
	Method   string
	Path     string
	Header   http.Header
	Delivery Delivery // what Decode read (zero when it failed)
	Outcome  Outcome  // the answer given (Reject when Decode failed)
	Err      error    // Decode's error, if any
}

// NewRecorder starts a Recorder, stopped by t.Cleanup.
func NewRecorder(t testing.TB, o RecorderOptions) *Recorder {
	t.Helper()
	r := &Recorder{decode: o.Decode, answer: o.Answer}
	if r.decode == nil {
		r.decode = DecodeCloudEvent
	}
	if r.answer == nil {
		r.answer = AnswerHTTP
	}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	r.URL = r.srv.URL
	t.Cleanup(r.srv.Close)
	return r
}

// DecodeCloudEvent reads a Delivery from a CloudEvent in JSON (structured
// mode): its id, its subject and the body byte for byte.
func DecodeCloudEvent(_ *http.Request, body []byte) (Delivery, error) {
	var ev struct {
		ID      string `json:"id"`
		Subject string `json:"subject"`
	}
	if err := json.Unmarshal(body, &ev); err != nil {
		return Delivery{}, err
	}
	if ev.ID == "" {
		return Delivery{}, errors.New("adaptertest: CloudEvent without an id")
	}
	return Delivery{ID: ev.ID, Subject: ev.Subject, Body: body}, nil
}

// AnswerHTTP answers an Outcome with a bare status: Accept 204, Transient
// 503, Reject 400.
func AnswerHTTP(w http.ResponseWriter, o Outcome) {
	switch o {
	case Accept:
		w.WriteHeader(http.StatusNoContent)
	case Transient:
		w.WriteHeader(http.StatusServiceUnavailable)
	default:
		w.WriteHeader(http.StatusBadRequest)
	}
}

func (r *Recorder) serve(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(req.Body)
	if err != nil {
		return // the client went away
	}
	rq := Request{Method: req.Method, Path: req.URL.Path, Header: req.Header.Clone()}
	d, err := r.decode(req, body)
	if err != nil {
		rq.Outcome, rq.Err = Reject, err
		r.mu.Lock()
		r.requests = append(r.requests, rq)
		r.mu.Unlock()
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	rq.Delivery = d
	rq.Outcome = r.Answer(d)
	r.mu.Lock()
	r.requests = append(r.requests, rq)
	r.mu.Unlock()
	if rq.Outcome == Hang {
		<-req.Context().Done()
		return
	}
	r.answer(w, rq.Outcome)
}

// Requests returns every request the Recorder answered (or is holding),
// in arrival order.
func (r *Recorder) Requests() []Request {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Request(nil), r.requests...)
}
