package main

import (
	"context"
	"encoding/json"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/cueprint/cueprint/server/auth"
)

// runKeys manages API keys directly in the store directory's key ring; it
// works while the daemon runs (the ring is a separate, locked file).
func runKeys(_ context.Context, e *env, args []string) error {
	if len(args) == 0 {
		return fmt.Errorf("%w: want create, list or revoke ID", errUsage)
	}
	sub := args[0]
	if sub == "-h" || sub == "-help" || sub == "--help" || sub == "help" {
		sub, args = "list", []string{"list", "-h"} // the flag set's usage lists every subcommand
	}
	fs := newFlagSet(e, "keys "+sub, "keys create --db DIR --role admin|registrar|matcher|monitor --tenant NAME [--name LABEL]\n       cueprint keys list --db DIR [--json]\n       cueprint keys revoke --db DIR ID")
	db := dbFlag(fs)
	role := fs.String("role", "", "the key's `role`: admin, registrar, matcher or monitor")
	tenant := fs.String("tenant", "", "the key's tenant (account) `name`")
	name := fs.String("name", "", "a label for people")
	asJSON := fs.Bool("json", false, "print JSON (list)")
	pos, err := e.parseFlags(fs, args[1:])
	if err != nil {
		return err
	}
	// Check the arguments before touching the directory: a mistake
	// creates nothing.
	switch {
	case sub == "create" && (len(pos) != 0 || *role == "" || *tenant == ""):
		return fmt.Errorf("%w: create needs --role and --tenant and no arguments", errUsage)
	case sub == "list" && len(pos) != 0:
		return fmt.Errorf("%w: list takes no arguments", errUsage)
	case sub == "revoke" && len(pos) != 1:
		return fmt.Errorf("%w: revoke takes exactly one key ID", errUsage)
	case sub != "create" && sub != "list" && sub != "revoke":
		return fmt.Errorf("%w: unknown keys command %q (want create, list or revoke)", errUsage, sub)
	}
	// Only create makes a store directory: list and revoke on a mistyped
	// --db say so rather than creating an empty one.
	if sub != "create" {
		if err := storeDirExists(*db); err != nil {
			return err
		}
	}
	ring, err := auth.Open(*db)
	if err != nil {
		return err
	}
	switch sub {
	case "create":
		if len(pos) != 0 || *role == "" || *tenant == "" {
			return fmt.Errorf("%w: create needs --role and --tenant and no arguments", errUsage)
		}
		k, secret, err := ring.Create(auth.Role(*role), *tenant, *name)
		if err != nil {
			return fmt.Errorf("%w: %v", errUsage, err)
		}
		// The key alone on stdout, so scripts can capture it; it is never
		// shown again.
		fmt.Fprintln(e.stdout, secret)
		fmt.Fprintf(e.stderr, "created %s key %s for tenant %s; store it now, it cannot be shown again\n", k.Role, k.ID, k.Tenant)
		return nil
	case "list":
		if len(pos) != 0 {
			return fmt.Errorf("%w: list takes no arguments", errUsage)
		}
		keys, err := ring.List()
		if err != nil {
			return err
		}
		if *asJSON {
			for i := range keys {
				keys[i].Hash = ""
			}
			return json.NewEncoder(e.stdout).Encode(keys)
		}
		tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tROLE\tTENANT\tNAME\tCREATED\tREVOKED")
		for _, k := range keys {
			rev := "-"
			if k.RevokedAt != nil {
				rev = k.RevokedAt.Format(time.RFC3339)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", k.ID, k.Role, k.Tenant, k.Name, k.CreatedAt.Format(time.RFC3339), rev)
		}
		return tw.Flush()
	case "revoke":
		if len(pos) != 1 {
			return fmt.Errorf("%w: revoke takes exactly one key ID", errUsage)
		}
		k, err := ring.Revoke(pos[0])
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stderr, "revoked key %s (%s, tenant %s)\n", k.ID, k.Role, k.Tenant)
		return nil
	}
	return fmt.Errorf("%w: unknown keys command %q (want create, list or revoke)", errUsage, sub)
}
