package emulators

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
)

// ErrNotInstalled is wrapped by errors about a missing tool (node, npm, java).
var ErrNotInstalled = errors.New("not installed")

// NpmCI is the command that installs the pinned emulators in the node folder.
const NpmCI = "npm ci --no-audit --no-fund --loglevel=error"

// EnsureInstalled checks that node is on PATH and that the packages package.json pins
// are installed in nodeDir/node_modules at those exact versions; if not, it runs
// `npm ci` there (serialised across processes, since test packages run in parallel).
func EnsureInstalled(nodeDir string) error {
	if _, err := exec.LookPath("node"); err != nil {
		return fmt.Errorf("node not found: install Node.js 20 (apt-get install nodejs npm): %w", ErrNotInstalled)
	}
	if missing, err := missingPackages(nodeDir); err != nil {
		return err
	} else if len(missing) == 0 {
		return nil
	}
	unlock, err := lockFile(nodeDir)
	if err != nil {
		return err
	}
	defer unlock()
	missing, err := missingPackages(nodeDir) // another process may have installed meanwhile
	if err != nil || len(missing) == 0 {
		return err
	}
	if _, err := exec.LookPath("npm"); err != nil {
		return fmt.Errorf("npm not found: install Node.js 20 with npm (apt-get install nodejs npm): %w", ErrNotInstalled)
	}
	args := strings.Fields(NpmCI)
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Dir = nodeDir
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("install emulators (%s in %s, for %s): %w\n%s", NpmCI, nodeDir, strings.Join(missing, ", "), err, tail(out.String(), 20))
	}
	if missing, err := missingPackages(nodeDir); err != nil {
		return err
	} else if len(missing) > 0 {
		return fmt.Errorf("after %s in %s still missing: %s", NpmCI, nodeDir, strings.Join(missing, ", "))
	}
	return nil
}

// missingPackages lists the dependencies of nodeDir/package.json that are not installed
// at their pinned version.
func missingPackages(nodeDir string) ([]string, error) {
	raw, err := os.ReadFile(filepath.Join(nodeDir, "package.json"))
	if err != nil {
		return nil, fmt.Errorf("read the emulators' package.json (is NodeDir right?): %w", err)
	}
	var pkg struct {
		Dependencies map[string]string `json:"dependencies"`
	}
	if err := json.Unmarshal(raw, &pkg); err != nil {
		return nil, fmt.Errorf("%s/package.json: %w", nodeDir, err)
	}
	var missing []string
	for name, want := range pkg.Dependencies {
		var got struct {
			Version string `json:"version"`
		}
		raw, err := os.ReadFile(filepath.Join(nodeDir, "node_modules", name, "package.json"))
		if err == nil {
			err = json.Unmarshal(raw, &got)
		}
		if err != nil || got.Version != want {
			missing = append(missing, name+"@"+want)
		}
	}
	return missing, nil
}

// lockFile takes an exclusive lock that is private to nodeDir and shared by every
// process on this machine.
func lockFile(nodeDir string) (unlock func(), err error) {
	abs, _ := filepath.Abs(nodeDir)
	h := fnv.New64a()
	h.Write([]byte(abs))
	path := filepath.Join(os.TempDir(), fmt.Sprintf("tierflow-npm-%x.lock", h.Sum64()))
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock for npm ci: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("lock for npm ci: %w", err)
	}
	return func() { syscall.Flock(int(f.Fd()), syscall.LOCK_UN); f.Close() }, nil
}

// FindRoot returns the project root: the nearest folder at or above the working
// directory that holds template.yaml and go.mod.
func FindRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if isFile(filepath.Join(dir, "template.yaml")) && isFile(filepath.Join(dir, "go.mod")) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("project root not found: no folder above the working directory has template.yaml and go.mod")
		}
		dir = parent
	}
}

func isFile(p string) bool { st, err := os.Stat(p); return err == nil && !st.IsDir() }

// tail returns the last n lines of s, indented, for error messages.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return "    " + strings.Join(lines, "\n    ")
}
