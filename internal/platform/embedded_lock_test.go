package platform

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"
)

// TestEmbeddedEngineRefusesASharedDataFolder: a second embedded engine over
// the same data folder would make the single-connection rule (DESIGN.md)
// worthless, since each engine has its own connection to the same SQLite
// files. While one Banshi holds the folder, the second OpenMongo must refuse
// with a clear error; once the first closes, the folder is free again.
func TestEmbeddedEngineRefusesASharedDataFolder(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dir := t.TempDir()
	log := slog.New(slog.DiscardHandler)
	first, err := OpenMongo(ctx, "", "db", dir, log)
	if err != nil {
		t.Fatal(err)
	}
	second, err := OpenMongo(ctx, "", "db", dir, log)
	if err == nil {
		_ = second.Close(ctx)
		_ = first.Close(ctx)
		t.Fatal("a second embedded engine started over the same data folder")
	}
	if !errors.Is(err, ErrDataDirInUse) || !strings.Contains(err.Error(), dir) || !strings.Contains(err.Error(), "MONGODB_URI") {
		t.Errorf("error = %v; want ErrDataDirInUse naming the folder and the way out", err)
	}
	if err := first.Close(ctx); err != nil {
		t.Fatal(err)
	}
	again, err := OpenMongo(ctx, "", "db", dir, log)
	if err != nil {
		t.Fatalf("folder still locked after the first engine closed: %v", err)
	}
	_ = again.Close(ctx)
}
