package main

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// The console's browser tests drive Debian's Chromium headless (chromedp
// finds `chromium` on the PATH and never downloads a browser). Without
// Chromium they are skipped, unless BANSHI_REQUIRE_BROWSER is set (CI sets
// it after installing chromium and fonts-wqy-microhei): then they fail.
// They need axe-core from `npm ci` as well.
// One browser serves every test; each test has its own tabs.

var (
	browserOnce  sync.Once
	browserAlloc context.Context
	browserErr   string
)

// browserTab returns a new tab of the shared browser, closed when t ends,
// saving a screenshot of the tab when t failed.
func browserTab(t *testing.T) context.Context {
	t.Helper()
	browserOnce.Do(func() {
		path, err := exec.LookPath("chromium")
		if err != nil {
			browserErr = "chromium is not on the PATH (apt-get install chromium fonts-wqy-microhei)"
			return
		}
		if _, err := os.Stat(axePath); err != nil {
			browserErr = "axe-core is missing: run npm ci at the repository root"
			return
		}
		opts := append(chromedp.DefaultExecAllocatorOptions[:],
			chromedp.ExecPath(path), chromedp.NoSandbox, chromedp.DisableGPU,
			chromedp.WindowSize(1366, 768), chromedp.Flag("lang", "zh-CN"))
		// The browser outlives each test: it is closed with the process.
		browserAlloc, _ = chromedp.NewExecAllocator(context.Background(), opts...)
	})
	if browserErr != "" {
		if os.Getenv("BANSHI_REQUIRE_BROWSER") != "" {
			t.Fatal(browserErr)
		}
		t.Skip(browserErr)
	}
	ctx, cancel := chromedp.NewContext(browserAlloc)
	ctx, cancelT := context.WithTimeout(ctx, 90*time.Second)
	if err := chromedp.Run(ctx); err != nil { // starts the browser or the tab
		cancelT()
		cancel()
		t.Fatalf("start chromium: %v", err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			saveScreenshot(t, ctx, t.Name())
		}
		cancelT()
		cancel()
	})
	return ctx
}

// secondTab opens another tab of the same browser as ctx.
func secondTab(t *testing.T, ctx context.Context) context.Context {
	t.Helper()
	tab, cancel := chromedp.NewContext(ctx)
	if err := chromedp.Run(tab); err != nil {
		cancel()
		t.Fatalf("open a second tab: %v", err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			saveScreenshot(t, tab, t.Name()+"-tab2")
		}
		cancel()
	})
	return tab
}

// saveScreenshot writes a full-page PNG of the tab to the test's artifact
// directory (BANSHI_SCREENSHOTS, or the temporary directory) and logs it.
func saveScreenshot(t *testing.T, ctx context.Context, name string) {
	dir := os.Getenv("BANSHI_SCREENSHOTS")
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "banshi-browser")
	}
	_ = os.MkdirAll(dir, 0o755)
	var png []byte
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := chromedp.Run(sctx, chromedp.FullScreenshot(&png, 90)); err != nil {
		t.Logf("no screenshot: %v", err)
		return
	}
	p := filepath.Join(dir, strings.NewReplacer("/", "_", " ", "_").Replace(name)+".png")
	if err := os.WriteFile(p, png, 0o644); err == nil {
		t.Logf("screenshot: %s", p)
	}
}

// axePath is axe-core as `npm ci` installs it (package.json pins it).
const axePath = "../../node_modules/axe-core/axe.min.js"

// axeViolations runs axe-core (installed by `npm ci`, pinned in
// package.json) on the tab's page and returns the WCAG 2 A/AA violations as
// "rule: target" lines.
func axeViolations(t *testing.T, ctx context.Context) []string {
	t.Helper()
	src, err := os.ReadFile(axePath)
	if err != nil {
		t.Fatalf("axe-core is missing (run npm ci at the repository root): %v", err)
	}
	var out string
	err = chromedp.Run(ctx,
		chromedp.Evaluate(string(src), nil),
		chromedp.Evaluate(`axe.run(document, {runOnly: {type: "tag", values: ["wcag2a", "wcag2aa"]}}).then(r =>
			JSON.stringify(r.violations.flatMap(v => v.nodes.map(n => v.id + ": " + n.target.join(" ")))))`, &out,
			awaitPromise))
	if err != nil {
		t.Fatalf("axe-core: %v", err)
	}
	var v []string
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatalf("axe-core result %q: %v", out, err)
	}
	return v
}

// awaitPromise makes chromedp.Evaluate wait for the promise the script
// returns.
func awaitPromise(p *runtime.EvaluateParams) *runtime.EvaluateParams { return p.WithAwaitPromise(true) }
