package deploy

import (
	"context"
	"os"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/loader"
	"github.com/compose-spec/compose-go/v2/types"
)

// requiredVarRe finds the variables compose.yaml requires (${VAR:?message}).
var requiredVarRe = regexp.MustCompile(`\$\{([A-Z0-9_]+):\?`)

// anyVarRe finds every variable compose.yaml interpolates (not $$ escapes).
var anyVarRe = regexp.MustCompile(`(?:^|[^$])\$\{([A-Z0-9_]+)`)

func readFile(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// composeValues is compose.yaml without its comment lines.
func composeValues(t *testing.T) string {
	t.Helper()
	var b strings.Builder
	for _, line := range strings.Split(readFile(t, "compose.yaml"), "\n") {
		if !strings.HasPrefix(strings.TrimSpace(line), "#") {
			b.WriteString(line + "\n")
		}
	}
	return b.String()
}

// requiredVars lists, sorted and once each, the variables compose.yaml
// refuses to start without.
func requiredVars(t *testing.T) []string {
	t.Helper()
	seen := map[string]bool{}
	for _, m := range requiredVarRe.FindAllStringSubmatch(composeValues(t), -1) {
		seen[m[1]] = true
	}
	var vars []string
	for v := range seen {
		vars = append(vars, v)
	}
	sort.Strings(vars)
	return vars
}

// operatorEnv is an environment giving every required variable a value, as
// an operator's would.
func operatorEnv(t *testing.T) map[string]string {
	t.Helper()
	env := map[string]string{}
	for _, v := range requiredVars(t) {
		env[v] = "test" + strings.ToLower(strings.ReplaceAll(v, "_", ""))
	}
	env["BANSHI_PUBLIC_URL"] = "https://banshi.example.gov.cn"
	env["BANSHI_FCM_CREDENTIALS_FILE"] = "/etc/banshi/fcm.json"
	return env
}

// loadCompose loads compose.yaml as `docker compose config` does, with env
// as the operator's environment.
func loadCompose(env map[string]string) (*types.Project, error) {
	return loader.LoadWithContext(context.Background(), types.ConfigDetails{
		WorkingDir:  ".",
		ConfigFiles: []types.ConfigFile{{Filename: "compose.yaml"}},
		Environment: env,
	}, func(o *loader.Options) { o.SetProjectName("banshi", true) })
}

func mustLoadCompose(t *testing.T) *types.Project {
	t.Helper()
	p, err := loadCompose(operatorEnv(t))
	if err != nil {
		t.Fatalf("compose.yaml does not load: %v", err)
	}
	return p
}

// banshiServices are the services running the Banshi image.
var banshiServices = []string{"api", "worker"}

func TestComposeServices(t *testing.T) {
	p := mustLoadCompose(t)
	want := []string{"api", "mongo-init", "mongo1", "mongo2", "mongo3", "proxy",
		"redis-master", "redis-replica", "sentinel1", "sentinel2", "sentinel3", "worker"}
	got := p.ServiceNames()
	sort.Strings(got)
	if !slices.Equal(got, want) {
		t.Fatalf("services %v, want %v", got, want)
	}
	for name, replicas := range map[string]int{"api": 2, "worker": 1} {
		s := p.Services[name]
		if s.Deploy == nil || s.Deploy.Replicas == nil || *s.Deploy.Replicas != replicas {
			t.Errorf("%s: replicas %v, want %d", name, s.Deploy, replicas)
		}
	}
	if got := p.Services["api"].Command; !slices.Equal(got, []string{"serve"}) {
		t.Errorf("api runs %v, want serve", got)
	}
	if got := p.Services["worker"].Command; !slices.Equal(got, []string{"worker"}) {
		t.Errorf("worker runs %v, want worker", got)
	}
}

// TestComposeBanshiHardened: the Banshi containers run as the image's
// non-root user on a read-only root filesystem, writable only in a tmpfs
// holding BANSHI_DATA_DIR, with no capabilities.
func TestComposeBanshiHardened(t *testing.T) {
	p := mustLoadCompose(t)
	for _, name := range banshiServices {
		s := p.Services[name]
		if !s.ReadOnly {
			t.Errorf("%s: read_only is not set", name)
		}
		if u := s.User; u == "" || u == "0" || strings.HasPrefix(u, "0:") || strings.HasPrefix(u, "root") {
			t.Errorf("%s: user %q is not a non-root user", name, u)
		}
		if !slices.ContainsFunc(s.Tmpfs, func(m string) bool { return strings.HasPrefix(m, "/tmp") }) {
			t.Errorf("%s: no tmpfs on /tmp (tmpfs %v)", name, s.Tmpfs)
		}
		if d := s.Environment["BANSHI_DATA_DIR"]; d == nil || !strings.HasPrefix(*d, "/tmp/") {
			t.Errorf("%s: BANSHI_DATA_DIR %v is not under the /tmp tmpfs", name, d)
		}
		if !slices.Contains(s.CapDrop, "ALL") {
			t.Errorf("%s: cap_drop %v lacks ALL", name, s.CapDrop)
		}
		if e := s.Environment["BANSHI_ENV"]; e == nil || *e != "production" {
			t.Errorf("%s: BANSHI_ENV %v, want production", name, e)
		}
		hc := s.HealthCheck
		if hc == nil || !slices.Equal([]string(hc.Test), []string{"CMD", "/banshi", "healthcheck"}) {
			t.Errorf("%s: healthcheck %v, want [CMD /banshi healthcheck]", name, hc)
		}
	}
}

// TestComposeStoresWired: Banshi reaches MongoDB as the replica set of the
// three mongo services and Redis through the three Sentinels.
func TestComposeStoresWired(t *testing.T) {
	p := mustLoadCompose(t)
	for _, name := range banshiServices {
		env := p.Services[name].Environment
		if env["MONGODB_URI"] == nil || env["REDIS_URL"] == nil {
			t.Fatalf("%s: MONGODB_URI or REDIS_URL is not set", name)
		}
		mongo := *env["MONGODB_URI"]
		for _, want := range []string{"mongo1:27017,mongo2:27017,mongo3:27017/", "replicaSet=rs0"} {
			if !strings.Contains(mongo, want) {
				t.Errorf("%s: MONGODB_URI lacks %q", name, want)
			}
		}
		redis := *env["REDIS_URL"]
		if !strings.HasPrefix(redis, "redis-sentinel://") || !strings.Contains(redis, "@sentinel1:26379,sentinel2:26379,sentinel3:26379?master=banshi") {
			t.Errorf("%s: REDIS_URL is not the three Sentinels of master banshi", name)
		}
	}
	for _, s := range []string{"sentinel1", "sentinel2", "sentinel3"} {
		if !strings.Contains(strings.Join(p.Services[s].Entrypoint, " "), "redis-server /data/sentinel.conf --sentinel") {
			t.Errorf("%s does not run redis-server --sentinel", s)
		}
	}
}

// isOneShot reports whether a service is a job others wait for to finish
// (service_completed_successfully) rather than a server.
func isOneShot(p *types.Project, name string) bool {
	for _, s := range p.Services {
		if d, ok := s.DependsOn[name]; ok && d.Condition == types.ServiceConditionCompletedSuccessfully {
			return p.Services[name].Restart == "no"
		}
	}
	return false
}

// TestComposeHealthAndOrder: every server has a health check; every
// dependency waits for its target to be healthy (or, for the one-shot
// replica-set initiation, to have succeeded), never merely started.
func TestComposeHealthAndOrder(t *testing.T) {
	p := mustLoadCompose(t)
	for name, s := range p.Services {
		if isOneShot(p, name) {
			if s.HealthCheck != nil {
				t.Errorf("%s: a one-shot job with a health check", name)
			}
			continue
		}
		if s.HealthCheck == nil || s.HealthCheck.Disable || len(s.HealthCheck.Test) == 0 {
			t.Errorf("%s: no health check", name)
		}
		for dep, d := range s.DependsOn {
			switch d.Condition {
			case types.ServiceConditionHealthy:
				if p.Services[dep].HealthCheck == nil {
					t.Errorf("%s waits for %s to be healthy, which has no health check", name, dep)
				}
			case types.ServiceConditionCompletedSuccessfully:
			default:
				t.Errorf("%s depends on %s with condition %q", name, dep, d.Condition)
			}
		}
	}
	for _, name := range banshiServices {
		deps := p.Services[name].DependsOn
		want := map[string]string{
			"mongo-init":   types.ServiceConditionCompletedSuccessfully,
			"redis-master": types.ServiceConditionHealthy,
			"sentinel1":    types.ServiceConditionHealthy,
			"sentinel2":    types.ServiceConditionHealthy,
			"sentinel3":    types.ServiceConditionHealthy,
		}
		for dep, cond := range want {
			if deps[dep].Condition != cond {
				t.Errorf("%s: depends_on %s %q, want %q", name, dep, deps[dep].Condition, cond)
			}
		}
	}
	if c := p.Services["proxy"].DependsOn["api"].Condition; c != types.ServiceConditionHealthy {
		t.Errorf("proxy waits for api %q, want service_healthy", c)
	}
	for _, m := range []string{"mongo1", "mongo2", "mongo3"} {
		if c := p.Services["mongo-init"].DependsOn[m].Condition; c != types.ServiceConditionHealthy {
			t.Errorf("mongo-init waits for %s %q, want service_healthy", m, c)
		}
	}
	if !isOneShot(p, "mongo-init") {
		t.Error("mongo-init is not a one-shot job the Banshi services wait for")
	}
}

// pinnedImage reports why an image reference is not pinned, or "".
func pinnedImage(ref string) string {
	if strings.Contains(ref, "@sha256:") {
		return ""
	}
	name := ref[strings.LastIndex(ref, "/")+1:]
	i := strings.LastIndex(name, ":")
	if i < 0 {
		return "has no tag"
	}
	if tag := name[i+1:]; tag == "" || tag == "latest" {
		return "is tagged " + tag
	}
	return ""
}

func TestComposeImagesPinned(t *testing.T) {
	p := mustLoadCompose(t)
	for name, s := range p.Services {
		if s.Image == "" {
			t.Errorf("%s has no image", name)
			continue
		}
		if why := pinnedImage(s.Image); why != "" {
			t.Errorf("%s: image %q %s", name, s.Image, why)
		}
	}
}

// TestComposeRequiresSecrets: every secret comes from the operator's
// environment; without one, loading fails naming it, and
// banshi.env.example lists each with an empty value.
func TestComposeRequiresSecrets(t *testing.T) {
	vars := requiredVars(t)
	for _, v := range []string{"MONGO_ROOT_PASSWORD", "MONGO_BANSHI_PASSWORD", "MONGO_REPLICA_KEY", "REDIS_PASSWORD",
		"BANSHI_PII_KEY", "BANSHI_SESSION_SECRET", "BANSHI_CHECKIN_KEY", "BANSHI_WECHAT_MINI_SECRET", "BANSHI_WECHAT_APP_SECRET"} {
		if !slices.Contains(vars, v) {
			t.Errorf("compose.yaml does not require %s from the environment", v)
		}
	}
	for _, v := range vars {
		env := operatorEnv(t)
		delete(env, v)
		_, err := loadCompose(env)
		if err == nil || !strings.Contains(err.Error(), v) {
			t.Errorf("without %s: error %v, want one naming it", v, err)
		}
	}
	example := readFile(t, "banshi.env.example")
	for _, m := range anyVarRe.FindAllStringSubmatch(composeValues(t), -1) {
		if !regexp.MustCompile(`(?m)^` + m[1] + `=$`).MatchString(example) {
			t.Errorf("banshi.env.example does not list %s= (empty)", m[1])
		}
	}
	if regexp.MustCompile(`(?m)^[A-Z0-9_]+=.+$`).MatchString(example) {
		t.Error("banshi.env.example carries a value; it must list names only")
	}
}

// TestDockerfile: the image is built by the pinned Go toolchain into a static
// binary on distroless, runs as a numeric non-root user and checks its own
// health with banshi healthcheck.
func TestDockerfile(t *testing.T) {
	d := readFile(t, "Dockerfile")
	var froms []string
	for _, line := range strings.Split(d, "\n") {
		if f := strings.Fields(line); len(f) >= 2 && strings.EqualFold(f[0], "FROM") {
			froms = append(froms, f[1])
		}
	}
	if want := []string{"golang:1.26.8-bookworm", "gcr.io/distroless/static-debian12:nonroot"}; !slices.Equal(froms, want) {
		t.Errorf("FROM %v, want %v", froms, want)
	}
	for _, want := range []string{
		"CGO_ENABLED=0",
		"USER 65532:65532",
		`CMD ["/banshi", "healthcheck"]`,
		`ENTRYPOINT ["/banshi"]`,
		"BANSHI_DATA_DIR=/tmp/",
	} {
		if !strings.Contains(d, want) {
			t.Errorf("Dockerfile lacks %q", want)
		}
	}
	ignore := readFile(t, "../.dockerignore")
	for _, want := range []string{".git", ".banshi", "node_modules"} {
		if !slices.Contains(strings.Fields(ignore), want) {
			t.Errorf(".dockerignore lacks %s", want)
		}
	}
}
