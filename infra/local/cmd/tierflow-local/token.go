package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tierflow/tierflow/infra/local/devjwt"
	"github.com/tierflow/tierflow/infra/local/emulators"
	"github.com/tierflow/tierflow/infra/local/samtemplate"
	"github.com/tierflow/tierflow/infra/local/stack"
	"github.com/tierflow/tierflow/shared/auth"
	"github.com/tierflow/tierflow/shared/model"
)

// token mints with the key in .local/jwt, which the running stack (or the next one)
// verifies with: no stack needs to be running.
func token(args []string) error {
	fs := flag.NewFlagSet("token", flag.ExitOnError)
	role := fs.String("role", "admin", "admin | clinician | agent")
	stores := fs.String("stores", "", "comma-separated store ids")
	sub := fs.String("sub", "", "subject (default local-<role>)")
	ttl := fs.Duration("ttl", 12*time.Hour, "lifetime")
	port := fs.Int("port", 0, "port of the stack the token is for (default $TIERFLOW_PORT or 3000)")
	_ = fs.Parse(args)
	if !model.Role(*role).Valid() {
		return fmt.Errorf("-role %q: want admin, clinician or agent", *role)
	}
	root, err := emulators.FindRoot()
	if err != nil {
		return err
	}
	if *port == 0 {
		*port = stack.DefaultPort
		if v := os.Getenv("TIERFLOW_PORT"); v != "" {
			if *port, err = strconv.Atoi(v); err != nil {
				return fmt.Errorf("TIERFLOW_PORT=%q is not a port number", v)
			}
		}
	}
	issuer := devjwt.IssuerURL(*port)
	tpl, err := samtemplate.Load(filepath.Join(root, "template.yaml"), map[string]string{"JwtIssuer": issuer})
	if err != nil {
		return err
	}
	iss, err := devjwt.Open(filepath.Join(root, ".local", "jwt"), issuer, tpl.Params["JwtAudience"])
	if err != nil {
		return err
	}
	var list []string
	for _, s := range strings.Split(*stores, ",") {
		if s = strings.TrimSpace(s); s != "" {
			list = append(list, s)
		}
	}
	if model.Role(*role) == model.RoleAgent && (slices.Contains(list, auth.AllStores) || len(list) > auth.DefaultMaxAgentStores) {
		fmt.Fprintf(os.Stderr, "note: the API refuses (403) an agent token for all stores or more than MAX_AGENT_STORES (default %d) stores\n", auth.DefaultMaxAgentStores)
	}
	tok, err := iss.Mint(*role, list, *sub, *ttl)
	if err != nil {
		return err
	}
	fmt.Println(tok)
	return nil
}
