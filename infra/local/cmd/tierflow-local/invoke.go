package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"github.com/tierflow/tierflow/infra/local/emulators"
	"github.com/tierflow/tierflow/infra/local/gateway"
	"github.com/tierflow/tierflow/infra/local/stack"
)

// invoke talks to a running stack's admin API, or starts a throwaway stack for one call.
func invoke(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("invoke", flag.ExitOnError)
	fn := fs.String("fn", "", "function logical id, e.g. SweepFunction")
	eventFile := fs.String("event", "", "event JSON file ('-' = stdin; default {})")
	schedule := fs.String("schedule", "", "fire this schedule of the function instead (its Input is the event)")
	_ = fs.Parse(args)
	if *fn == "" {
		return errors.New("-fn is required (a function's logical id in template.yaml)")
	}
	payload := []byte("{}")
	var err error
	switch *eventFile {
	case "":
	case "-":
		payload, err = io.ReadAll(os.Stdin)
	default:
		payload, err = os.ReadFile(*eventFile)
	}
	if err != nil {
		return fmt.Errorf("read event: %w", err)
	}
	path := "/_local/invoke/" + url.PathEscape(*fn)
	if *schedule != "" {
		path = "/_local/schedules/" + url.PathEscape(*fn) + "/" + url.PathEscape(*schedule)
	}

	base, key := runningStack()
	if base == "" {
		fmt.Fprintln(os.Stderr, "no running stack found; starting a throwaway one...")
		st, err := stack.Start(ctx, stack.Options{Port: -1, NoSchedules: true})
		if err != nil {
			return err
		}
		defer st.Stop()
		base, key = st.URL, st.AdminKey
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+path, bytes.NewReader(payload))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(gateway.KeyHeader, key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var pretty bytes.Buffer
	if json.Indent(&pretty, body, "", "  ") == nil {
		body = pretty.Bytes()
	}
	fmt.Println(string(body))
	if resp.StatusCode != http.StatusOK || resp.Header.Get("X-Amz-Function-Error") != "" {
		fmt.Fprintf(os.Stderr, "invocation failed (%s %s)\n", resp.Status, resp.Header.Get("X-Amz-Function-Error"))
		return exitCode(1)
	}
	return nil
}

// runningStack returns the URL of a stack started by `run` that still answers, and the
// admin key it wrote beside its state file.
func runningStack() (url, key string) {
	root, err := emulators.FindRoot()
	if err != nil {
		return "", ""
	}
	state := filepath.Join(root, ".local")
	b, err := os.ReadFile(stack.StateFile(state))
	if err != nil {
		return "", ""
	}
	var st struct{ URL string }
	if json.Unmarshal(b, &st) != nil || st.URL == "" {
		return "", ""
	}
	c := &http.Client{Timeout: 2 * time.Second}
	resp, err := c.Get(st.URL + "/_local/status")
	if err != nil {
		return "", ""
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", ""
	}
	key, err = stack.ReadAdminKey(state)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
	}
	return st.URL, key
}
