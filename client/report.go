package client

import (
	"github.com/lienthong/lienthong/router"

	"context"
	"fmt"
	"net/http"
	"net/url"
)

// HandlingRow is one row of the handling report (router.HandlingRow).
type HandlingRow = router.HandlingRow

// HandlingReport is the answer of GET /v1/reports/handling.
type HandlingReport = router.HandlingReport

// ReportOptions select a handling report. From and To are dates
// (2026-03-01), both included, in the calendar's time zone; Agency and
// Procedure filter the rows ("" matches every one). An agency sees its own
// rows only.
type ReportOptions struct {
	From, To          string
	Agency, Procedure string
}

func (o ReportOptions) path(format string) string {
	q := url.Values{}
	q.Set("from", o.From)
	q.Set("to", o.To)
	if o.Agency != "" {
		q.Set("agency", o.Agency)
	}
	if o.Procedure != "" {
		q.Set("procedure", o.Procedure)
	}
	if format != "" {
		q.Set("format", format)
	}
	return "/v1/reports/handling?" + q.Encode()
}

// HandlingReport returns the handling report of a period: per procedure
// and agency, the dossiers (or steps) received, done early, on time or
// late, in progress at the end, and refused or withdrawn.
func (c *Client) HandlingReport(ctx context.Context, o ReportOptions) (HandlingReport, error) {
	var r HandlingReport
	err := c.do(ctx, http.MethodGet, o.path(""), "", nil, &r)
	return r, err
}

// HandlingReportCSV returns the same report as CSV (UTF-8, a header row,
// one row per procedure, agency and role).
func (c *Client) HandlingReportCSV(ctx context.Context, o ReportOptions) ([]byte, error) {
	path := o.path("csv")
	resp, err := c.send(ctx, http.MethodGet, path, "", nil)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	raw, err := readAll(resp)
	if err != nil {
		return nil, fmt.Errorf("client: GET %s: read: %w", path, err)
	}
	if resp.StatusCode >= 300 {
		return nil, problemOf(resp, raw)
	}
	return raw, nil
}
