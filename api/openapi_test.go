package api

import (
	"bufio"
	"bytes"
	"regexp"
	"sort"
	"strings"
	"testing"

	"banshi/internal/platform/platformtest"
)

// documentedRoutes reads "METHOD /path" pairs from openapi.yaml: paths are
// two-space-indented keys under "paths:", methods four-space-indented keys.
func documentedRoutes(t *testing.T) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	inPaths := false
	path := ""
	pathRe := regexp.MustCompile(`^  (/[^:]*):\s*$`)
	methodRe := regexp.MustCompile(`^    (get|put|post|delete|patch):`)
	sc := bufio.NewScanner(bytes.NewReader(openapiYAML))
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, " ") && line != "" {
			inPaths = line == "paths:"
			continue
		}
		if !inPaths {
			continue
		}
		if m := pathRe.FindStringSubmatch(line); m != nil {
			path = m[1]
		} else if m := methodRe.FindStringSubmatch(line); m != nil {
			out[strings.ToUpper(m[1])+" "+path] = true
		}
	}
	return out
}

// TestOpenAPICoversEveryRoute fails when a registered route is missing from
// openapi.yaml or the document names a route that does not exist.
func TestOpenAPICoversEveryRoute(t *testing.T) {
	rdb, prefix := platformtest.Redis(t)
	s := New(Deps{Log: platformtest.Logger(), Redis: rdb, RedisPrefix: prefix, Features: testFeatures()})
	doc := documentedRoutes(t)
	param := regexp.MustCompile(`:([a-z_]+)`)
	registered := map[string]bool{}
	for _, r := range s.Echo().Routes() {
		if strings.HasPrefix(r.Path, "/sim/") || r.Method == "echo_route_not_found" || strings.HasSuffix(r.Path, "/*") {
			continue
		}
		registered[r.Method+" "+param.ReplaceAllString(r.Path, "{$1}")] = true
	}
	var missing, extra []string
	for k := range registered {
		if !doc[k] {
			missing = append(missing, k)
		}
	}
	for k := range doc {
		if !registered[k] {
			extra = append(extra, k)
		}
	}
	sort.Strings(missing)
	sort.Strings(extra)
	if len(missing) > 0 {
		t.Errorf("routes missing from openapi.yaml:\n  %s", strings.Join(missing, "\n  "))
	}
	if len(extra) > 0 {
		t.Errorf("openapi.yaml documents routes that do not exist:\n  %s", strings.Join(extra, "\n  "))
	}
	if len(registered) < 10 {
		t.Fatalf("only %d routes registered", len(registered))
	}
}
