package sbomcheck

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The validator must refuse what the schema refuses, or a passing SBOM
// test would prove nothing.
func TestValidateRefusesInvalid(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.cdx.json")
	if err := os.WriteFile(good, []byte(`{"bomFormat":"CycloneDX","specVersion":"1.6","version":1,"components":[{"type":"library","name":"a"}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	files := []string{good}
	cases := map[string]string{
		"unknown key":     `{"bomFormat":"CycloneDX","specVersion":"1.6","version":1,"extra":1}`,
		"bad hash":        `{"bomFormat":"CycloneDX","specVersion":"1.6","version":1,"components":[{"type":"file","name":"f","hashes":[{"alg":"SHA-256","content":"xyz"}]}]}`,
		"bad serial":      `{"bomFormat":"CycloneDX","specVersion":"1.6","version":1,"serialNumber":"42"}`,
		"unknown type":    `{"bomFormat":"CycloneDX","specVersion":"1.6","version":1,"components":[{"type":"vm","name":"a"}]}`,
		"bad timestamp":   `{"bomFormat":"CycloneDX","specVersion":"1.6","version":1,"metadata":{"timestamp":"yesterday"}}`,
		"unknown version": `{"bomFormat":"CycloneDX","specVersion":"9.9","version":1}`,
	}
	paths := map[string]string{}
	for name, doc := range cases {
		p := filepath.Join(dir, strings.ReplaceAll(name, " ", "-")+".json")
		if err := os.WriteFile(p, []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
		paths[name] = p
		files = append(files, p)
	}
	verdicts, err := ValidateEach(context.Background(), files...)
	if err != nil {
		t.Fatal(err)
	}
	if verdicts[good] != nil {
		t.Fatalf("a valid document was refused: %v", verdicts[good])
	}
	for name, p := range paths {
		if verdicts[p] == nil {
			t.Errorf("%s: accepted %s", name, cases[name])
		}
	}
}

// Without node the validator fails, saying what to install and run.
func TestMissingNodeSaysWhatToRun(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	err := Validate(context.Background(), "x.json")
	if err == nil || !strings.Contains(err.Error(), "apt-get install nodejs npm") || !strings.Contains(err.Error(), "npm ci") {
		t.Fatalf("Validate without node: %v", err)
	}
}
