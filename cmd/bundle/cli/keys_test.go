package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
)

// keyFiles writes the key files of the bad-key cases: a secret key, its
// public key, the secret key encrypted with "pw", and garbage.
func keyFiles(t *testing.T) (secret, public, encrypted, garbage string) {
	t.Helper()
	dir := t.TempDir()
	e, err := openpgp.NewEntity("release", "", "release@example.org", &packet.Config{Algorithm: packet.PubKeyAlgoEdDSA})
	if err != nil {
		t.Fatal(err)
	}
	write := func(name, typ string, ser func(w *bytes.Buffer) error) string {
		var b bytes.Buffer
		w, err := armor.Encode(&b, typ, nil)
		if err != nil {
			t.Fatal(err)
		}
		var raw bytes.Buffer
		if err := ser(&raw); err != nil {
			t.Fatal(err)
		}
		w.Write(raw.Bytes())
		w.Close()
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b.Bytes(), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	secret = write("secret.asc", openpgp.PrivateKeyType, func(w *bytes.Buffer) error { return e.SerializePrivate(w, nil) })
	public = write("public.asc", openpgp.PublicKeyType, func(w *bytes.Buffer) error { return e.Serialize(w) })
	if err := e.EncryptPrivateKeys([]byte("pw"), nil); err != nil {
		t.Fatal(err)
	}
	encrypted = write("encrypted.asc", openpgp.PrivateKeyType, func(w *bytes.Buffer) error { return e.SerializePrivateWithoutSigning(w, nil) })
	garbage = filepath.Join(dir, "garbage.asc")
	if err := os.WriteFile(garbage, []byte("-----BEGIN PGP PRIVATE KEY BLOCK-----\nnot a key\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return secret, public, encrypted, garbage
}

// TestBadKeyFiles: a key file that cannot serve is refused before any
// work, naming the file and what is wrong, and nothing is written.
func TestBadKeyFiles(t *testing.T) {
	secret, public, encrypted, garbage := keyFiles(t)
	site := writeSite(t, baseSite)
	dist := t.TempDir()
	for _, tc := range []struct {
		name string
		args []string
		env  string // BUNDLE_SIGN_PASSPHRASE
		key  string
		want string
	}{
		{"build, garbage key", []string{"build", site, "-o", dist, "-q", "--sign-key", garbage}, "", garbage, "not an OpenPGP key"},
		{"build, public key only", []string{"build", site, "-o", dist, "-q", "--sign-key", public}, "", public, "no secret key"},
		{"build, encrypted key without passphrase", []string{"build", site, "-o", dist, "-q", "--sign-key", encrypted}, "", encrypted, "BUNDLE_SIGN_PASSPHRASE"},
		{"build, encrypted key, wrong passphrase", []string{"build", site, "-o", dist, "-q", "--sign-key", encrypted}, "nope", encrypted, "unlocking the key"},
		{"repo index, garbage key", []string{"repo", "index", filepath.Join(site, "rpms"), "--sign-key", garbage}, "", garbage, "not an OpenPGP key"},
		{"repo index, public key only", []string{"repo", "index", filepath.Join(site, "rpms"), "--sign-key", public}, "", public, "no secret key"},
		{"verify, garbage key", []string{"verify", dist, "--key", garbage}, "", garbage, "not an OpenPGP key"},
		{"deploy, garbage key", []string{"deploy", dist, "--key", garbage, "--dry-run"}, "", garbage, "not an OpenPGP key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("BUNDLE_SIGN_PASSPHRASE", tc.env)
			code, _, stderr := run(t, tc.args...)
			if code != ExitUser || !strings.Contains(stderr, tc.key) || !strings.Contains(stderr, tc.want) {
				t.Errorf("exit %d, stderr:\n%s\nwant a user error (%d) naming %s and saying %q", code, stderr, ExitUser, tc.key, tc.want)
			}
			if entries, _ := os.ReadDir(dist); len(entries) != 0 {
				t.Errorf("%s holds %d entries after a refused key", dist, len(entries))
			}
			if _, err := os.Stat(filepath.Join(site, "rpms", "repodata")); !os.IsNotExist(err) {
				t.Errorf("repodata written despite a refused key")
			}
		})
	}
	// The same encrypted key with its passphrase signs.
	t.Setenv("BUNDLE_SIGN_PASSPHRASE", "pw")
	if code, _, stderr := run(t, "build", site, "-o", dist, "-q", "--sign-key", encrypted); code != 0 {
		t.Fatalf("build with the passphrase: exit %d\n%s", code, stderr)
	}
	if code, _, stderr := run(t, "verify", filepath.Join(dist, "site-1.0.0"), "--key", public, "-q"); code != 0 {
		t.Fatalf("verify of the signed bundle: exit %d\n%s", code, stderr)
	}
	if code, _, stderr := run(t, "repo", "index", filepath.Join(site, "rpms"), "-q", "--sign-key", secret); code != 0 {
		t.Fatalf("repo index with a good key: exit %d\n%s", code, stderr)
	}
}
