package dept

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/lienthong/lienthong/client"
	"github.com/lienthong/lienthong/event"
	"github.com/lienthong/lienthong/router"
)

// Vietnam keeps UTC+7 all year: the desk's day, in dossier codes and
// receipt times.
var Vietnam = time.FixedZone("ICT", 7*3600)

// Desk is the one-stop desk's side (HCC, a receiver): it submits land
// dossiers and follows them on the tracking API.
type Desk struct {
	Client  *client.Client // with the desk's token
	Journal *Journal       // the submissions decided, and the daily code sequence
	Agency  string         // the desk's agency code, e.g. HCC
	Zone    *time.Location // nil: Vietnam
	Now     func() time.Time
}

func (d *Desk) now() time.Time {
	if d.Now == nil {
		return time.Now()
	}
	return d.Now()
}

func (d *Desk) zone() *time.Location {
	if d.Zone == nil {
		return Vietnam
	}
	return d.Zone
}

// NewCode returns the next dossier code of the day: HCC-20260303-0001,
// HCC-20260303-0002, ... (the agency, the receipt date, a sequence).
func (d *Desk) NewCode() (string, error) {
	day := d.now().In(d.zone()).Format("20060102")
	n, err := d.Journal.Next(d.Agency + "." + day)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%s-%s-%04d", d.Agency, day, n), nil
}

// Submit sends the dossier.submitted event (schema v2, with the land
// form) of app under code, and returns the event and lienthong's receipt:
// its DueAt is the appointment to print on the receipt slip.
//
// The event is decided once and kept: submitting the same code again
// (after a timeout, a crash) resends it, same id and bytes, and gets the
// first receipt. When lienthong refuses it for good (a *client.Problem with
// a 4xx status), the kept event is dropped, so that the corrected
// application can be submitted under the same code, with a new id.
func (d *Desk) Submit(ctx context.Context, code string, app Application) (event.Event, client.Receipt, error) {
	key := "submitted." + code
	ev, err := d.submission(code, app)
	if err != nil {
		return event.Event{}, client.Receipt{}, err
	}
	if ev, err = d.Journal.Keep(key, ev); err != nil {
		return event.Event{}, client.Receipt{}, err
	}
	r, err := d.Client.Post(ctx, ev)
	var p *client.Problem
	if errors.As(err, &p) && p.Status < 500 && p.Status != http.StatusTooManyRequests {
		if ferr := d.Journal.Forget(key); ferr != nil {
			err = errors.Join(err, ferr)
		}
	}
	return ev, r, err
}

func (d *Desk) submission(code string, app Application) (event.Event, error) {
	now := d.now().In(d.zone())
	channel := app.Channel
	if channel == "" {
		channel = "direct"
	}
	docs := app.Documents
	if docs == nil {
		docs = []Document{}
	}
	data := map[string]any{
		"code":        code,
		"procedure":   LandProcedure,
		"applicant":   app.Applicant,
		"documents":   docs,
		"received_at": now.Format(time.RFC3339),
		"channel":     channel,
		"form_schema": LandFormSchema,
		"form":        app.Form,
	}
	ev, err := event.New(newID(), event.Submitted, code, now, data)
	if err != nil {
		return event.Event{}, err
	}
	ev.Source = event.AgencySource(d.Agency)
	ev.DataSchema = event.SchemaURN(event.Submitted, 2)
	return ev, nil
}

// newID returns a random UUID (version 4).
func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// Track reads the dossier's process-control slip every `every` until done
// returns true for it or ctx ends, and calls changed (when not nil) with
// each slip whose status or steps differ from the previous one. A 404 is
// waited out: the tracking store learns of a dossier a moment after its
// receipt. It returns the last slip read.
func (d *Desk) Track(ctx context.Context, code string, every time.Duration, changed func(router.DossierView), done func(router.DossierView) bool) (router.DossierView, error) {
	var last router.DossierView
	seen := ""
	for {
		v, err := d.Client.Dossier(ctx, code)
		var p *client.Problem
		switch {
		case errors.As(err, &p) && p.Status == http.StatusNotFound:
		case err != nil:
			return last, err
		default:
			last = v
			if s := Summary(v); s != seen {
				seen = s
				if changed != nil {
					changed(v)
				}
			}
			if done(v) {
				return v, nil
			}
		}
		select {
		case <-ctx.Done():
			return last, ctx.Err()
		case <-time.After(every):
		}
	}
}

// Summary is one line of a slip: the status and each step's.
func Summary(v router.DossierView) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s", v.Code, v.Status)
	if v.Overdue {
		b.WriteString(" (overdue)")
	}
	for _, s := range v.Steps {
		fmt.Fprintf(&b, "; %s (%s) %s", s.ID, s.Agency, s.Status)
	}
	return b.String()
}

// StatusOtherThan is a Track condition: the dossier's status is no
// longer status.
func StatusOtherThan(status string) func(router.DossierView) bool {
	return func(v router.DossierView) bool { return v.Status != status }
}

// StepInProgress is a Track condition: the step is in progress.
func StepInProgress(step string) func(router.DossierView) bool {
	return func(v router.DossierView) bool {
		for _, s := range v.Steps {
			if s.ID == step {
				return s.Status == router.StepInProgress
			}
		}
		return false
	}
}
