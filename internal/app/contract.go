package app

import (
	"github.com/lienthong/lienthong/internal/contract"
)

// mountContract serves the OpenAPI document of the HTTP API at
// GET /v1/openapi.json, generated once from the route table, the problem
// catalog and this process's schemas (forms_dir's included). It is public,
// like /v1/schemas (DESIGN.md section 6: "anyone"): it describes the
// contract, not a deployment, and names no agency or procedure.
func (a *App) mountContract() {
	h, err := contract.OpenAPIHandler(a.Schemas)
	if err != nil {
		a.Logger.Error("openapi: the document could not be generated; "+contract.OpenAPIPath+" answers 500", "err", err)
	}
	a.mux.Handle(contract.OpenAPIPath, h)
}
