package main

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"

	"banshi/integrations"
	"banshi/internal/platform"
	"banshi/licences"
)

// licenceSigner is Banshi's SM2 key for licence show tokens and annotated
// copies: BANSHI_LICENCE_SM2_KEY when set; in development otherwise one
// minted once into <data dir>/keys/licences/ (shared by processes on the
// folder); in production otherwise none (nil: showing and copies answer 503),
// with a warning.
func licenceSigner(cfg platform.Config, log *slog.Logger) (*licences.Signer, error) {
	if cfg.LicenceSM2Key != "" {
		s, err := licences.NewSignerPEM(string(cfg.LicenceSM2Key))
		if err != nil {
			return nil, fmt.Errorf("BANSHI_LICENCE_SM2_KEY: %w", err)
		}
		return s, nil
	}
	if cfg.Production() {
		log.Warn("BANSHI_LICENCE_SM2_KEY is not set: licences cannot be shown or copied")
		return nil, nil
	}
	key, err := licences.LoadOrCreateDevKey(filepath.Join(cfg.DataDir, "keys", "licences", "banshi_sm2_key.pem"))
	if err != nil {
		return nil, err
	}
	return licences.NewSigner(key)
}

// seedDemoLicenceKey registers the in-process department simulator's SM2
// key on the demo integration, so the simulator's licences verify.
func (a *App) seedDemoLicenceKey(ctx context.Context, registry *integrations.Registry, publicURL string) error {
	if a.DeptSim == nil {
		return nil
	}
	pub, err := a.DeptSim.LicencePublicKey()
	if err != nil {
		return err
	}
	if _, err := registry.SetSM2Key(ctx, integrations.DemoID, pub); err != nil {
		return fmt.Errorf("seed demo integration sm2 key: %w", err)
	}
	a.DemoLines = append(a.DemoLines, "demo licences: the department simulator issues one, signed with its SM2 key: POST "+
		publicURL+"/sim/department/"+integrations.DemoID+`/licences {"licence":{"holder":{"name":"<name>","code":"<ID number>","code_type":"111"}}}`)
	return nil
}
