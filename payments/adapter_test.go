package payments

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
	"time"

	"banshi/internal/platform"
)

func TestFillAdapterDefaults(t *testing.T) {
	var clock platform.Clock
	var log *slog.Logger
	var timeout, download time.Duration = 0, -1
	FillAdapterDefaults(&clock, &log, &timeout, &download)
	if clock == nil || log == nil || timeout != DefaultCallTimeout || download != DefaultDownloadTimeout {
		t.Fatalf("defaults not filled: %v %v %v %v", clock, log, timeout, download)
	}
	own := slog.New(slog.DiscardHandler)
	timeout, download = time.Second, time.Minute
	FillAdapterDefaults(&clock, &own, &timeout, &download)
	if timeout != time.Second || download != time.Minute || own == log {
		t.Fatal("settings given were replaced")
	}
}

func TestGopayLoggerKeepsWarningsAndErrors(t *testing.T) {
	var buf bytes.Buffer
	g := GopayLogger{Log: slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))}
	g.Debug("request body")
	g.Debugf("request %s", "body")
	g.Info("info")
	g.Infof("info %d", 1)
	g.Warn("warned")
	g.Warnf("warned %d", 2)
	g.Error("failed")
	g.Errorf("failed %d", 3)
	out := buf.String()
	if strings.Contains(out, "body") || strings.Contains(out, "info") || strings.Count(out, "\n") != 4 ||
		!strings.Contains(out, "warned 2") || !strings.Contains(out, "failed 3") {
		t.Fatalf("log:\n%s", out)
	}
}
