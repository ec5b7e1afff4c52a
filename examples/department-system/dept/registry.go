package dept

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/lienthong/lienthong/client"
	"github.com/lienthong/lienthong/event"
	"github.com/lienthong/lienthong/router"
)

// VerifyStep is the step of the land procedure the land registration
// office (VPDK) does first: check the parcel and the certificate against
// its cadastral records.
const VerifyStep = "verify"

// Registry is the land registration office's side (VPDK): lienthong
// delivers its events by signed webhook; on dossier.assigned for the verify
// step it checks the form and answers dossier.step.completed. The other
// steps it holds (the certificate) wait for a clerk.
type Registry struct {
	Client  *client.Client // with the office's token
	Journal *Journal       // what was received and what was decided
	Agency  string         // the office's agency code, e.g. VPDK
	Logger  *slog.Logger   // nil: slog.Default()
	Now     func() time.Time
	// OnPosted, when set, is called after lienthong accepted an event this
	// office sent (an audit trail; Duplicate is true on a resend).
	OnPosted func(event.Event, client.Receipt)
}

// Handler is the webhook receiver: it verifies each delivery's Standard
// Webhooks signature with secret (whsec_...), answering 401 to one that does
// not verify, and hands the event to Handle (500 when it fails, so lienthong
// delivers it again; 204 otherwise).
func (r *Registry) Handler(secret string) (http.Handler, error) {
	return client.WebhookHandler(secret, r.Handle)
}

func (r *Registry) log() *slog.Logger {
	if r.Logger == nil {
		return slog.Default()
	}
	return r.Logger
}

func (r *Registry) now() time.Time {
	if r.Now == nil {
		return time.Now()
	}
	return r.Now()
}

// Handle takes one event from lienthong. It keeps the event before acting
// on it, and acts the same way however often the event comes (lienthong
// delivers at least once, with the same id).
func (r *Registry) Handle(ctx context.Context, ev event.Event) error {
	if _, err := r.Journal.Keep("in."+ev.ID, ev); err != nil {
		return err // 500: lienthong delivers it again
	}
	log := r.log().With("id", ev.ID, "type", ev.Type, "dossier", ev.Subject)
	switch ev.Type {
	case event.Assigned:
		return r.assigned(ctx, log, ev)
	case event.MessageRejected:
		// One of our events broke a routing rule; a clerk must look.
		var d struct {
			RejectedID string `json:"rejected_id"`
			Reason     string `json:"reason"`
		}
		_ = json.Unmarshal(ev.Data, &d)
		log.Warn("lienthong refused an event of ours", "rejected_id", d.RejectedID, "reason", d.Reason)
	default:
		log.Info("event stored")
	}
	return nil
}

func (r *Registry) assigned(ctx context.Context, log *slog.Logger, ev event.Event) error {
	var a router.AssignedData
	if err := json.Unmarshal(ev.Data, &a); err != nil {
		log.Error("assignment not understood; a clerk must look", "err", err)
		return nil // delivering it again cannot help
	}
	log = log.With("step", a.Step.ID)
	if a.Step.ID != VerifyStep || a.Procedure != LandProcedure {
		log.Info("assignment stored for a clerk", "due_at", a.Step.DueAt)
		return nil
	}
	out, err := r.verify(a)
	if err != nil {
		log.Warn("the form does not verify; a clerk must look", "err", err)
		return nil
	}
	// The completion is decided once and kept: its id derives from the
	// assignment's, and a second delivery of the assignment resends the same
	// event, which lienthong answers with the first receipt.
	done, err := event.New(event.DeriveID(ev.ID, r.Agency, event.StepCompleted), event.StepCompleted, ev.Subject, r.now(),
		map[string]any{"step": VerifyStep, "outputs": out, "note": "Hồ sơ hợp lệ, đủ điều kiện chuyển bước tiếp theo"})
	if err != nil {
		return err
	}
	done.Source = event.AgencySource(r.Agency)
	done.DataSchema = event.SchemaURN(event.StepCompleted, 2)
	if done, err = r.Journal.Keep("out."+ev.ID, done); err != nil {
		return err
	}
	receipt, err := r.Client.Post(ctx, done)
	var p *client.Problem
	switch {
	case errors.As(err, &p) && p.Status < 500 && p.Status != http.StatusTooManyRequests:
		// Refused for good: sending it again cannot help.
		log.Error("lienthong refused the completion; a clerk must look", "event", done.ID, "problem", p.Error())
		return nil
	case err != nil:
		return fmt.Errorf("post the completion of %s: %w", ev.Subject, err) // 500: delivered again, resent
	}
	log.Info("step completed", "event", done.ID, "duplicate", receipt.Duplicate)
	if r.OnPosted != nil {
		r.OnPosted(done, receipt)
	}
	return nil
}

// verify is the office's check of the land form against its records; here
// the records are not reachable, so it checks what the form says of the
// parcel and hands on what the next steps need.
func (r *Registry) verify(a router.AssignedData) (map[string]any, error) {
	if a.FormSchema != LandFormSchema || len(a.Form) == 0 {
		return nil, fmt.Errorf("form %q is not %s", a.FormSchema, LandFormSchema)
	}
	var f LandForm
	if err := json.Unmarshal(a.Form, &f); err != nil {
		return nil, err
	}
	if f.Parcel.AreaM2 <= 0 || f.Certificate.SerialNumber == "" {
		return nil, errors.New("no parcel area or certificate serial")
	}
	return map[string]any{
		"parcel": map[string]any{
			"sheet_number": f.Parcel.SheetNumber, "parcel_number": f.Parcel.ParcelNumber,
			"area_m2": f.Parcel.AreaM2, "purpose": f.Parcel.Purpose,
		},
		"certificate_serial": f.Certificate.SerialNumber,
		"change_kind":        f.Change.Kind,
		"verified":           true,
	}, nil
}
