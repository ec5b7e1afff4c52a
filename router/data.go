package router

import (
	"encoding/json"
	"time"
)

// The data of the events the router makes (DESIGN.md section 3). Structs
// rather than maps: fixed field order, and cheaper to encode.

// AssignedData is the data of dossier.assigned.
// (schema version 2): with the current form and every document so far.
type AssignedData struct {
	Step       AssignedStep               `json:"step"`
	Procedure  string                     `json:"procedure"`
	Dossier    json.RawMessage            `json:"dossier"`
	FormSchema string                     `json:"form_schema,omitempty"`
	Form       json.RawMessage            `json:"form,omitempty"`
	Documents  []json.RawMessage          `json:"documents"`
	Outputs    map[string]json.RawMessage `json:"outputs"`
}

// AssignedStep names the step to do and its due time.
type AssignedStep struct {
	ID    string    `json:"id"`
	Name  string    `json:"name"`
	DueAt time.Time `json:"due_at"`
}

// StatusChangedData is the data of dossier.status.changed.
// (schema version 2).
type StatusChangedData struct {
	Status               string          `json:"status"`
	PortalStatus         int             `json:"portal_status"`
	Previous             string          `json:"previous,omitempty"`
	PreviousPortalStatus int             `json:"previous_portal_status,omitempty"`
	Step                 string          `json:"step,omitempty"`
	DueAt                time.Time       `json:"due_at,omitzero"`
	Obligation           *ObligationData `json:"obligation,omitempty"`
	SupplementDueAt      time.Time       `json:"supplement_due_at,omitzero"`
	Reason               string          `json:"reason,omitempty"`
}

// ObligationData is a financial obligation as events carry it.
type ObligationData struct {
	NoticeNumber string   `json:"notice_number"`
	AmountVND    int64    `json:"amount_vnd"`
	TaxKinds     []string `json:"tax_kinds"`
	DueDate      string   `json:"due_date"`
}

// SupplementReminderData is the data of dossier.supplement.reminder.
type SupplementReminderData struct {
	Step            string    `json:"step"`
	SupplementDueAt time.Time `json:"supplement_due_at"`
}

// CompletedData is the data of dossier.completed: the outputs and
// documents of every step, by step id.
type CompletedData struct {
	Procedure string                     `json:"procedure"`
	Outputs   map[string]json.RawMessage `json:"outputs"`
	Documents map[string]json.RawMessage `json:"documents"`
}

// OverdueData is the data of dossier.overdue. Level is "step" (Step set) or
// "dossier".
type OverdueData struct {
	Level string       `json:"level"`
	Step  *OverdueStep `json:"step,omitempty"`
	DueAt time.Time    `json:"due_at"`
}

// OverdueStep is the late step.
type OverdueStep struct {
	ID     string    `json:"id"`
	Name   string    `json:"name"`
	Agency string    `json:"agency"`
	DueAt  time.Time `json:"due_at"`
}

// MessageRejectedData is the data of message.rejected.
type MessageRejectedData struct {
	RejectedID   string `json:"rejected_id"`
	RejectedType string `json:"rejected_type"`
	Reason       string `json:"reason"`
	Detail       string `json:"detail"`
}
