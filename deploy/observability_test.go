package deploy

import (
	"encoding/json"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"

	"banshi/api"
	"banshi/internal/observe"
	"banshi/internal/platform"
	"banshi/internal/platform/platformtest"
)

// externalSeries are the series the rules and the dashboard may name that
// Banshi does not register: Prometheus's own `up`, kube-state-metrics'
// readiness, and the Go and process collectors' series that the API
// server registers (checked below against its registry too).
var externalSeries = map[string]string{
	"up":                    "Prometheus (scrape health)",
	"kube_pod_status_ready": "kube-state-metrics (readiness probe results)",
}

// recorder is a Registerer that remembers the names of the series
// registered through it before passing them on.
type recorder struct {
	prometheus.Registerer
	names map[string]bool
}

var fqName = regexp.MustCompile(`fqName: "([^"]+)"`)

func (r *recorder) Register(c prometheus.Collector) error {
	ch := make(chan *prometheus.Desc, 16)
	go func() { c.Describe(ch); close(ch) }()
	for d := range ch {
		if m := fqName.FindStringSubmatch(d.String()); m != nil {
			r.names[m[1]] = true
		}
	}
	return r.Registerer.Register(c)
}

func (r *recorder) MustRegister(cs ...prometheus.Collector) {
	for _, c := range cs {
		if err := r.Register(c); err != nil {
			panic(err)
		}
	}
}

// banshiSeries returns the names of every series Banshi's /metrics can
// show, built as cmd/banshi builds its registry: the business and outbox
// series (internal/observe) and the API server's own (HTTP, Go runtime,
// process), the latter read from one request's scrape.
func banshiSeries(t *testing.T) map[string]bool {
	t.Helper()
	reg := prometheus.NewRegistry()
	rec := &recorder{Registerer: reg, names: map[string]bool{}}
	observe.Register(rec, nil)
	platform.NewBreakerMetrics(rec)         // cmd/banshi registers the breakers' series on the same registry
	rec.names["banshi_outbox_depth"] = true // a scrape-time collector, left out without an outbox
	srv := api.New(api.Deps{Log: platformtest.Logger(), Registry: reg})
	srv.Handler().ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/no-such-route", nil))
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	names := rec.names
	for _, mf := range mfs {
		names[mf.GetName()] = true
	}
	for _, want := range []string{"banshi_http_requests_total", "banshi_http_request_duration_seconds", "banshi_appointment_bookings_total", "go_goroutines"} {
		if !names[want] {
			t.Fatalf("the registry as built here lacks %s: the test no longer sees Banshi's series", want)
		}
	}
	return names
}

// known reports whether a selector's metric name is one of names: itself, or
// a histogram's _bucket, _sum or _count series.
func known(names map[string]bool, name string) bool {
	if names[name] || externalSeries[name] != "" {
		return true
	}
	for _, suffix := range []string{"_bucket", "_sum", "_count"} {
		if base, ok := strings.CutSuffix(name, suffix); ok && names[base] {
			return true
		}
	}
	return false
}

// selectors parses expr and returns the metric names its selectors name; a
// selector without a name fails the test (it would match anything).
func selectors(t *testing.T, where, expr string) []string {
	t.Helper()
	e, err := parser.ParseExpr(expr)
	if err != nil {
		t.Errorf("%s: %v\n%s", where, err, expr)
		return nil
	}
	var out []string
	parser.Inspect(e, func(n parser.Node, _ []parser.Node) error {
		if vs, ok := n.(*parser.VectorSelector); ok {
			name := vs.Name
			for _, m := range vs.LabelMatchers {
				if m.Name == labels.MetricName && m.Type == labels.MatchEqual {
					name = m.Value
				}
			}
			if name == "" {
				t.Errorf("%s: selector %s names no metric", where, vs)
			}
			out = append(out, name)
		}
		return nil
	})
	return out
}

