package config

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/lienthong/lienthong/schemas"
)

// validateForms compiles the schemas with forms_dir's form schemas and
// checks what the procedures name: a file that does not compile is reported
// at forms_dir with the file and the location in it; a URN no file defines,
// at the procedure's or step's field.
func (p *parser) validateForms(c *Config) {
	if c.FormsDir != "" {
		st, err := os.Stat(c.FormsDir)
		switch {
		case err != nil:
			p.addf("forms_dir", "%q: %v", c.FormsDir, errors.Unwrap(err))
			return
		case !st.IsDir():
			p.addf("forms_dir", "%q is a file, want a directory of form schemas (*.json)", c.FormsDir)
			return
		}
	}
	reg, err := schemas.LoadWithForms(c.FormsDir)
	if err != nil {
		var fe *schemas.FormError
		if errors.As(err, &fe) {
			p.addf("forms_dir", "%v", fe)
		} else {
			p.addf("forms_dir", "%v", err)
		}
		return
	}
	c.schemas = reg
	for i := range c.Procedures {
		pr := &c.Procedures[i]
		pp := index("procedures", i)
		seen := map[string]bool{}
		for j, urn := range pr.FormSchemas {
			fp := index(pp+".form_schemas", j)
			name, _, ok := schemas.ParseFormURN(urn)
			switch {
			case !ok:
				p.addf(fp, "%q: want %s<procedure code>:v<N>", urn, schemas.FormURNPrefix)
				continue
			case seen[urn]:
				p.addf(fp, "%s listed twice", urn)
				continue
			case pr.Code != "" && name != pr.Code:
				p.addf(fp, "%s is a form of %s, not of this procedure (%s)", urn, name, pr.Code)
				continue
			}
			seen[urn] = true
			if _, ok := reg.Form(urn); !ok {
				p.addf(fp, "no form schema %s: %s", urn, knownForms(reg, name))
			}
		}
		for j := range pr.Steps {
			urn := pr.Steps[j].OutputSchema
			if urn == "" {
				continue
			}
			sp := index(pp+".steps", j) + ".output_schema"
			if _, _, ok := schemas.ParseFormURN(urn); !ok {
				p.addf(sp, "%q: want %s<name>:v<N>", urn, schemas.FormURNPrefix)
			} else if _, ok := reg.Form(urn); !ok {
				name, _, _ := schemas.ParseFormURN(urn)
				p.addf(sp, "no form schema %s: %s", urn, knownForms(reg, name))
			}
		}
	}
}

// validateWorkflow checks the procedures' workflow settings.
func (p *parser) validateWorkflow(c *Config) {
	for i := range c.Procedures {
		pr := &c.Procedures[i]
		pp := index("procedures", i)
		seen := map[string]bool{}
		for j, a := range pr.PaymentConfirmers {
			ap := index(pp+".payment_confirmers", j)
			switch _, ok := c.agencyIdx[a]; {
			case !ok:
				p.addf(ap, "unknown agency %q", a)
			case seen[a]:
				p.addf(ap, "%s listed twice", a)
			}
			seen[a] = true
		}
	}
}

// knownForms words the versions of a form name that exist, for problems.
func knownForms(reg *schemas.Registry, name string) string {
	var vs []string
	for _, f := range reg.Forms() {
		if f.Name == name {
			vs = append(vs, fmt.Sprintf("v%d", f.Version))
		}
	}
	if len(vs) == 0 {
		return "none is built in or in forms_dir"
	}
	return "known versions: " + strings.Join(vs, ", ")
}
