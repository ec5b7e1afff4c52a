package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/lienthong/lienthong/internal/config"
	"github.com/lienthong/lienthong/schemas"
)

func init() {
	register("validate", "[--config FILE] check CloudEvent files offline (exit 0 valid, 1 invalid, 2 usage)", cmdValidate)
	register("schemas", "list|show TYPE[/vN]|compat OLD NEW: the embedded schemas; is NEW backward compatible", cmdSchemas)
	register("config", "check FILE: check a config, every problem by path", cmdConfig)
}

func cmdValidate(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("validate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := fs.String("config", "", "check forms as this config's bus does (its forms_dir and procedures' form_schemas)")
	if err := fs.Parse(args); err != nil || fs.NArg() == 0 {
		fmt.Fprintln(stderr, "usage: lienthong validate [--config FILE] FILE...")
		return 2
	}
	var policy schemas.FormPolicy
	reg, err := schemas.Load()
	if *cfgPath != "" {
		cfg, cerr := config.Load(*cfgPath)
		if cerr != nil {
			fmt.Fprintln(stderr, "lienthong validate:", cerr)
			return 2
		}
		reg = cfg.Schemas()
		policy = func(procedure string) ([]string, bool) {
			p, ok := cfg.Procedure(procedure)
			if !ok {
				return nil, false
			}
			return p.FormSchemas, true
		}
	}
	if err != nil {
		fmt.Fprintln(stderr, "lienthong validate:", err)
		return 1
	}
	code := 0
	for _, f := range fs.Args() {
		data, err := os.ReadFile(f)
		if err != nil {
			fmt.Fprintf(stderr, "%s: %v\n", f, err)
			return 2
		}
		errs := reg.ValidateEventWith(data, policy)
		if len(errs) == 0 {
			fmt.Fprintf(stdout, "%s: valid\n", f)
			continue
		}
		code = 1
		for _, e := range errs {
			loc := e.Location
			if loc == "" {
				loc = "/"
			}
			fmt.Fprintf(stdout, "%s: %s: %s\n", f, loc, e.Message)
		}
	}
	return code
}

func cmdSchemas(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, "usage: lienthong schemas list | show NAME (NAME: envelope, defs, TYPE or TYPE/vN) | compat OLD NEW")
		return 2
	}
	if args[0] == "compat" {
		return cmdSchemasCompat(args[1:], stdout, stderr)
	}
	reg, err := schemas.Load()
	if err != nil {
		fmt.Fprintln(stderr, "lienthong schemas:", err)
		return 1
	}
	switch args[0] {
	case "list":
		for _, in := range reg.List() {
			fmt.Fprintf(stdout, "%-30s v%d  %s\n", in.Type, in.Version, in.URN)
		}
		// The built-in form schemas: `schemas show forms/<name>/v<N>`.
		for _, f := range reg.Forms() {
			fmt.Fprintf(stdout, "%-30s v%d  %s\n", "forms/"+f.Name, f.Version, f.URN)
		}
		return 0
	case "show":
		if len(args) != 2 {
			fmt.Fprintln(stderr, "usage: lienthong schemas show NAME")
			return 2
		}
		name := args[1]
		if !strings.Contains(name, "/") && name != "envelope" && name != "defs" {
			if v, ok := reg.Latest(name); ok {
				name = fmt.Sprintf("%s/v%d", name, v)
			}
		}
		doc, ok := reg.Document(name)
		if !ok {
			fmt.Fprintf(stderr, "lienthong schemas: no schema %q\n", args[1])
			return 1
		}
		_, _ = stdout.Write(doc)
		return 0
	}
	fmt.Fprintf(stderr, "lienthong schemas: unknown subcommand %q\n", args[0])
	return 2
}

// checkNow is the clock of `config check`'s warnings; tests set it.
var checkNow = time.Now

func cmdConfig(args []string, stdout, stderr io.Writer) int {
	if len(args) != 2 || args[0] != "check" {
		fmt.Fprintln(stderr, "usage: lienthong config check FILE")
		return 2
	}
	cfg, err := config.Load(args[1])
	if err == nil {
		// Warnings (no holidays for this year or the next) do not fail.
		for _, w := range cfg.Warnings(checkNow()) {
			fmt.Fprintf(stdout, "%s: %s: warning: %s\n", args[1], w.Path, w.Message)
		}
		fmt.Fprintf(stdout, "%s: ok\n", args[1])
		return 0
	}
	var ve *config.ValidationError
	if errors.As(err, &ve) {
		for _, p := range ve.Problems {
			fmt.Fprintf(stdout, "%s: %s: %s\n", args[1], p.Path, p.Message)
		}
		return 1
	}
	fmt.Fprintf(stderr, "%s: %v\n", args[1], err)
	return 1
}
