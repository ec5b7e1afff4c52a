package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSchemasCompatExitCodes: 0 compatible, 1 not (each break printed with
// its pointers), 2 for usage errors.
func TestSchemasCompatExitCodes(t *testing.T) {
	const td = "../../schemas/testdata/compat/"
	code, out, errs := runCLI("schemas", "compat", td+"parcel-compatible.old.json", td+"parcel-compatible.new.json")
	if code != 0 || !strings.Contains(out, "is backward compatible") {
		t.Fatalf("compatible pair: exit %d\n%s%s", code, out, errs)
	}
	code, out, errs = runCLI("schemas", "compat", td+"parcel-breaking.old.json", td+"parcel-breaking.new.json")
	if code != 1 || !strings.Contains(out, "NOT backward compatible") ||
		!strings.Contains(out, "/properties/change/enum (instance /change): ENUM_ARRAY_NARROWED: ") ||
		!strings.Contains(out, "/additionalProperties (instance /note): PROPERTY_REMOVED_FROM_CLOSED_CONTENT_MODEL: ") {
		t.Fatalf("breaking pair: exit %d\n%s%s", code, out, errs)
	}
	// OLD and NEW swapped: the widening pair is breaking the other way.
	if code, out, _ := runCLI("schemas", "compat", td+"parcel-compatible.new.json", td+"parcel-compatible.old.json"); code != 1 {
		t.Fatalf("reversed pair: exit %d\n%s", code, out)
	}
	// An embedded schema by name, and each embedded event schema against itself.
	if code, out, errs := runCLI("schemas", "compat", "dossier.submitted/v1", td+"parcel-compatible.old.json"); code != 1 {
		t.Fatalf("embedded vs form: exit %d\n%s%s", code, out, errs)
	}
	if code, out, errs := runCLI("schemas", "compat", "dossier.submitted/v1", "dossier.submitted/v1"); code != 0 {
		t.Fatalf("embedded vs itself: exit %d\n%s%s", code, out, errs)
	}

	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := write("good.json", `{"type":"string"}`)
	for name, args := range map[string][]string{
		"no arguments":   {"schemas", "compat"},
		"one argument":   {"schemas", "compat", good},
		"three":          {"schemas", "compat", good, good, good},
		"a flag":         {"schemas", "compat", "-v", good},
		"missing file":   {"schemas", "compat", filepath.Join(dir, "missing.json"), good},
		"a directory":    {"schemas", "compat", good, dir},
		"not JSON":       {"schemas", "compat", write("bad.json", `{"type":`), good},
		"not a schema":   {"schemas", "compat", good, write("arr.json", `[1]`)},
		"bad keyword":    {"schemas", "compat", good, write("kw.json", `{"minLength":"x"}`)},
		"another draft":  {"schemas", "compat", write("d7.json", `{"$schema":"http://json-schema.org/draft-07/schema#"}`), good},
		"remote $ref":    {"schemas", "compat", good, write("remote.json", `{"$ref":"https://example.com/x.json"}`)},
		"dangling $ref":  {"schemas", "compat", write("dangling.json", `{"$ref":"#/$defs/none"}`), good},
		"unknown schema": {"schemas", "compat", "dossier.nope/v1", good},
	} {
		code, out, errs := runCLI(args...)
		if code != 2 || errs == "" {
			t.Errorf("%s: exit %d, stderr %q, stdout %q", name, code, errs, out)
		}
	}
}

// TestContractCommands: asyncapi and openapi print their documents, with
// the built-in example config or one given by --config, and refuse stray
// arguments.
func TestContractCommands(t *testing.T) {
	cfgFile := filepath.Join(t.TempDir(), "cfg.yaml")
	if err := os.WriteFile(cfgFile, exampleWithoutSecrets(t), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		cmd, key, version string
	}{{"asyncapi", "asyncapi", "3.0.0"}, {"openapi", "openapi", "3.1.0"}} {
		for _, args := range [][]string{{tc.cmd}, {tc.cmd, "--config", cfgFile}} {
			code, out, errs := runCLI(args...)
			var doc map[string]any
			if code != 0 || json.Unmarshal([]byte(out), &doc) != nil || doc[tc.key] != tc.version {
				t.Fatalf("%v: exit %d, %q\n%.200s", args, code, errs, out)
			}
		}
		if code, _, _ := runCLI(tc.cmd, "extra"); code != 2 {
			t.Errorf("%s extra: exit %d", tc.cmd, code)
		}
		if code, _, _ := runCLI(tc.cmd, "--nope"); code != 2 {
			t.Errorf("%s --nope: exit %d", tc.cmd, code)
		}
		if code, _, errs := runCLI(tc.cmd, "--config", filepath.Join(t.TempDir(), "missing.yaml")); code != 1 || errs == "" {
			t.Errorf("%s with a missing config: exit %d", tc.cmd, code)
		}
	}
	// The topic prefix comes from the config.
	_, out, _ := runCLI("asyncapi", "--config", cfgFile)
	if !strings.Contains(out, `"address": "lienthong.inbox.VPDK"`) {
		t.Errorf("no inbox topic of VPDK in:\n%.300s", out)
	}
}
