package main

import (
	"regexp"
	"sort"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// documentedRoutes parses openapi.yaml and returns its "METHOD /path" pairs.
// It also fails the test when a $ref points at nothing.
func documentedRoutes(t *testing.T, openapiYAML []byte) map[string]bool {
	t.Helper()
	var doc map[string]any
	if err := yaml.Unmarshal(openapiYAML, &doc); err != nil {
		t.Fatalf("openapi.yaml does not parse: %v", err)
	}
	if v, _ := doc["openapi"].(string); !strings.HasPrefix(v, "3.") {
		t.Fatalf("openapi version %q", v)
	}
	checkRefs(t, doc, doc)
	out := map[string]bool{}
	paths, _ := doc["paths"].(map[string]any)
	for path, ops := range paths {
		for method := range ops.(map[string]any) {
			switch method {
			case "get", "put", "post", "delete", "patch":
				out[strings.ToUpper(method)+" "+path] = true
			}
		}
	}
	return out
}

// checkRefs walks v and resolves every local $ref against doc.
func checkRefs(t *testing.T, doc map[string]any, v any) {
	switch x := v.(type) {
	case map[string]any:
		for k, sub := range x {
			if k == "$ref" {
				ref, _ := sub.(string)
				var cur any = doc
				for _, part := range strings.Split(strings.TrimPrefix(ref, "#/"), "/") {
					m, _ := cur.(map[string]any)
					cur = m[part]
				}
				if cur == nil {
					t.Errorf("openapi.yaml: $ref %q points at nothing", ref)
				}
				continue
			}
			checkRefs(t, doc, sub)
		}
	case []any:
		for _, sub := range x {
			checkRefs(t, doc, sub)
		}
	}
}

// TestOpenAPICoversEveryRoute fails when a route of the wired application is
// missing from openapi.yaml (as served at /api/openapi.yaml) or the document
// names a route that does not exist. The routes come from the application as
// main wires it, so a new feature cannot skip the contract.
func TestOpenAPICoversEveryRoute(t *testing.T) {
	st := getStack(t)
	doc := documentedRoutes(t, st.must(t, 200, st.call(t, "GET", "/api/openapi.yaml", "", nil)).Raw)
	s := st.app.HTTP
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
