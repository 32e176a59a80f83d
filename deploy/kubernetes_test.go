package deploy

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/compose-spec/compose-go/v2/loader"
	"github.com/compose-spec/compose-go/v2/types"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	kjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"
)

// kinds maps each kind the manifests may hold to its apiVersion and a new
// value of its k8s.io/api type. A Secret is not among them: Secrets are
// created by the operator, never committed.
var kinds = map[string]struct {
	apiVersion string
	new        func() any
}{
	"Deployment":              {"apps/v1", func() any { return &appsv1.Deployment{} }},
	"Service":                 {"v1", func() any { return &corev1.Service{} }},
	"ServiceAccount":          {"v1", func() any { return &corev1.ServiceAccount{} }},
	"ConfigMap":               {"v1", func() any { return &corev1.ConfigMap{} }},
	"Namespace":               {"v1", func() any { return &corev1.Namespace{} }},
	"Ingress":                 {"networking.k8s.io/v1", func() any { return &networkingv1.Ingress{} }},
	"NetworkPolicy":           {"networking.k8s.io/v1", func() any { return &networkingv1.NetworkPolicy{} }},
	"PodDisruptionBudget":     {"policy/v1", func() any { return &policyv1.PodDisruptionBudget{} }},
	"HorizontalPodAutoscaler": {"autoscaling/v2", func() any { return &autoscalingv2.HorizontalPodAutoscaler{} }},
}

// kustomization is the part of kustomize's Kustomization this repository
// uses, decoded strictly too: a misspelled or unexpected field fails (extend
// the struct to use another of kustomize's fields).
type kustomization struct {
	APIVersion string   `json:"apiVersion"`
	Kind       string   `json:"kind"`
	Namespace  string   `json:"namespace,omitempty"`
	Resources  []string `json:"resources,omitempty"`
	Labels     []struct {
		Pairs            map[string]string `json:"pairs"`
		IncludeSelectors bool              `json:"includeSelectors,omitempty"`
	} `json:"labels,omitempty"`
	Images []struct {
		Name    string `json:"name"`
		NewName string `json:"newName,omitempty"`
		NewTag  string `json:"newTag,omitempty"`
		Digest  string `json:"digest,omitempty"`
	} `json:"images,omitempty"`
	Patches []struct {
		Path string `json:"path"`
	} `json:"patches,omitempty"`
}

// object is one decoded manifest document.
type object struct {
	source string // file (and document number)
	kind   string
	value  any // pointer to the k8s.io/api type
}

var docSep = regexp.MustCompile(`(?m)^---[ \t]*$`)

// decodeManifests splits a YAML stream into documents and decodes each
// strictly into the type its kind names: unknown fields, duplicate keys,
// wrong types, unknown kinds and a wrong apiVersion are errors.
func decodeManifests(source string, data []byte) ([]object, error) {
	var out []object
	for i, doc := range docSep.Split(string(data), -1) {
		var meta struct {
			APIVersion string `json:"apiVersion"`
			Kind       string `json:"kind"`
		}
		if err := yaml.Unmarshal([]byte(doc), &meta); err != nil {
			return nil, fmt.Errorf("%s #%d: %w", source, i+1, err)
		}
		if meta.Kind == "" && meta.APIVersion == "" {
			if strings.TrimSpace(stripComments(doc)) != "" {
				return nil, fmt.Errorf("%s #%d: a document with no kind", source, i+1)
			}
			continue
		}
		k, ok := kinds[meta.Kind]
		if !ok {
			return nil, fmt.Errorf("%s #%d: kind %q is not one the deployment may hold", source, i+1, meta.Kind)
		}
		if meta.APIVersion != k.apiVersion {
			return nil, fmt.Errorf("%s #%d: %s has apiVersion %q, want %q", source, i+1, meta.Kind, meta.APIVersion, k.apiVersion)
		}
		v := k.new()
		if err := yaml.UnmarshalStrict([]byte(doc), v); err != nil {
			return nil, fmt.Errorf("%s #%d (%s): %w", source, i+1, meta.Kind, err)
		}
		// yaml.UnmarshalStrict decodes through encoding/json, which matches
		// field names case-insensitively (readOnlyRootFileSystem would pass);
		// the API server does not. Decode again as it does: case-sensitive,
		// unknown and duplicate fields reported.
		j, err := yaml.YAMLToJSONStrict([]byte(doc))
		if err != nil {
			return nil, fmt.Errorf("%s #%d (%s): %w", source, i+1, meta.Kind, err)
		}
		strictErrs, err := kjson.UnmarshalStrict(j, k.new(), kjson.DisallowUnknownFields, kjson.DisallowDuplicateFields)
		if err = errors.Join(append([]error{err}, strictErrs...)...); err != nil {
			return nil, fmt.Errorf("%s #%d (%s): %w", source, i+1, meta.Kind, err)
		}
		out = append(out, object{source: fmt.Sprintf("%s #%d", source, i+1), kind: meta.Kind, value: v})
	}
	return out, nil
}

