package testutil

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/ProtonMail/go-crypto/openpgp"
)

func TestModuleRoot(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(ModuleRoot(t), "go.mod"))
	if err != nil || !bytes.Contains(b, []byte("module github.com/bdebundle/bundle\n")) {
		t.Fatalf("ModuleRoot's go.mod: %q, %v", b, err)
	}
}

func TestFileSHA256(t *testing.T) {
	p := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(p, []byte("abc"), 0o644); err != nil {
		t.Fatal(err)
	}
	// sha256("abc") from FIPS 180-2, appendix B.1.
	if got, want := FileSHA256(t, p), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"; got != want {
		t.Errorf("FileSHA256 = %s, want %s", got, want)
	}
}

func TestKeyPair(t *testing.T) {
	sec, pub := KeyPair(t, "tester")
	s, err := openpgp.ReadArmoredKeyRing(bytes.NewReader(sec))
	if err != nil || len(s) != 1 || s[0].PrivateKey == nil {
		t.Fatalf("secret key: %v (%d entities)", err, len(s))
	}
	p, err := openpgp.ReadArmoredKeyRing(bytes.NewReader(pub))
	if err != nil || len(p) != 1 || p[0].PrivateKey != nil {
		t.Fatalf("public key: %v", err)
	}
	if s[0].PrimaryKey.KeyId != p[0].PrimaryKey.KeyId {
		t.Error("the public key is not the secret key's")
	}
	if _, ok := p[0].Identities["tester <tester@example.org>"]; !ok {
		t.Errorf("identities %v", p[0].Identities)
	}
}

func TestRequireTool(t *testing.T) {
	if p := RequireTool(t, "go", "golang-go"); p == "" {
		t.Error("RequireTool returned no path for go")
	}
}

func TestCopyFiles(t *testing.T) {
	src := t.TempDir()
	a, b := filepath.Join(src, "a.rpm"), filepath.Join(src, "b.key")
	if err := os.WriteFile(a, []byte("aa"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(b, []byte("bbb"), 0o600); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "sub", "dir")
	got := CopyFiles(t, dir, a, b)
	want := []string{filepath.Join(dir, "a.rpm"), filepath.Join(dir, "b.key")}
	if len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Fatalf("CopyFiles = %q, want %q", got, want)
	}
	for i, body := range []string{"aa", "bbb"} {
		data, err := os.ReadFile(got[i])
		if err != nil || string(data) != body {
			t.Errorf("%s = %q, %v; want %q", got[i], data, err, body)
		}
	}
}

func TestCaptureDebug(t *testing.T) {
	records := CaptureDebug(t)
	slog.Debug("cache hit", "path", "a.rpm")
	slog.Info("other")
	slog.Debug("cache hit", "path", "b.rpm")
	got := records("cache hit")
	if len(got) != 2 || got[0]["path"] != "a.rpm" || got[1]["path"] != "b.rpm" {
		t.Fatalf("records = %v, want the two debug records in order", got)
	}
	if n := len(records("missing")); n != 0 {
		t.Fatalf("%d records of a message never logged", n)
	}
}
