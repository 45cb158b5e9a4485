package repo

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/bdebundle/bundle/repo/internal/rpmfixture"
)

func TestSignedRepomd(t *testing.T) {
	rpmfixture.NeedTools(t, "gpg")
	good, wrong := rpmfixture.SigningKeys(t)
	dir := t.TempDir()
	rpmfixture.CopyFiles(t, dir, rpmfixture.Corpus(t)[:3], rpmfixture.Epoch)
	indexDir(t, dir, IndexOptions{SignKey: good})
	md, err := os.ReadFile(filepath.Join(dir, "repodata", "repomd.xml"))
	if err != nil {
		t.Fatal(err)
	}
	sig, err := os.ReadFile(filepath.Join(dir, "repodata", "repomd.xml.asc"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := openpgp.CheckArmoredDetachedSignature(openpgp.EntityList{good}, bytes.NewReader(md), bytes.NewReader(sig), nil); err != nil {
		t.Errorf("go-crypto rejects repomd.xml.asc: %v", err)
	}
	if _, err := openpgp.CheckArmoredDetachedSignature(openpgp.EntityList{wrong}, bytes.NewReader(md), bytes.NewReader(sig), nil); err == nil {
		t.Error("signature verified with the wrong key")
	}

	// gpg agrees.
	home := t.TempDir()
	keyFile := filepath.Join(home, "key.asc")
	if err := os.WriteFile(keyFile, rpmfixture.ArmoredPublic(t, good), 0o644); err != nil {
		t.Fatal(err)
	}
	gpg := func(args ...string) error {
		args = append([]string{"--quiet"}, args...)
		cmd := exec.Command("gpg", append([]string{"--homedir", home, "--batch", "--no-tty"}, args...)...)
		out, err := cmd.CombinedOutput()
		if err != nil && args[1] == "--import" {
			t.Logf("gpg %v: %s", args, out)
		}
		return err
	}
	if err := gpg("--import", keyFile); err != nil {
		t.Fatal(err)
	}
	asc, mdPath := filepath.Join(dir, "repodata", "repomd.xml.asc"), filepath.Join(dir, "repodata", "repomd.xml")
	if err := gpg("--verify", asc, mdPath); err != nil {
		t.Errorf("gpg --verify failed: %v", err)
	}
	tampered := filepath.Join(t.TempDir(), "repomd.xml")
	if err := os.WriteFile(tampered, append(md, ' '), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := gpg("--verify", asc, tampered); err == nil {
		t.Error("gpg verified a tampered repomd.xml")
	}

	// Signing is reproducible too.
	first := repodataBytes(t, dir)
	indexDir(t, dir, IndexOptions{SignKey: good})
	sameRepodata(t, first, repodataBytes(t, dir))
}