func stripComments(doc string) string {
	var b strings.Builder
	for _, line := range strings.Split(doc, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(line), "#") {
			b.WriteString(line + "\n")
		}
	}
	return b.String()
}

// manifestFiles lists every YAML file under kubernetes/.
func manifestFiles(t *testing.T) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir("kubernetes", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && (strings.HasSuffix(p, ".yaml") || strings.HasSuffix(p, ".yml")) {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no manifests under kubernetes/")
	}
	return files
}

// decodeDir decodes every manifest directly in dir (not its kustomization).
func decodeDir(t *testing.T, dir string) []object {
	t.Helper()
	var all []object
	for _, f := range manifestFiles(t) {
		if filepath.Dir(f) != dir || filepath.Base(f) == "kustomization.yaml" {
			continue
		}
		objs, err := decodeManifests(f, []byte(readFile(t, f)))
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, objs...)
	}
	return all
}

func decodeKustomization(data []byte) (kustomization, error) {
	var k kustomization
	if err := yaml.UnmarshalStrict(data, &k); err != nil {
		return k, err
	}
	j, err := yaml.YAMLToJSONStrict(data)
	if err != nil {
		return k, err
	}
	strictErrs, err := kjson.UnmarshalStrict(j, &kustomization{}, kjson.DisallowUnknownFields, kjson.DisallowDuplicateFields)
	if err = errors.Join(append([]error{err}, strictErrs...)...); err != nil {
		return k, err
	}
	if k.APIVersion != "kustomize.config.k8s.io/v1beta1" || k.Kind != "Kustomization" {
		return k, fmt.Errorf("apiVersion %q kind %q, want kustomize.config.k8s.io/v1beta1 Kustomization", k.APIVersion, k.Kind)
	}
	return k, nil
}

// TestKubernetesManifestsDecodeStrictly: every file under kubernetes/ decodes
// strictly, manifests into their k8s.io/api types and kustomizations into
// ours; no Secret is committed.
func TestKubernetesManifestsDecodeStrictly(t *testing.T) {
	for _, f := range manifestFiles(t) {
		data := []byte(readFile(t, f))
		if filepath.Base(f) == "kustomization.yaml" {
			if _, err := decodeKustomization(data); err != nil {
				t.Errorf("%s: %v", f, err)
			}
			continue
		}
		if _, err := decodeManifests(f, data); err != nil {
			t.Error(err)
		}
	}
}

// TestKustomizationFilesExist: every resource and patch a kustomization
// names exists; a resource folder holds a kustomization; every manifest of a
// folder is used by its kustomization.
func TestKustomizationFilesExist(t *testing.T) {
	for _, f := range manifestFiles(t) {
		if filepath.Base(f) != "kustomization.yaml" {
			continue
		}
		k, err := decodeKustomization([]byte(readFile(t, f)))
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		dir := filepath.Dir(f)
		used := map[string]bool{}
		var paths []string
		paths = append(paths, k.Resources...)
		for _, p := range k.Patches {
			paths = append(paths, p.Path)
		}
		for _, p := range paths {
			full := filepath.Join(dir, p)
			used[full] = true
			st, err := os.Stat(full)
			switch {
			case err != nil:
				t.Errorf("%s names %s: %v", f, p, err)
			case st.IsDir():
				if _, err := os.Stat(filepath.Join(full, "kustomization.yaml")); err != nil {
					t.Errorf("%s names the folder %s, which has no kustomization.yaml", f, p)
				}
			}
		}
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			full := filepath.Join(dir, e.Name())
			if !e.IsDir() && strings.HasSuffix(e.Name(), ".yaml") && e.Name() != "kustomization.yaml" && !used[full] {
				t.Errorf("%s is not named by %s", full, f)
			}
		}
	}
}

