// Package deploy holds no code Banshi runs: it is the home of the deployment
// files (Dockerfile, compose.yaml, nginx.conf, mongo-init.js, kubernetes/)
// and of the tests that check them without a container runtime or a cluster.
//
// The tests load compose.yaml with compose-go (the loader docker compose
// itself uses), decode every Kubernetes manifest strictly into the k8s.io/api
// types its kind names (an unknown field or a wrong type fails), and assert
// what this project requires of a deployment: health checks and probes,
// non-root users, read-only root filesystems, resources, pinned image tags,
// start order, and secrets that come from the operator and are never
// committed.
//
// prometheus/alerts.yaml (alert rules) and grafana/banshi-dashboard.json are
// loaded by observability_test.go: the rules with Prometheus's own strict
// rule loader, every query parsed as PromQL, and every series they name
// checked against the registry Banshi builds (internal/observe and the API
// server), so a renamed series fails the test.
package deploy
