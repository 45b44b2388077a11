package emulators

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// compileLauncher compiles LoopbackDynamoDB.java once into cacheDir and returns the
// folder holding the class. Running the source file directly works too, but compiling
// it on every start costs seconds; the cache key covers the source and the classpath
// (the DynamoDB Local version), so an upgrade recompiles.
//
// It runs the compiler through the java launcher (module jdk.compiler), which a Java
// runtime image has even where the javac command is not installed.
func compileLauncher(java, source, classpath, cacheDir string) (string, error) {
	src, err := os.ReadFile(source)
	if err != nil {
		return "", fmt.Errorf("read DynamoDB Local launcher: %w", err)
	}
	h := sha256.New()
	h.Write(src)
	h.Write([]byte(classpath))
	dir := filepath.Join(cacheDir, hex.EncodeToString(h.Sum(nil))[:16])
	if isFile(filepath.Join(dir, "LoopbackDynamoDB.class")) {
		return dir, nil
	}
	if err := os.MkdirAll(cacheDir, 0o755); err != nil {
		return "", err
	}
	tmp, err := os.MkdirTemp(cacheDir, "compile-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	cmd := exec.Command(java, "--module", "jdk.compiler/com.sun.tools.javac.Main",
		"-nowarn", "-d", tmp, "-cp", classpath, source)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("compile %s (needs a Java 17 runtime with the jdk.compiler module): %w\n%s", source, err, tail(out.String(), 15))
	}
	// Rename is atomic: a concurrent start either sees no class or a complete one.
	if err := os.Rename(tmp, dir); err != nil && !isFile(filepath.Join(dir, "LoopbackDynamoDB.class")) {
		return "", fmt.Errorf("cache compiled launcher: %w", err)
	}
	return dir, nil
}
