// Package soapdrop is a template adapter: copy this directory to write the
// driver of a department system that lienthong cannot reach by webhook.
//
// It delivers each event to a legacy SOAP 1.1 service ("NhanSuKien", receive
// event) that takes the dossier code and the CloudEvent JSON as text. It shows
// everything a driver must do, and nothing more:
//   - one request per Deliver, honouring ctx (cancellation and deadline);
//   - success only once the system has taken the event;
//   - classify failures: adapters.Permanent for what retrying cannot fix (a
//     SOAP Client fault: the system refuses the message), anything else
//     transient, with the status and a Retry-After hint in an
//     *adapters.StatusError when there is one.
//
// Retries, ordering, dead letters and Kafka offsets are the engine's
// (adapters/delivery): do not add them here. Test the driver with
// adapters/adaptertest (see soapdrop_test.go) and run it with
// delivery.New (see docs/ADAPTERS.md).
package soapdrop

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/go-retryablehttp"

	"github.com/lienthong/lienthong/adapters"
)

// Driver posts events to one SOAP endpoint.
type Driver struct {
	URL    string
	client *retryablehttp.Client
}

// New makes a driver; timeout bounds each request.
func New(url string, timeout time.Duration) *Driver {
	c := retryablehttp.NewClient()
	c.HTTPClient = &http.Client{Timeout: timeout}
	c.Logger = nil
	c.RetryMax = 0 // the engine retries, with backoff, without holding other dossiers
	c.ErrorHandler = retryablehttp.PassthroughErrorHandler
	return &Driver{URL: url, client: c}
}

type envelope struct {
	XMLName xml.Name `xml:"soap:Envelope"`
	NS      string   `xml:"xmlns:soap,attr"`
	Body    struct {
		Receive struct {
			DossierCode string `xml:"MaHoSo"`
			EventID     string `xml:"MaSuKien"`
			Event       string `xml:"SuKien"` // the CloudEvent JSON, as text
		} `xml:"NhanSuKien"`
	} `xml:"soap:Body"`
}

type fault struct {
	Code   string `xml:"Body>Fault>faultcode"`
	String string `xml:"Body>Fault>faultstring"`
}

// Deliver sends one event.
func (d *Driver) Deliver(ctx context.Context, m *adapters.Message) error {
	var env envelope
	env.NS = "http://schemas.xmlsoap.org/soap/envelope/"
	env.Body.Receive.DossierCode = m.Subject
	env.Body.Receive.EventID = m.ID
	env.Body.Receive.Event = string(m.Body)
	body, err := xml.Marshal(env)
	if err != nil {
		return adapters.Permanent(fmt.Errorf("soapdrop: encode: %w", err))
	}
	req, err := retryablehttp.NewRequestWithContext(ctx, http.MethodPost, d.URL, bytes.NewReader(append([]byte(xml.Header), body...)))
	if err != nil {
		return adapters.Permanent(err)
	}
	req.Header.Set("Content-Type", "text/xml; charset=utf-8")
	req.Header.Set("SOAPAction", "NhanSuKien")
	resp, err := d.client.Do(req)
	if err != nil {
		if resp != nil {
			resp.Body.Close()
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return &adapters.StatusError{Err: err} // no answer: transient
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode == http.StatusOK {
		return nil
	}
	se := &adapters.StatusError{Status: resp.StatusCode}
	if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s > 0 {
		se.RetryAfter = time.Duration(s) * time.Second
	}
	var f fault
	if xml.Unmarshal(raw, &f) == nil && f.Code != "" {
		se.Err = errors.New(f.Code + ": " + f.String)
		// SOAP 1.1: a Client fault is the message's fault; retrying cannot help.
		if strings.HasSuffix(f.Code, "Client") {
			return adapters.Permanent(se)
		}
	}
	if resp.StatusCode >= 400 && resp.StatusCode < 500 && resp.StatusCode != 408 && resp.StatusCode != 429 {
		return adapters.Permanent(se)
	}
	return se
}