// checkWorkloads asserts what every Banshi Deployment must have, and returns
// them by name.
func checkWorkloads(t *testing.T, objs []object, wantImage *regexp.Regexp) map[string]*appsv1.Deployment {
	t.Helper()
	deps := map[string]*appsv1.Deployment{}
	for _, o := range objs {
		d, ok := o.value.(*appsv1.Deployment)
		if !ok {
			continue
		}
		deps[d.Name] = d
		pod := d.Spec.Template.Spec
		psc := pod.SecurityContext
		if psc == nil || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot || psc.RunAsUser == nil || *psc.RunAsUser == 0 {
			t.Errorf("%s: the pod is not set to run as a non-root user", o.source)
		}
		if pod.AutomountServiceAccountToken == nil || *pod.AutomountServiceAccountToken {
			t.Errorf("%s: mounts a service-account token", o.source)
		}
		tmp := false
		for _, v := range pod.Volumes {
			if v.EmptyDir != nil {
				for _, c := range pod.Containers {
					for _, m := range c.VolumeMounts {
						tmp = tmp || (m.Name == v.Name && m.MountPath == "/tmp")
					}
				}
			}
		}
		if !tmp {
			t.Errorf("%s: /tmp is not an emptyDir", o.source)
		}
		for _, c := range pod.Containers {
			where := o.source + " container " + c.Name
			if why := pinnedImage(c.Image); why != "" {
				t.Errorf("%s: image %q %s", where, c.Image, why)
			}
			if wantImage != nil && !wantImage.MatchString(c.Image) {
				t.Errorf("%s: image %q, want %s", where, c.Image, wantImage)
			}
			sc := c.SecurityContext
			switch {
			case sc == nil:
				t.Errorf("%s: no securityContext", where)
			default:
				if sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
					t.Errorf("%s: root filesystem not read-only", where)
				}
				if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
					t.Errorf("%s: privilege escalation allowed", where)
				}
				if sc.Capabilities == nil || !slices.Contains(sc.Capabilities.Drop, "ALL") {
					t.Errorf("%s: capabilities not dropped (ALL)", where)
				}
			}
			for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
				if q, ok := c.Resources.Requests[r]; !ok || q.IsZero() {
					t.Errorf("%s: no %s request", where, r)
				}
				if q, ok := c.Resources.Limits[r]; !ok || q.IsZero() {
					t.Errorf("%s: no %s limit", where, r)
				}
			}
			if c.LivenessProbe == nil || c.StartupProbe == nil || c.ReadinessProbe == nil {
				t.Errorf("%s: liveness, startup and readiness probes are not all set", where)
			}
			for _, p := range []struct {
				name  string
				probe *corev1.Probe
				path  string
			}{{"readiness", c.ReadinessProbe, "/readyz"}, {"liveness", c.LivenessProbe, "/healthz"}, {"startup", c.StartupProbe, "/healthz"}} {
				if p.probe != nil && (p.probe.HTTPGet == nil || p.probe.HTTPGet.Path != p.path) {
					t.Errorf("%s: %s probe is not GET %s", where, p.name, p.path)
				}
			}
			refs := map[string]bool{}
			for _, e := range c.EnvFrom {
				if e.SecretRef != nil {
					refs["secret/"+e.SecretRef.Name] = true
				}
				if e.ConfigMapRef != nil {
					refs["configmap/"+e.ConfigMapRef.Name] = true
				}
			}
			if !refs["secret/banshi-secrets"] || !refs["configmap/banshi-config"] {
				t.Errorf("%s: envFrom %v lacks secret banshi-secrets or configmap banshi-config", where, refs)
			}
		}
	}
	for _, name := range []string{"banshi-api", "banshi-worker"} {
		if deps[name] == nil {
			t.Errorf("no Deployment %s", name)
		}
	}
	return deps
}

