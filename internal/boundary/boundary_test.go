// Package boundary checks lienthong's public Go API from the outside: code in
// another module cannot name a type under internal/, so no exported
// identifier of a public package may mention one, and an adapter binary must
// not link the embedded broker.
package boundary_test

import (
	"encoding/json"
	"fmt"
	"go/importer"
	"go/token"
	"go/types"
	"io"
	"os"
	"os/exec"
	"sort"
	"strings"
	"testing"
)

const module = "github.com/lienthong/lienthong"

// internalPath reports whether importers outside its tree cannot import p.
func internalPath(p string) bool {
	return strings.Contains("/"+p+"/", "/internal/")
}

func goCmd(t *testing.T, args ...string) []byte {
	t.Helper()
	cmd := exec.Command("go", args...)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go %s: %v", strings.Join(args, " "), err)
	}
	return out
}

// publicPackages lists the module's importable library packages: everything
// but internal/ and commands. New public packages are covered as they come.
func publicPackages(t *testing.T) []string {
	t.Helper()
	var out []string
	for _, line := range strings.Split(strings.TrimSpace(string(goCmd(t, "list", "-f", "{{.ImportPath}} {{.Name}}", module+"/..."))), "\n") {
		path, name, _ := strings.Cut(line, " ")
		if internalPath(path) || name == "main" {
			continue
		}
		out = append(out, path)
	}
	// A listing gone wrong must not pass for an honest boundary.
	for _, want := range []string{"event", "schemas", "router", "adapters", "adapters/delivery", "adapters/pull", "adapters/webhook", "adapters/adaptertest"} {
		found := false
		for _, p := range out {
			found = found || p == module+"/"+want
		}
		if !found {
			t.Fatalf("public package %s not listed (got %v)", want, out)
		}
	}
	return out
}

// loadExports type-checks pkgs from the export data the go command builds,
// so that the test sees exactly what an importer sees.
func loadExports(t *testing.T, pkgs []string) []*types.Package {
	t.Helper()
	args := append([]string{"list", "-export", "-deps", "-json=ImportPath,Export"}, pkgs...)
	dec := json.NewDecoder(strings.NewReader(string(goCmd(t, args...))))
	files := map[string]string{}
	for {
		var p struct{ ImportPath, Export string }
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		files[p.ImportPath] = p.Export
	}
	imp := importer.ForCompiler(token.NewFileSet(), "gc", func(path string) (io.ReadCloser, error) {
		f, ok := files[path]
		if !ok || f == "" {
			return nil, fmt.Errorf("no export data for %s", path)
		}
		return os.Open(f)
	})
	var out []*types.Package
	for _, p := range pkgs {
		tp, err := imp.Import(p)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, tp)
	}
	return out
}

type checker struct {
	public map[string]bool
	done   map[*types.Named]bool
	bad    []string
}

// find returns the first internal package that t mentions, or "". Named
// types of other packages are not opened: only their own path counts.
func (c *checker) find(t types.Type, via string, seen map[types.Type]bool) string {
	if seen[t] {
		return ""
	}
	seen[t] = true
	switch t := t.(type) {
	case *types.Alias:
		if pkg := t.Obj().Pkg(); pkg != nil && internalPath(pkg.Path()) {
			return pkg.Path()
		}
		return c.find(t.Rhs(), via, seen)
	case *types.Named:
		pkg := t.Obj().Pkg()
		if pkg != nil && internalPath(pkg.Path()) {
			return pkg.Path()
		}
		for i := 0; i < t.TypeArgs().Len(); i++ {
			if p := c.find(t.TypeArgs().At(i), via, seen); p != "" {
				return p
			}
		}
		// An unexported type reached from the API: its exported fields and
		// methods are usable outside all the same.
		if pkg != nil && c.public[pkg.Path()] && !t.Obj().Exported() {
			c.named(t.Origin(), pkg.Name()+"."+t.Obj().Name()+" (via "+via+")")
		}
	case *types.Pointer:
		return c.find(t.Elem(), via, seen)
	case *types.Slice:
		return c.find(t.Elem(), via, seen)
	case *types.Array:
		return c.find(t.Elem(), via, seen)
	case *types.Chan:
		return c.find(t.Elem(), via, seen)
	case *types.Map:
		if p := c.find(t.Key(), via, seen); p != "" {
			return p
		}
		return c.find(t.Elem(), via, seen)
	case *types.Tuple:
		for i := 0; i < t.Len(); i++ {
			if p := c.find(t.At(i).Type(), via, seen); p != "" {
				return p
			}
		}
	case *types.Signature:
		for i := 0; i < t.TypeParams().Len(); i++ {
			if p := c.find(t.TypeParams().At(i), via, seen); p != "" {
				return p
			}
		}
		if p := c.find(t.Params(), via, seen); p != "" {
			return p
		}
		return c.find(t.Results(), via, seen)
	case *types.Struct:
		for i := 0; i < t.NumFields(); i++ {
			if p := c.find(t.Field(i).Type(), via, seen); p != "" {
				return p
			}
		}
	case *types.Interface:
		for i := 0; i < t.NumEmbeddeds(); i++ {
			if p := c.find(t.EmbeddedType(i), via, seen); p != "" {
				return p
			}
		}
		for i := 0; i < t.NumExplicitMethods(); i++ {
			if p := c.find(t.ExplicitMethod(i).Type(), via, seen); p != "" {
				return p
			}
		}
	case *types.TypeParam:
		return c.find(t.Constraint(), via, seen)
	case *types.Union:
		for i := 0; i < t.Len(); i++ {
			if p := c.find(t.Term(i).Type(), via, seen); p != "" {
				return p
			}
		}
	}
	return ""
}

