package console

import (
	"encoding/xml"
	"math"
	"strconv"
	"strings"
	"testing"
)

// node is an element of a parsed chart.
type node struct {
	name  string
	attrs map[string]string
	text  string
}

// parseChart parses a chart's markup as XML (it must be well-formed) and
// returns its elements in document order.
func parseChart(t *testing.T, h string) []node {
	t.Helper()
	d := xml.NewDecoder(strings.NewReader(h))
	var out []node
	var open []int
	for {
		tok, err := d.Token()
		if err != nil {
			if err.Error() == "EOF" {
				return out
			}
			t.Fatalf("not well-formed: %v\n%s", err, h)
		}
		switch x := tok.(type) {
		case xml.StartElement:
			n := node{name: x.Name.Local, attrs: map[string]string{}}
			for _, a := range x.Attr {
				n.attrs[a.Name.Local] = a.Value
			}
			out = append(out, n)
			open = append(open, len(out)-1)
		case xml.EndElement:
			open = open[:len(open)-1]
		case xml.CharData:
			if len(open) > 0 {
				out[open[len(open)-1]].text += string(x)
			}
		}
	}
}

func having(ns []node, name, class string) []node {
	var out []node
	for _, n := range ns {
		if n.name == name && (class == "" || strings.Contains(" "+n.attrs["class"]+" ", " "+class+" ")) {
			out = append(out, n)
		}
	}
	return out
}

func attrF(t *testing.T, n node, a string) float64 {
	t.Helper()
	v, err := strconv.ParseFloat(n.attrs[a], 64)
	if err != nil {
		t.Fatalf("%s=%q: %v", a, n.attrs[a], err)
	}
	return v
}

// TestBarChart: bars are grouped per label, their heights proportional to
// the values and standing on the axis; the svg is named by its title and
// description; the table repeats every figure (exact cells when given);
// text is escaped.
func TestBarChart(t *testing.T) {
	c := Chart{ID: "b", Title: "预约<与>爽约", Desc: "每日预约数", Labels: []string{"2026-03-09", "2026-03-10", "2026-03-11"},
		Series: []Series{{Name: "预约", Values: []float64{8, 2, 0}}, {Name: "爽约", Values: []float64{1, 4, 3}, Cells: []string{"一", "四", "三"}}}}
	ns := parseChart(t, string(BarChart(c)))
	svg := having(ns, "svg", "")
	if len(svg) != 1 || svg[0].attrs["role"] != "img" || svg[0].attrs["aria-labelledby"] != "b-t b-d" {
		t.Fatalf("svg: %+v", svg)
	}
	if ti := having(ns, "title", ""); ti[0].attrs["id"] != "b-t" || ti[0].text != "预约<与>爽约" {
		t.Fatalf("title: %+v", ti[0])
	}
	if d := having(ns, "desc", ""); len(d) != 1 || d[0].attrs["id"] != "b-d" || d[0].text != "每日预约数" {
		t.Fatalf("desc: %+v", d)
	}
	bars := having(ns, "rect", "chart-bar")
	if len(bars) != 6 {
		t.Fatalf("%d bars, want 6", len(bars))
	}
	values := []float64{8, 2, 0, 1, 4, 3}
	// The axis top is 8 for a maximum of 8: heights are value/8 of the plot.
	for i, b := range bars {
		h, yy := attrF(t, b, "height"), attrF(t, b, "y")
		if want := values[i] / 8 * plotH; math.Abs(h-want) > 0.01 {
			t.Errorf("bar %d: height %v, want %v", i, h, want)
		}
		if math.Abs(yy+h-(chartTop+plotH)) > 0.01 {
			t.Errorf("bar %d does not stand on the axis: y %v height %v", i, yy, h)
		}
	}
	// Groups: the second series' bar of a label is right of the first's.
	for i := range 3 {
		if attrF(t, bars[3+i], "x") <= attrF(t, bars[i], "x") || (i > 0 && attrF(t, bars[i], "x") <= attrF(t, bars[3+i-1], "x")) {
			t.Errorf("label %d: bars not grouped left to right", i)
		}
	}
	if having(bars, "rect", "chart-s1")[0].attrs["class"] != "chart-bar chart-s1" {
		t.Fatal("the second series has no class of its own")
	}
	for _, n := range ns {
		if n.attrs["style"] != "" || n.name == "script" {
			t.Fatalf("inline style or script: %+v", n)
		}
	}
	var cells []string
	for _, n := range ns {
		if n.name == "td" || (n.name == "th" && n.attrs["scope"] == "row") {
			cells = append(cells, n.text)
		}
	}
	if got := strings.Join(cells, "|"); got != "2026-03-09|8|一|2026-03-10|2|四|2026-03-11|0|三" {
		t.Fatalf("table: %s", got)
	}
}

// TestLineChart: one polyline per series through a dot per value, the
// dots' heights proportional to the values.
func TestLineChart(t *testing.T) {
	c := Chart{ID: "l", Title: "等候", Labels: []string{"a", "b"},
		Series: []Series{{Name: "中位数", Values: []float64{12.5, 25}}, {Name: "P90", Values: []float64{40, 50}}}}
	ns := parseChart(t, string(LineChart(c)))
	if n := len(having(ns, "polyline", "chart-line")); n != 2 {
		t.Fatalf("%d lines", n)
	}
	dots := having(ns, "circle", "chart-dot")
	if len(dots) != 4 {
		t.Fatalf("%d dots", len(dots))
	}
	base := chartTop + plotH
	for i, v := range []float64{12.5, 25, 40, 50} { // axis top 50
		if h := base - attrF(t, dots[i], "cy"); math.Abs(h-v/50*plotH) > 0.01 {
			t.Errorf("dot %d at height %v, want %v", i, h, v/50*plotH)
		}
	}
}

// TestChartEmpty: no labels, or only zeros, says 暂无数据 and draws nothing.
func TestChartEmpty(t *testing.T) {
	for name, c := range map[string]Chart{
		"no labels": {ID: "e", Title: "空", Series: []Series{{Name: "x"}}},
		"zeros":     {ID: "e", Title: "空", Labels: []string{"a", "b"}, Series: []Series{{Name: "x", Values: []float64{0, 0}}}},
		"no series": {ID: "e", Title: "空", Labels: []string{"a"}},
	} {
		for kind, h := range map[string]string{"bar": string(BarChart(c)), "line": string(LineChart(c))} {
			ns := parseChart(t, h)
			e := having(ns, "text", "chart-empty")
			if len(e) != 1 || e[0].text != chartEmpty || len(having(ns, "rect", "")) != 0 || len(having(ns, "polyline", "")) != 0 {
				t.Errorf("%s %s: %s", name, kind, h)
			}
		}
	}
}

func TestChartTop(t *testing.T) {
	for _, tc := range []struct {
		max, top float64
		ticks    int
	}{{0, 1, 4}, {0.5, 1, 4}, {3, 4, 4}, {8, 8, 4}, {9, 10, 5}, {11, 20, 4}, {21, 25, 5}, {26, 40, 4}, {41, 50, 5},
		{100, 100, 4}, {12345, 20000, 4}, {81, 100, 5}} {
		c := Chart{Series: []Series{{Values: []float64{tc.max}}}}
		if got, ticks := c.top(); got != tc.top || ticks != tc.ticks {
			t.Errorf("max %v: top %v in %d steps, want %v in %d", tc.max, got, ticks, tc.top, tc.ticks)
		}
	}
}
