package stack_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/tierflow/tierflow/infra/local/gateway"
	"github.com/tierflow/tierflow/infra/local/proctree"
	"github.com/tierflow/tierflow/infra/local/stack"
)

// TestStackRoundTripAndCleanStop starts the real stack (emulators, the template's
// functions built from source, gateway, mappings), exercises each door in, and checks
// that Stop leaves nothing listening.
func TestStackRoundTripAndCleanStop(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	state := t.TempDir()
	st, err := stack.Start(ctx, stack.Options{Port: -1, StateDir: state, BinDir: t.TempDir(), Build: true, NoSchedules: true})
	if err != nil {
		t.Fatal(err)
	}
	stopped := false
	defer func() {
		if !stopped {
			st.Stop()
		}
	}()

	get := func(path, token string) (int, string) {
		req, err := http.NewRequest("GET", st.URL+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatalf("GET %s: read the body: %v", path, err)
		}
		return resp.StatusCode, string(b)
	}
	// The health route is answered by the function, which asks DynamoDB, SQS and SES
	// in the emulators: all three must answer.
	if code, body := get("/v1/health", ""); code != 200 || strings.Count(body, `"status":"ok"`) != 4 {
		t.Errorf("health: %d %s", code, body)
	}
	if code, _ := get("/v1/customers", ""); code != 401 {
		t.Errorf("staff route without a token: %d, want 401", code)
	}
	tok, err := st.MintToken("admin", []string{"s1"}, "", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if code, body := get("/v1/customers", tok); code == 401 || code == 502 {
		t.Errorf("staff route with a token: %d %s", code, body)
	}
	if _, err := st.Invoke(ctx, "SweepFunction", []byte(`{"action":"sweep"}`)); err != nil {
		t.Errorf("invoke: %v", err)
	}
	if _, err := st.Invoke(ctx, "sweep", []byte(`{}`)); err != nil {
		t.Errorf("invoke by folder name: %v", err)
	}
	if _, err := st.FireSchedule(ctx, "SweepFunction", "Every5Minutes"); err != nil {
		t.Errorf("fire schedule: %v", err)
	}

	// The admin door: the CLI's path (key read from the state folder) works, a caller
	// without the key is refused, and the key file is the owner's only.
	key, err := stack.ReadAdminKey(state)
	if err != nil || key != st.AdminKey {
		t.Fatalf("admin key file: %q %v, stack holds %q", key, err, st.AdminKey)
	}
	if fi, err := os.Stat(stack.AdminKeyFile(state)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("admin key file mode: %v %v, want 0600", fi.Mode(), err)
	}
	post := func(path, key string) int {
		req, err := http.NewRequest("POST", st.URL+path, strings.NewReader(`{"action":"sweep"}`))
		if err != nil {
			t.Fatal(err)
		}
		if key != "" {
			req.Header.Set(gateway.KeyHeader, key)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := post("/_local/invoke/SweepFunction", ""); code != 401 {
		t.Errorf("admin invoke without the key: %d, want 401", code)
	}
	if code := post("/_local/invoke/SweepFunction", key); code != 200 {
		t.Errorf("admin invoke with the key from %s: %d, want 200", stack.AdminKeyFile(state), code)
	}

	ports := []string{st.URL, st.Emulators.DynamoDB, st.Emulators.SQS, st.Emulators.SES}
	// Every process the stack started, by id: the emulators and the functions' processes.
	procs, err := proctree.Descendants(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	comms := map[string]int{}
	for _, p := range procs {
		comms[p.Comm]++
	}
	if comms["java"] < 1 || comms["node"] < 2 || comms["bootstrap"] < 1 {
		t.Fatalf("the stack's processes are %+v: want DynamoDB Local (java), two node emulators and function processes (bootstrap)", procs)
	}
	if err := st.Stop(); err != nil {
		t.Fatal(err)
	}
	stopped = true
	for _, u := range ports {
		addr := strings.TrimPrefix(u, "http://")
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			t.Errorf("%s still listening after Stop", addr)
		}
	}
	for _, p := range proctree.StillRunning(procs) {
		t.Errorf("%s (pid %d) still runs after Stop", p.Comm, p.PID)
	}
}

func TestPortInUseSaysWhatToDo(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	_, err = stack.Start(context.Background(), stack.Options{Port: port, StateDir: t.TempDir()})
	if err == nil || !strings.Contains(err.Error(), "TIERFLOW_PORT=") {
		t.Fatalf("err = %v, want one line naming TIERFLOW_PORT", err)
	}
}