func (c *checker) check(label string, t types.Type) {
	if p := c.find(t, label, map[types.Type]bool{}); p != "" {
		c.bad = append(c.bad, fmt.Sprintf("%s mentions %s", label, p))
	}
}

// named checks what a defined type offers importers: its type parameters,
// exported fields (promoted ones included), exported methods, or else its
// underlying type.
func (c *checker) named(n *types.Named, label string) {
	if c.done[n] {
		return
	}
	c.done[n] = true
	for i := 0; i < n.TypeParams().Len(); i++ {
		c.check(label, n.TypeParams().At(i).Constraint())
	}
	switch u := n.Underlying().(type) {
	case *types.Struct:
		for i := 0; i < u.NumFields(); i++ {
			f := u.Field(i)
			if f.Exported() {
				c.check(label+"."+f.Name(), f.Type())
			} else if f.Embedded() {
				c.check(label+" (embedded "+f.Name()+")", f.Type())
			}
		}
	case *types.Interface:
		for i := 0; i < u.NumMethods(); i++ {
			if m := u.Method(i); m.Exported() {
				c.check(label+"."+m.Name(), m.Type())
			}
		}
		return
	default:
		c.check(label, u)
	}
	ms := types.NewMethodSet(types.NewPointer(n))
	for i := 0; i < ms.Len(); i++ {
		if m := ms.At(i).Obj(); m.Exported() {
			c.check(label+"."+m.Name(), m.Type())
		}
	}
}

// TestNoInternalTypesInPublicAPI walks every exported identifier of the
// public packages: funcs, vars, consts, types, their exported fields and
// methods, interface methods.
func TestNoInternalTypesInPublicAPI(t *testing.T) {
	paths := publicPackages(t)
	c := &checker{public: map[string]bool{}, done: map[*types.Named]bool{}}
	for _, p := range paths {
		c.public[p] = true
	}
	for _, pkg := range loadExports(t, paths) {
		scope := pkg.Scope()
		for _, name := range scope.Names() {
			obj := scope.Lookup(name)
			if !obj.Exported() {
				continue
			}
			label := pkg.Name() + "." + name
			switch obj := obj.(type) {
			case *types.TypeName:
				if n, ok := obj.Type().(*types.Named); ok && !obj.IsAlias() {
					c.named(n, label)
				} else {
					c.check(label, obj.Type())
				}
			default: // Func, Var, Const
				c.check(label, obj.Type())
			}
		}
	}
	sort.Strings(c.bad)
	for _, b := range c.bad {
		t.Error(b)
	}
	if len(c.bad) > 0 {
		t.Logf("%d exported identifiers that code outside %s cannot use; give them public types or move them under internal/", len(c.bad), module)
	}
}

// brokerFree are the public packages an adapter or a department system
// builds on. Only adaptertest (a test kit, imported by _test files, which
// runs the embedded broker) and the broker itself may link franz-go.
var brokerExempt = map[string]bool{
	module + "/adapters/adaptertest": true,
	module + "/third_party/kfake":    true,
}

// TestAdaptersDoNotLinkTheBroker: an adapter binary importing the public
// packages must not link the embedded broker (kfake) or franz-go.
func TestAdaptersDoNotLinkTheBroker(t *testing.T) {
	var roots []string
	for _, p := range publicPackages(t) {
		if !brokerExempt[p] {
			roots = append(roots, p)
		}
	}
	args := append([]string{"list", "-deps", "-f", "{{.ImportPath}}{{range .Imports}} {{.}}{{end}}"}, roots...)
	imports := map[string][]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(goCmd(t, args...))), "\n") {
		f := strings.Fields(line)
		imports[f[0]] = f[1:]
	}
	broker := func(p string) bool {
		return strings.HasPrefix(p, "github.com/twmb/franz-go") || strings.HasPrefix(p, module+"/third_party/kfake")
	}
	for _, root := range roots {
		// Breadth-first, so the chain reported is a shortest one.
		prev := map[string]string{root: ""}
		queue := []string{root}
		for len(queue) > 0 {
			p := queue[0]
			queue = queue[1:]
			if broker(p) {
				chain := []string{p}
				for q := prev[p]; q != ""; q = prev[q] {
					chain = append([]string{q}, chain...)
				}
				t.Errorf("%s links the broker: %s", root, strings.Join(chain, " -> "))
				break
			}
			for _, q := range imports[p] {
				if _, ok := prev[q]; !ok {
					prev[q] = p
					queue = append(queue, q)
				}
			}
		}
	}
}
