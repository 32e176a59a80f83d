package main

import (
	"context"
	"flag"
	"fmt"

	"banshi/enterprises"
	"banshi/internal/account"
	"banshi/internal/platform"
	"banshi/licences"
)

// defineRotatePII is `banshi rotate-pii-key`: re-seal every sealed PII field
// under the current key of the keyring (BANSHI_PII_KEY, BANSHI_PII_KEYS),
// while Banshi serves. See account.RotatePII.
func defineRotatePII(fs *flag.FlagSet, e env) func(context.Context) error {
	batch := fs.Int("batch", 200, "documents re-sealed per batch (the lease is renewed and the progress stored after each)")
	return func(ctx context.Context) error {
		if *batch <= 0 || *batch > 10000 {
			return usageError{"rotate-pii-key: --batch must be 1 to 10000"}
		}
		cfg, err := platform.LoadConfig(e.getenv)
		if err != nil {
			return err
		}
		if err := cfg.CheckProduction(); err != nil {
			return err
		}
		if err := cfg.FillDevSecrets(); err != nil {
			return err
		}
		piiKey, err := cfg.PIIKey.Key32()
		if err != nil {
			return fmt.Errorf("BANSHI_PII_KEY: %w", err)
		}
		cipher, err := account.KeyringFromConfig(piiKey, string(cfg.PIIKeys), cfg.PIISealKey)
		if err != nil {
			return err
		}
		mdb, err := platform.OpenMongo(ctx, string(cfg.MongoURI), cfg.MongoDatabase, cfg.DataDir, e.log)
		if err != nil {
			return err
		}
		defer mdb.Close(context.WithoutCancel(ctx))
		clock := platform.SystemClock{}
		targets := []account.SealedCollection{
			account.NewStore(mdb.DB, cipher, clock).SealedPII(),
			enterprises.SealedPII(mdb.DB),
			licences.SealedPII(mdb.DB),
		}
		fmt.Fprintf(e.stdout, "re-sealing PII under key %s (keyring %v)\n", cipher.CurrentKeyID(), cipher.KeyIDs())
		counts, err := account.RotatePII(ctx, mdb.DB, platform.NewLeases(mdb.DB, clock), cipher, targets,
			account.RotateOptions{Batch: *batch}, e.log)
		for _, c := range counts {
			fmt.Fprintf(e.stdout, "%s: read %d, re-sealed %d, already current %d, changed meanwhile %d, failed %d\n",
				c.Collection, c.Read, c.Resealed, c.Current, c.Skipped, c.Failed)
		}
		if err != nil {
			return fmt.Errorf("rotate-pii-key stopped (run it again to resume): %w", err)
		}
		fmt.Fprintln(e.stdout, "done")
		return nil
	}
}
