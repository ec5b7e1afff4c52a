package problem

import (
	"os"
	"strings"
	"testing"
)

// The documented catalog lists every type; systems build on that list.
func TestCatalogIsDocumented(t *testing.T) {
	doc, err := os.ReadFile("../docs/PROBLEMS.md")
	if err != nil {
		t.Fatal(err)
	}
	for typ, title := range Catalog() {
		row := "| `" + typ.URN() + "` | " + title + " |"
		if !strings.Contains(string(doc), row) {
			t.Errorf("docs/PROBLEMS.md lacks the row %s", row)
		}
	}
}