// TestAlertRules loads deploy/prometheus/alerts.yaml with Prometheus's own
// rule loader (strict: an unknown field, a bad template or expression
// fails), and checks that every rule names only series Banshi registers,
// has a severity and a summary, and that names are unique.
func TestAlertRules(t *testing.T) {
	names := banshiSeries(t)
	groups, errs := rulefmt.ParseFile("prometheus/alerts.yaml")
	for _, err := range errs {
		t.Error(err)
	}
	if len(errs) > 0 {
		t.FailNow()
	}
	seen := map[string]bool{}
	n := 0
	for _, g := range groups.Groups {
		for _, r := range g.Rules {
			n++
			name := r.Alert.Value
			if name == "" {
				t.Errorf("group %s: a rule that is not an alert (%s)", g.Name, r.Expr.Value)
				continue
			}
			if seen[name] {
				t.Errorf("alert %s defined twice", name)
			}
			seen[name] = true
			if s := r.Labels["severity"]; s != "page" && s != "ticket" {
				t.Errorf("%s: severity %q, want page or ticket", name, s)
			}
			if r.Annotations["summary"] == "" || r.Annotations["description"] == "" {
				t.Errorf("%s: summary and description are required", name)
			}
			for _, m := range selectors(t, "alert "+name, r.Expr.Value) {
				if !known(names, m) {
					t.Errorf("alert %s names %s, which Banshi does not register", name, m)
				}
			}
		}
	}
	for _, want := range []string{"BanshiHigh5xxRatio", "BanshiSlowP99", "BanshiOutboxBacklog", "BanshiOutboxDeadLettersGrowing", "BanshiOutboxFailuresGrowing",
		"BanshiPaymentCallbacksRefused", "BanshiReconciliationDiscrepancies", "BanshiNoBookingsDuringOpeningHours", "BanshiNotReady"} {
		if !seen[want] {
			t.Errorf("alert %s missing", want)
		}
	}
	t.Logf("%d alerts checked", n)
}

// dashboard is the part of a Grafana dashboard this test reads, decoded
// with unknown fields allowed (Grafana's model is large) but the panels'
// queries required.
type dashboard struct {
	Title      string  `json:"title"`
	UID        string  `json:"uid"`
	Panels     []panel `json:"panels"`
	Templating struct {
		List []struct {
			Name  string `json:"name"`
			Query any    `json:"query"`
		} `json:"list"`
	} `json:"templating"`
}

type panel struct {
	ID      int    `json:"id"`
	Type    string `json:"type"`
	Title   string `json:"title"`
	Targets []struct {
		RefID string `json:"refId"`
		Expr  string `json:"expr"`
	} `json:"targets"`
	Panels []panel `json:"panels"`
}

// grafanaVars replaces the dashboard variables Grafana fills in with values
// PromQL accepts.
var grafanaVars = strings.NewReplacer("$__rate_interval", "5m", "$__interval", "1m", "$__range", "1d")

// TestDashboard decodes deploy/grafana/banshi-dashboard.json, parses every
// panel's query as PromQL and checks it names only series Banshi registers;
// panel IDs are unique, and the HTTP, outbox and business series all have
// panels.
func TestDashboard(t *testing.T) {
	names := banshiSeries(t)
	raw, err := os.ReadFile("grafana/banshi-dashboard.json")
	if err != nil {
		t.Fatal(err)
	}
	var d dashboard
	if err := json.Unmarshal(raw, &d); err != nil {
		t.Fatal(err)
	}
	if d.Title == "" || d.UID == "" || len(d.Panels) == 0 {
		t.Fatalf("dashboard without title, uid or panels")
	}
	ids := map[int]bool{}
	used := map[string]bool{}
	var walk func(ps []panel)
	walk = func(ps []panel) {
		for _, p := range ps {
			if ids[p.ID] {
				t.Errorf("panel id %d used twice", p.ID)
			}
			ids[p.ID] = true
			if p.Type != "row" && len(p.Targets) == 0 {
				t.Errorf("panel %q has no query", p.Title)
			}
			for _, tg := range p.Targets {
				for _, m := range selectors(t, "panel "+p.Title+" "+tg.RefID, grafanaVars.Replace(tg.Expr)) {
					used[m] = true
					if !known(names, m) {
						t.Errorf("panel %q names %s, which Banshi does not register", p.Title, m)
					}
				}
			}
			walk(p.Panels)
		}
	}
	walk(d.Panels)
	for _, v := range d.Templating.List {
		if q, ok := v.Query.(map[string]any); ok {
			if s, _ := q["query"].(string); strings.HasPrefix(s, "label_values(") {
				metric := strings.TrimSpace(strings.SplitN(strings.TrimPrefix(s, "label_values("), ",", 2)[0])
				if !known(names, metric) {
					t.Errorf("variable %s reads %s, which Banshi does not register", v.Name, metric)
				}
			}
		}
	}
	// Every Banshi series has a panel, so a new one is not forgotten.
	for _, n := range slices.Sorted(maps.Keys(names)) {
		if !strings.HasPrefix(n, "banshi_") {
			continue
		}
		if !used[n] && !used[n+"_bucket"] {
			t.Errorf("no panel shows %s", n)
		}
	}
}
