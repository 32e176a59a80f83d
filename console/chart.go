package console

import (
	"cmp"
	"fmt"
	"html/template"
	"math"
	"strconv"
	"strings"
)

// Charts drawn on the server as SVG: no script, no inline style (the CSP
// allows neither), colours from classes in static/console.css (chart-s0,
// chart-s1, …). Each chart is an <svg role="img"> named by its <title> and
// <desc>, followed by a <table> of the same figures, which is what screen
// readers and the tests read.

// Series is one named row of values, one per label. Cells, when set, is
// what the table shows for each value (exact fen where the bars are yuan);
// otherwise the value itself.
type Series struct {
	Name   string
	Values []float64
	Cells  []string
}

// Chart is what a chart shows. ID must be unique on the page (it names the
// title and description elements). Tick formats an axis value (nil: the
// number with up to one decimal); Unit is shown above the axis.
type Chart struct {
	ID     string
	Title  string
	Head   string // the table's first column heading (default 日期)
	Desc   string
	Unit   string
	Labels []string
	Series []Series
	// Extra are further columns of the table only (not drawn): counts
	// behind a drawn figure, for example. Their Cells are shown.
	Extra []Series
	Tick  func(float64) string
}

// Geometry of every chart, in SVG user units.
const (
	chartW      = 640.0
	chartH      = 260.0
	chartLeft   = 64.0
	chartRight  = 16.0
	chartTop    = 28.0
	chartBottom = 48.0
	plotW       = chartW - chartLeft - chartRight
	plotH       = chartH - chartTop - chartBottom
)

// chartEmpty is what a chart with nothing to show says.
const chartEmpty = "暂无数据"

// empty reports whether c has nothing to draw: no labels, no series, or
// only zeros.
func (c Chart) empty() bool {
	for _, s := range c.Series {
		for _, v := range s.Values {
			if v != 0 {
				return len(c.Labels) == 0
			}
		}
	}
	return true
}

// top is the axis maximum and its number of gridline steps: the largest
// value rounded up to 1, 2, 2.5, 4, 5 or 8 times a power of ten, at least
// 1, in steps that are round (2.5, 5 and 10 in fifths, the others in
// quarters).
func (c Chart) top() (float64, int) {
	m := 0.0
	for _, s := range c.Series {
		for _, v := range s.Values {
			m = math.Max(m, v)
		}
	}
	if m <= 1 {
		return 1, 4
	}
	p := math.Pow(10, math.Floor(math.Log10(m)))
	for _, f := range []float64{1, 2, 2.5, 4, 5, 8} {
		if f*p >= m {
			if f == 2.5 || f == 5 {
				return f * p, 5
			}
			return f * p, 4
		}
	}
	return 10 * p, 5
}

func (c Chart) tick(v float64) string {
	if c.Tick != nil {
		return c.Tick(v)
	}
	return num(v)
}

// num is v with at most one decimal.
func num(v float64) string { return strconv.FormatFloat(math.Round(v*10)/10, 'f', -1, 64) }

// coord is an SVG coordinate with two decimals at most.
func coord(v float64) string { return strconv.FormatFloat(math.Round(v*100)/100, 'f', -1, 64) }

var esc = template.HTMLEscapeString

// BarChart draws c's series as grouped bars, one group per label.
func BarChart(c Chart) template.HTML { return c.draw(true) }

// LineChart draws c's series as lines with a dot at every value.
func LineChart(c Chart) template.HTML { return c.draw(false) }

func (c Chart) draw(bars bool) template.HTML {
	var b strings.Builder
	id := esc(c.ID)
	fmt.Fprintf(&b, `<figure class="chart"><svg role="img" aria-labelledby="%s-t %s-d" viewBox="0 0 %s %s" width="%s" height="%s" xmlns="http://www.w3.org/2000/svg">`,
		id, id, coord(chartW), coord(chartH), coord(chartW), coord(chartH))
	fmt.Fprintf(&b, `<title id="%s-t">%s</title><desc id="%s-d">%s</desc>`, id, esc(c.Title), id, esc(c.Desc))
	if c.empty() {
		fmt.Fprintf(&b, `<text class="chart-empty" x="%s" y="%s" text-anchor="middle">%s</text></svg>`,
			coord(chartW/2), coord(chartH/2), chartEmpty)
	} else {
		c.axes(&b)
		if bars {
			c.bars(&b)
		} else {
			c.lines(&b)
		}
		c.legend(&b)
		b.WriteString(`</svg>`)
	}
	c.table(&b)
	b.WriteString(`</figure>`)
	return template.HTML(b.String()) // every text above is escaped
}

// y is the SVG y of value v under the axis maximum top.
func y(v, top float64) float64 { return chartTop + plotH - v/top*plotH }

