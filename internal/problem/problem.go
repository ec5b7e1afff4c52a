// Package problem forwards to the public package
// github.com/lienthong/lienthong/problem, so that importers of this old path
// (internal/gateway, internal/tracking, internal/auth) keep building while
// they move to it. Delete it once nothing imports it.
package problem

import p "github.com/lienthong/lienthong/problem"

type (
	Type       = p.Type
	FieldError = p.FieldError
	Details    = p.Details
)

const (
	Unauthorized         = p.Unauthorized
	NotJSON              = p.NotJSON
	NotObject            = p.NotObject
	BadRequest           = p.BadRequest
	BadCursor            = p.BadCursor
	UnsupportedMedia     = p.UnsupportedMedia
	TooLarge             = p.TooLarge
	InvalidEnvelope      = p.InvalidEnvelope
	UnknownType          = p.UnknownType
	UnknownSchemaVersion = p.UnknownSchemaVersion
	InvalidData          = p.InvalidData
	UnknownProcedure     = p.UnknownProcedure
	SubjectMismatch      = p.SubjectMismatch
	ForbiddenSource      = p.ForbiddenSource
	ForbiddenType        = p.ForbiddenType
	ForbiddenProcedure   = p.ForbiddenProcedure
	RouterOnlyType       = p.RouterOnlyType
	Forbidden            = p.Forbidden
	NotFound             = p.NotFound
	MethodNotAllowed     = p.MethodNotAllowed
	IDConflict           = p.IDConflict
	DossierExists        = p.DossierExists
	RateLimited          = p.RateLimited
	KafkaUnavailable     = p.KafkaUnavailable
	Unavailable          = p.Unavailable
	UnknownDossier       = p.UnknownDossier
	DossierClosed        = p.DossierClosed
	UnknownStep          = p.UnknownStep
	StepNotHeld          = p.StepNotHeld
	StepNotOpen          = p.StepNotOpen
	NotReceiver          = p.NotReceiver
	NotAwaiting          = p.NotAwaiting
	DossierPaused        = p.DossierPaused
	ResultNotReady       = p.ResultNotReady
	UnknownRecipient     = p.UnknownRecipient
	DeliveryRejected     = p.DeliveryRejected
	DeliveryExhausted    = p.DeliveryExhausted
)

var (
	Catalog = p.Catalog
	New     = p.New
	Write   = p.Write
	Send    = p.Send
)
