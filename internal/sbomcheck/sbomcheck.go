package sbomcheck

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"
)

// Dir is this package's source directory, which holds package.json,
// package-lock.json, validate.js and (once installed) node_modules.
func Dir() (string, error) {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return "", errors.New("sbomcheck: cannot locate the package's directory")
	}
	return filepath.Dir(file), nil
}

var install struct {
	sync.Mutex
	done bool
}

// ensure checks node is on PATH and installs the locked npm packages with
// `npm ci` when node_modules is missing.
func ensure(ctx context.Context, dir string) error {
	if _, err := exec.LookPath("node"); err != nil {
		return errors.New("sbomcheck: node is not installed: install it (Debian: apt-get install nodejs npm), then run `npm ci` in internal/sbomcheck")
	}
	install.Lock()
	defer install.Unlock()
	if install.done {
		return nil
	}
	lib := filepath.Join(dir, "node_modules", "@cyclonedx", "cyclonedx-library", "package.json")
	if _, err := os.Stat(lib); err == nil {
		install.done = true
		return nil
	}
	// Test binaries of several packages may get here at once: one runs
	// npm ci under a lock file, the others wait for it.
	lock := filepath.Join(dir, ".npm-ci.lock")
	for start := time.Now(); ; time.Sleep(200 * time.Millisecond) {
		f, err := os.OpenFile(lock, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
		if err == nil {
			f.Close()
			defer os.Remove(lock)
			break
		}
		if _, err := os.Stat(lib); err == nil {
			install.done = true
			return nil
		}
		if time.Since(start) > 5*time.Minute {
			return fmt.Errorf("sbomcheck: %s has been held for 5 minutes; remove it if no npm ci is running, or run `npm ci` in internal/sbomcheck", lock)
		}
	}
	if _, err := os.Stat(lib); err == nil {
		install.done = true
		return nil
	}
	if _, err := exec.LookPath("npm"); err != nil {
		return errors.New("sbomcheck: the CycloneDX validator is not installed and npm is missing: install npm (Debian: apt-get install npm), then run `npm ci` in internal/sbomcheck")
	}
	cmd := exec.CommandContext(ctx, "npm", "ci", "--no-audit", "--no-fund")
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("sbomcheck: `npm ci` in internal/sbomcheck failed (run it by hand to install @cyclonedx/cyclonedx-library and ajv): %v\n%s", err, out)
	}
	install.done = true
	return nil
}

// ValidateEach is Validate with a verdict per file (nil for a valid one), in
// one run of the validator.
func ValidateEach(ctx context.Context, files ...string) (map[string]error, error) {
	dir, err := Dir()
	if err != nil {
		return nil, err
	}
	if err := ensure(ctx, dir); err != nil {
		return nil, err
	}
	abs := make([]string, len(files))
	for i, f := range files {
		if abs[i], err = filepath.Abs(f); err != nil {
			return nil, err
		}
	}
	cmd := exec.CommandContext(ctx, "node", append([]string{filepath.Join(dir, "validate.js")}, abs...)...)
	cmd.Dir = dir
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	runErr := cmd.Run()
	text := out.String()
	verdicts := map[string]error{}
	for i, f := range abs {
		start := strings.Index(text, f+": ")
		if start < 0 {
			return nil, fmt.Errorf("sbomcheck: the validator said nothing of %s: %v\n%s", f, runErr, text)
		}
		rest := text[start+len(f)+2:]
		end := len(rest)
		for _, g := range abs {
			if k := strings.Index(rest, "\n"+g+": "); k >= 0 && k < end {
				end = k
			}
		}
		if v := rest[:end]; !strings.HasPrefix(v, "ok ") {
			verdicts[files[i]] = fmt.Errorf("CycloneDX strict validation of %s failed: %s", files[i], strings.TrimSpace(v))
		} else {
			verdicts[files[i]] = nil
		}
	}
	return verdicts, nil
}

// Validate checks each CycloneDX JSON file with the CycloneDX project's
// strict JSON validator (JsonStrictValidator of @cyclonedx/cyclonedx-library,
// which runs ajv with ajv-formats against the schema of the file's
// specVersion). It returns the validator's report when a file is invalid.
func Validate(ctx context.Context, files ...string) error {
	verdicts, err := ValidateEach(ctx, files...)
	if err != nil {
		return err
	}
	var errs []error
	for _, f := range files {
		if verdicts[f] != nil {
			errs = append(errs, verdicts[f])
		}
	}
	return errors.Join(errs...)
}