// TestKubernetesBase: the base's workloads are hardened and probed, and the
// Service, Ingress, PDB, HPA and NetworkPolicies point at what exists.
func TestKubernetesBase(t *testing.T) {
	objs := decodeDir(t, filepath.Join("kubernetes", "base"))
	deps := checkWorkloads(t, objs, nil)
	api, worker := deps["banshi-api"], deps["banshi-worker"]
	if api == nil || worker == nil {
		t.FailNow()
	}
	if got := api.Spec.Template.Spec.Containers[0].Args; !slices.Equal(got, []string{"serve"}) {
		t.Errorf("api args %v, want serve", got)
	}
	if got := worker.Spec.Template.Spec.Containers[0].Args; !slices.Equal(got, []string{"worker"}) {
		t.Errorf("worker args %v, want worker", got)
	}
	if c := api.Spec.Template.Spec.Containers[0]; c.Lifecycle == nil || c.Lifecycle.PreStop == nil {
		t.Error("api: no preStop pause before SIGTERM")
	}
	apiLabels := api.Spec.Template.Labels
	matches := func(sel map[string]string) bool {
		if len(sel) == 0 {
			return false
		}
		for k, v := range sel {
			if apiLabels[k] != v {
				return false
			}
		}
		return true
	}
	seen := map[string]bool{}
	services := map[string]*corev1.Service{}
	for _, o := range objs {
		seen[o.kind] = true
		switch v := o.value.(type) {
		case *corev1.Service:
			services[v.Name] = v
			if !matches(v.Spec.Selector) {
				t.Errorf("Service %s does not select the API pods", v.Name)
			}
		case *policyv1.PodDisruptionBudget:
			if v.Spec.Selector == nil || !matches(v.Spec.Selector.MatchLabels) {
				t.Errorf("PDB %s does not select the API pods", v.Name)
			}
		case *autoscalingv2.HorizontalPodAutoscaler:
			if v.Spec.ScaleTargetRef.Kind != "Deployment" || v.Spec.ScaleTargetRef.Name != api.Name {
				t.Errorf("HPA %s scales %v, want Deployment %s", v.Name, v.Spec.ScaleTargetRef, api.Name)
			}
			if v.Spec.MinReplicas == nil || *v.Spec.MinReplicas < 2 || v.Spec.MaxReplicas < *v.Spec.MinReplicas {
				t.Errorf("HPA %s: replicas %v..%d", v.Name, v.Spec.MinReplicas, v.Spec.MaxReplicas)
			}
		case *networkingv1.NetworkPolicy:
			if !slices.Contains(v.Spec.PolicyTypes, networkingv1.PolicyTypeIngress) || !slices.Contains(v.Spec.PolicyTypes, networkingv1.PolicyTypeEgress) {
				t.Errorf("NetworkPolicy %s does not restrict both ingress and egress", v.Name)
			}
		}
	}
	for _, o := range objs {
		if ing, ok := o.value.(*networkingv1.Ingress); ok {
			for _, r := range ing.Spec.Rules {
				for _, p := range r.HTTP.Paths {
					svc := services[p.Backend.Service.Name]
					if svc == nil {
						t.Errorf("Ingress %s routes to the unknown Service %s", ing.Name, p.Backend.Service.Name)
						continue
					}
					if !slices.ContainsFunc(svc.Spec.Ports, func(sp corev1.ServicePort) bool { return sp.Name == p.Backend.Service.Port.Name }) {
						t.Errorf("Ingress %s routes to port %q, which Service %s lacks", ing.Name, p.Backend.Service.Port.Name, svc.Name)
					}
					if p.Path != "/api/" && p.Path != "/console/" {
						t.Errorf("Ingress %s exposes %s: only /api/ and /console/ are public", ing.Name, p.Path)
					}
				}
			}
		}
	}
	for _, k := range []string{"Deployment", "Service", "Ingress", "NetworkPolicy", "ConfigMap", "PodDisruptionBudget", "HorizontalPodAutoscaler"} {
		if !seen[k] {
			t.Errorf("the base has no %s", k)
		}
	}
}

// kustomize renders a kustomization with `kubectl kustomize` (no cluster
// involved), or skips the test when kubectl is not installed.
func kustomize(t *testing.T, dir string) []byte {
	t.Helper()
	kubectl, err := exec.LookPath("kubectl")
	if err != nil {
		t.Skip("kubectl is not installed: the rendered overlay is not checked")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, kubectl, "kustomize", dir)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("kubectl kustomize %s: %v\n%s", dir, err, stderr.String())
	}
	return out
}

