package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"text/tabwriter"
	"time"

	"github.com/lienthong/lienthong/client"
)

func init() {
	register("report", "--from DATE --to DATE [--agency A] [--procedure P] [--csv]: the handling report of a period", cmdReport)
}

// cmdReport prints GET /v1/reports/handling aligned, or its CSV.
func cmdReport(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("report", flag.ContinueOnError)
	fs.SetOutput(stderr)
	base, tokenEnv := apiFlags(fs)
	var o client.ReportOptions
	fs.StringVar(&o.From, "from", "", "first day, YYYY-MM-DD (the calendar's time zone)")
	fs.StringVar(&o.To, "to", "", "last day, YYYY-MM-DD, included")
	fs.StringVar(&o.Agency, "agency", "", "only this agency's rows")
	fs.StringVar(&o.Procedure, "procedure", "", "only this procedure's rows")
	asCSV := fs.Bool("csv", false, "print the CSV export")
	if err := fs.Parse(args); err != nil || fs.NArg() != 0 || o.From == "" || o.To == "" {
		fmt.Fprintln(stderr, "usage: lienthong report [--url URL] --from YYYY-MM-DD --to YYYY-MM-DD [--agency CODE] [--procedure CODE] [--csv]   (token in $LIENTHONG_TOKEN)")
		return 2
	}
	c, err := client.New(client.Config{BaseURL: *base, Token: os.Getenv(*tokenEnv)})
	if err != nil {
		fmt.Fprintln(stderr, "lienthong report:", err)
		return 2
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if *asCSV {
		b, err := c.HandlingReportCSV(ctx, o)
		if err != nil {
			fmt.Fprintln(stderr, "lienthong report:", err)
			return 1
		}
		_, _ = stdout.Write(b)
		return 0
	}
	r, err := c.HandlingReport(ctx, o)
	if err != nil {
		fmt.Fprintln(stderr, "lienthong report:", err)
		return 1
	}
	fmt.Fprintf(stdout, "Handling report %s to %s (%s), in progress as of %s\n\n", r.From, r.To, r.Timezone, r.AsOf.Format(time.DateTime))
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "PROCEDURE\tAGENCY\tROLE\tRECEIVED\tNEW\tCARRIED\tDONE\tEARLY\tON TIME\tLATE\tOPEN\tOPEN OK\tOPEN LATE\tSUPPL.\tREFUSED\tWITHDRAWN\tCANCELLED\t")
	for _, x := range r.Rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t\n", x.Procedure, x.Agency, x.Role,
			x.Received, x.ReceivedNew, x.CarriedOver, x.Done, x.DoneEarly, x.DoneOnTime, x.DoneLate,
			x.InProgress, x.InProgressOnTime, x.InProgressLate, x.Supplements, x.Refused, x.Withdrawn, x.Cancelled)
	}
	if err := tw.Flush(); err != nil {
		return 1
	}
	return 0
}
