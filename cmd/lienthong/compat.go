package main

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/lienthong/lienthong/schemas"
)

// cmdSchemasCompat is `lienthong schemas compat OLD NEW`: exit 0 when NEW
// accepts every instance OLD accepts, 1 when not (each breaking change on
// stdout), 2 on a usage error (arguments, a file that cannot be read or is
// not a JSON Schema 2020-12 document).
//
// OLD and NEW are files. An argument that names no file but an embedded
// schema (dossier.submitted/v1, forms/1.004227/v1, envelope) is that schema.
func cmdSchemasCompat(args []string, stdout, stderr io.Writer) int {
	if len(args) != 2 || strings.HasPrefix(args[0], "-") || strings.HasPrefix(args[1], "-") {
		fmt.Fprintln(stderr, "usage: lienthong schemas compat OLD NEW   (JSON Schema 2020-12 files; exit 0 compatible, 1 not, 2 usage)")
		return 2
	}
	var docs [2][]byte
	for i, a := range args {
		b, err := readSchemaArg(a)
		if err != nil {
			fmt.Fprintln(stderr, "lienthong schemas compat:", err)
			return 2
		}
		docs[i] = b
	}
	breaks, err := schemas.Compatible(docs[0], docs[1])
	if err != nil {
		fmt.Fprintln(stderr, "lienthong schemas compat:", err)
		return 2
	}
	if len(breaks) == 0 {
		fmt.Fprintf(stdout, "%s is backward compatible with %s: every instance OLD accepts, NEW accepts\n", args[1], args[0])
		return 0
	}
	fmt.Fprintf(stdout, "%s is NOT backward compatible with %s: %d breaking change(s)\n", args[1], args[0], len(breaks))
	for _, b := range breaks {
		fmt.Fprintf(stdout, "  %s\n", b)
	}
	return 1
}

// readSchemaArg reads a file, or an embedded schema by name when no such
// file exists.
func readSchemaArg(a string) ([]byte, error) {
	b, err := os.ReadFile(a)
	if err == nil || !os.IsNotExist(err) {
		return b, err
	}
	if reg, lerr := schemas.Load(); lerr == nil {
		if doc, ok := reg.Document(a); ok {
			return doc, nil
		}
	}
	return nil, err
}