// TestKubernetesProductionOverlay renders the production overlay as
// `kubectl apply -k` would and checks the result strictly: the pinned image,
// the namespace, the host and the sizes.
func TestKubernetesProductionOverlay(t *testing.T) {
	out := kustomize(t, filepath.Join("kubernetes", "overlays", "production"))
	objs, err := decodeManifests("rendered production overlay", out)
	if err != nil {
		t.Fatal(err)
	}
	deps := checkWorkloads(t, objs, regexp.MustCompile(`^registry\.example\.gov\.cn/banshi/banshi:1\.0\.0$`))
	if d := deps["banshi-api"]; d != nil && (d.Spec.Replicas == nil || *d.Spec.Replicas < 3) {
		t.Errorf("production API replicas %v, want at least 3", d.Spec.Replicas)
	}
	for _, o := range objs {
		switch v := o.value.(type) {
		case *corev1.Namespace:
			if v.Labels["pod-security.kubernetes.io/enforce"] != "restricted" {
				t.Errorf("namespace %s does not enforce the restricted Pod Security Standard", v.Name)
			}
		case *networkingv1.Ingress:
			if v.Namespace != "banshi" || len(v.Spec.Rules) != 1 || v.Spec.Rules[0].Host != "banshi.prod.example.gov.cn" {
				t.Errorf("Ingress %s/%s rules %+v", v.Namespace, v.Name, v.Spec.Rules)
			}
		case *corev1.ConfigMap:
			if v.Data["BANSHI_PUBLIC_URL"] != "https://banshi.prod.example.gov.cn" || v.Data["BANSHI_ENV"] != "production" {
				t.Errorf("ConfigMap %s: public URL %q, env %q", v.Name, v.Data["BANSHI_PUBLIC_URL"], v.Data["BANSHI_ENV"])
			}
		case *appsv1.Deployment:
			if v.Namespace != "banshi" {
				t.Errorf("Deployment %s in namespace %q", v.Name, v.Namespace)
			}
		}
	}
}

// TestStrictDecodingCatchesTypos: the checks above would catch a typo. A
// misspelled field, a wrong type, a duplicated key or a misspelled
// kustomization field each fail to decode; so does a misspelled compose key.
func TestStrictDecodingCatchesTypos(t *testing.T) {
	deployment := readFile(t, filepath.Join("kubernetes", "base", "api-deployment.yaml"))
	if _, err := decodeManifests("api-deployment.yaml", []byte(deployment)); err != nil {
		t.Fatalf("the unchanged manifest must decode: %v", err)
	}
	for _, c := range []struct{ name, from, to, want string }{
		{"misspelled field", "readinessProbe:", "readinesProbe:", "unknown field"},
		{"misspelled nested field", "allowPrivilegeEscalation: false", "allowPrivilegeEscalaton: false", "unknown field"},
		{"field in the wrong case", "readOnlyRootFilesystem: true", "readOnlyRootFileSystem: true", "unknown field"},
		{"wrong type", "replicas: 2", `replicas: "two"`, "cannot unmarshal"},
		{"duplicate key", "  replicas: 2\n", "  replicas: 2\n  replicas: 3\n", "already set"},
	} {
		t.Run(c.name, func(t *testing.T) {
			bad := strings.Replace(deployment, c.from, c.to, 1)
			if bad == deployment {
				t.Fatalf("api-deployment.yaml has no %q to change", c.from)
			}
			_, err := decodeManifests("api-deployment.yaml", []byte(bad))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %v, want one containing %q", err, c.want)
			}
		})
	}
	t.Run("misspelled kustomization field", func(t *testing.T) {
		k := readFile(t, filepath.Join("kubernetes", "overlays", "production", "kustomization.yaml"))
		bad := strings.Replace(k, "patches:", "patchs:", 1)
		if _, err := decodeKustomization([]byte(bad)); err == nil || !strings.Contains(err.Error(), "unknown field") {
			t.Errorf("error %v, want an unknown field", err)
		}
	})
	t.Run("committed Secret", func(t *testing.T) {
		_, err := decodeManifests("secret.yaml", []byte("apiVersion: v1\nkind: Secret\nmetadata:\n  name: banshi-secrets\n"))
		if err == nil || !strings.Contains(err.Error(), `kind "Secret"`) {
			t.Errorf("error %v, want the Secret refused", err)
		}
	})
	t.Run("misspelled compose key", func(t *testing.T) {
		compose := readFile(t, "compose.yaml")
		bad := strings.Replace(compose, "  read_only: true", "  read_onyl: true", 1)
		if bad == compose {
			t.Fatal("compose.yaml has no read_only to misspell")
		}
		_, err := loader.LoadWithContext(context.Background(), types.ConfigDetails{
			WorkingDir:  ".",
			ConfigFiles: []types.ConfigFile{{Filename: "compose.yaml", Content: []byte(bad)}},
			Environment: operatorEnv(t),
		}, func(o *loader.Options) { o.SetProjectName("banshi", true) })
		if err == nil || !strings.Contains(err.Error(), "read_onyl") {
			t.Errorf("error %v, want one naming read_onyl", err)
		}
	})
}