func (c Chart) axes(b *strings.Builder) {
	top, ticks := c.top()
	if c.Unit != "" {
		fmt.Fprintf(b, `<text class="chart-unit" x="%s" y="16">%s</text>`, coord(chartLeft-8), esc(c.Unit))
	}
	for i := 0; i <= ticks; i++ {
		v := top * float64(i) / float64(ticks)
		yy := coord(y(v, top))
		fmt.Fprintf(b, `<line class="chart-grid" x1="%s" y1="%s" x2="%s" y2="%s"/>`, coord(chartLeft), yy, coord(chartLeft+plotW), yy)
		fmt.Fprintf(b, `<text class="chart-tick" x="%s" y="%s" text-anchor="end">%s</text>`, coord(chartLeft-6), coord(y(v, top)+4), esc(c.tick(v)))
	}
	n := len(c.Labels)
	step := max(1, (n+13)/14) // at most 14 labels under the axis
	gw := plotW / float64(n)
	for i, l := range c.Labels {
		if i%step != 0 {
			continue
		}
		if len(l) == 10 && l[4] == '-' { // YYYY-MM-DD: MM-DD
			l = l[5:]
		}
		fmt.Fprintf(b, `<text class="chart-tick" x="%s" y="%s" text-anchor="middle">%s</text>`,
			coord(chartLeft+gw*(float64(i)+0.5)), coord(chartTop+plotH+18), esc(l))
	}
}

func (c Chart) bars(b *strings.Builder) {
	top, _ := c.top()
	gw := plotW / float64(len(c.Labels))
	bw := gw * 0.8 / float64(len(c.Series))
	for si, s := range c.Series {
		for i := range c.Labels {
			v := at(s.Values, i)
			h := v / top * plotH
			fmt.Fprintf(b, `<rect class="chart-bar chart-s%d" x="%s" y="%s" width="%s" height="%s" data-value="%s"><title>%s %s：%s</title></rect>`,
				si%6, coord(chartLeft+gw*float64(i)+gw*0.1+bw*float64(si)), coord(y(v, top)), coord(bw), coord(h), num(v),
				esc(c.Labels[i]), esc(s.Name), esc(cell(s, i)))
		}
	}
}

func (c Chart) lines(b *strings.Builder) {
	top, _ := c.top()
	gw := plotW / float64(len(c.Labels))
	for si, s := range c.Series {
		var pts []string
		for i := range c.Labels {
			pts = append(pts, coord(chartLeft+gw*(float64(i)+0.5))+","+coord(y(at(s.Values, i), top)))
		}
		fmt.Fprintf(b, `<polyline class="chart-line chart-s%d" points="%s"/>`, si%6, strings.Join(pts, " "))
		for i := range c.Labels {
			v := at(s.Values, i)
			fmt.Fprintf(b, `<circle class="chart-dot chart-s%d" cx="%s" cy="%s" r="3" data-value="%s"><title>%s %s：%s</title></circle>`,
				si%6, coord(chartLeft+gw*(float64(i)+0.5)), coord(y(v, top)), num(v), esc(c.Labels[i]), esc(s.Name), esc(cell(s, i)))
		}
	}
}

func (c Chart) legend(b *strings.Builder) {
	x := chartLeft
	for si, s := range c.Series {
		fmt.Fprintf(b, `<rect class="chart-key chart-s%d" x="%s" y="%s" width="12" height="12"/>`, si%6, coord(x), coord(chartH-18))
		fmt.Fprintf(b, `<text class="chart-legend" x="%s" y="%s">%s</text>`, coord(x+16), coord(chartH-8), esc(s.Name))
		x += 24 + 14*float64(len([]rune(s.Name)))
	}
}

// table writes the figures as a table: a row per label, a column per series.
func (c Chart) table(b *strings.Builder) {
	fmt.Fprintf(b, `<table class="chart-data" id="%s-table"><caption>%s（数据）</caption><thead><tr><th scope="col">%s</th>`, esc(c.ID), esc(c.Title), esc(cmp.Or(c.Head, "日期")))
	cols := append(append([]Series(nil), c.Series...), c.Extra...)
	for _, s := range cols {
		fmt.Fprintf(b, `<th scope="col">%s</th>`, esc(s.Name))
	}
	b.WriteString(`</tr></thead><tbody>`)
	for i, l := range c.Labels {
		fmt.Fprintf(b, `<tr><th scope="row">%s</th>`, esc(l))
		for _, s := range cols {
			fmt.Fprintf(b, `<td>%s</td>`, esc(cell(s, i)))
		}
		b.WriteString(`</tr>`)
	}
	if len(c.Labels) == 0 {
		fmt.Fprintf(b, `<tr><td colspan="%d">%s</td></tr>`, len(cols)+1, chartEmpty)
	}
	b.WriteString(`</tbody></table>`)
}

func at(xs []float64, i int) float64 {
	if i < len(xs) {
		return xs[i]
	}
	return 0
}

func cell(s Series, i int) string {
	if i < len(s.Cells) {
		return s.Cells[i]
	}
	return num(at(s.Values, i))
}
