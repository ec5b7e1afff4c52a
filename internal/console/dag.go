package console

import (
	"github.com/lienthong/lienthong/router"
)

// dag is a procedure's route laid out for inline SVG: steps in columns by
// depth (a step sits one column right of the deepest step it waits for),
// edges from each step in `after` to the step.
type dag struct {
	W, H  int
	Nodes []dagNode
	Edges []dagEdge
}

type dagNode struct {
	ID, Name, Agency, State, Label string
	X, Y, W, H                     int
	TextX, NameY, AgencyY          int
	Fill, Stroke                   string
	Dash                           bool
}

type dagEdge struct{ X1, Y1, X2, Y2, MX int }

const (
	nodeW, nodeH = 215, 52
	colGap       = 60
	rowGap       = 22
	pad          = 12
)

// The colours of step states (the legend uses the same).
var stateColors = map[string][2]string{ // fill, stroke
	"pending":     {"#eceff1", "#90a4ae"},
	"in_progress": {"#e3f2fd", "#1e88e5"},
	"completed":   {"#e8f5e9", "#43a047"},
	"late":        {"#ffebee", "#e53935"},
	"cancelled":   {"#f5f5f5", "#757575"},
	"rejected":    {"#fce4ec", "#ad1457"},
}

// layout draws the dossier's steps. The edges come from the procedure in
// the config (the tracking API does not carry `after`); a step the config no
// longer has stands alone.
func (c *Console) layout(d router.DossierView, T func(string, ...any) string) dag {
	after := map[string][]string{}
	if p, ok := c.o.Config.Procedure(d.Procedure); ok {
		for _, s := range p.Steps {
			after[s.ID] = s.After
		}
	}
	idx := map[string]int{}
	for i, s := range d.Steps {
		idx[s.ID] = i
	}
	depth := make([]int, len(d.Steps))
	// Steps are few; relax until stable (a cycle cannot pass config checks,
	// and the bound stops one anyway).
	for range len(d.Steps) + 1 {
		changed := false
		for i, s := range d.Steps {
			for _, a := range after[s.ID] {
				if j, ok := idx[a]; ok && depth[j]+1 > depth[i] {
					depth[i] = depth[j] + 1
					changed = true
				}
			}
		}
		if !changed {
			break
		}
	}
	rowsIn := map[int]int{}
	g := dag{}
	maxRow := 0
	for i, s := range d.Steps {
		col := depth[i]
		rowN := rowsIn[col]
		rowsIn[col]++
		maxRow = max(maxRow, rowN)
		st := stepState(s)
		col2 := stateColors[st]
		x := pad + col*(nodeW+colGap)
		y := pad + rowN*(nodeH+rowGap)
		g.Nodes = append(g.Nodes, dagNode{ID: s.ID, Name: s.Name, Agency: s.Agency, State: st, Label: T("step." + st),
			X: x, Y: y, W: nodeW, H: nodeH, TextX: x + 10, NameY: y + 21, AgencyY: y + 40,
			Fill: col2[0], Stroke: col2[1], Dash: st == "cancelled"})
		g.W = max(g.W, x+nodeW+pad)
	}
	g.H = pad*2 + (maxRow+1)*nodeH + maxRow*rowGap
	for i, s := range d.Steps {
		for _, a := range after[s.ID] {
			j, ok := idx[a]
			if !ok {
				continue
			}
			from, to := g.Nodes[j], g.Nodes[i]
			x1, y1 := from.X+from.W, from.Y+from.H/2
			x2, y2 := to.X-6, to.Y+to.H/2
			g.Edges = append(g.Edges, dagEdge{X1: x1, Y1: y1, X2: x2, Y2: y2, MX: (x1 + x2) / 2})
		}
	}
	if len(g.Nodes) == 0 {
		g.W, g.H = 10, 10
	}
	return g
}
