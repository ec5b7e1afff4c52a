package webhook_test

import (
	"errors"
	"net/http"
	"testing"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/lienthong/lienthong/adapters"
	"github.com/lienthong/lienthong/adapters/adaptertest"
	"github.com/lienthong/lienthong/adapters/webhook"
)

const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

// newReceiver is a department system on loopback (adaptertest.Recorder)
// that verifies every signature with the official Standard Webhooks library
// and checks the content type and webhook-id before taking the event.
func newReceiver(t testing.TB) *adaptertest.Recorder {
	wh, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		t.Fatal(err)
	}
	return adaptertest.NewRecorder(t, adaptertest.RecorderOptions{
		Decode: func(req *http.Request, body []byte) (adaptertest.Delivery, error) {
			if err := wh.Verify(body, req.Header); err != nil {
				t.Errorf("signature: %v", err)
				return adaptertest.Delivery{}, err
			}
			if ct := req.Header.Get("Content-Type"); ct != "application/cloudevents+json" {
				t.Errorf("content-type %q", ct)
			}
			d, err := adaptertest.DecodeCloudEvent(req, body)
			if err != nil {
				t.Errorf("body: %v", err)
				return d, err
			}
			if d.ID != req.Header.Get("webhook-id") {
				t.Errorf("webhook-id %q for event %q", req.Header.Get("webhook-id"), d.ID)
				return d, errors.New("webhook-id is not the event id")
			}
			return d, nil
		},
	})
}

type harness struct{}

func (harness) MakeDriver(t *testing.T, agency string) (adapters.Driver, adaptertest.System) {
	r := newReceiver(t)
	d, err := webhook.New(webhook.Options{URL: r.URL + "/events", Secret: secret})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.Close)
	return d, r
}

func TestConformance(t *testing.T) { adaptertest.RunConformanceTests(t, harness{}) }
