package repo

import (
	"bytes"
	"crypto"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
	"github.com/google/rpmpack"
	rpmutils "github.com/sassoftware/go-rpmutils"
)

var (
	keyOnce          sync.Once
	goodKey, evilKey *openpgp.Entity
)

func testKeys(t testing.TB) (good, wrong *openpgp.Entity) {
	t.Helper()
	keyOnce.Do(func() {
		var err error
		cfg := &packet.Config{Algorithm: packet.PubKeyAlgoRSA, RSABits: 2048, DefaultHash: crypto.SHA256}
		goodKey, err = openpgp.NewEntity("Bundle Test Signing", "", "sign@example.com", cfg)
		if err != nil {
			panic(err)
		}
		evilKey, err = openpgp.NewEntity("Someone Else", "", "else@example.com", &packet.Config{Algorithm: packet.PubKeyAlgoEdDSA})
		if err != nil {
			panic(err)
		}
	})
	return goodKey, evilKey
}

func signRPM(t testing.TB, in, out string, key *openpgp.Entity) {
	t.Helper()
	f, err := os.Open(in)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := rpmutils.SignRpmFile(f, out, key.PrivateKey, nil); err != nil {
		t.Fatalf("signing %s: %v", in, err)
	}
}

func armoredPublic(t testing.TB, e *openpgp.Entity) []byte {
	t.Helper()
	var b bytes.Buffer
	w, err := armor.Encode(&b, openpgp.PublicKeyType, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Serialize(w); err != nil {
		t.Fatal(err)
	}
	w.Close()
	return b.Bytes()
}

func TestSignatures(t *testing.T) {
	good, wrong := testKeys(t)
	src := t.TempDir()
	unsigned := []string{
		packRPM(t, src, rpmpack.RPMMetaData{Name: "signed-one", Summary: "one", Licence: "MIT", Epoch: rpmpack.NoEpoch}, map[string][]byte{"/usr/share/one/a": []byte("a")}),
		packRPM(t, src, rpmpack.RPMMetaData{Name: "signed-two", Summary: "two", Licence: "MIT", Epoch: 3, Compressor: "zstd"}, map[string][]byte{"/usr/share/two/b": []byte("b")}),
	}
	signedDir := t.TempDir()
	for _, u := range unsigned {
		signRPM(t, u, filepath.Join(signedDir, filepath.Base(u)), good)
	}
	unsignedDir := t.TempDir()
	copyFiles(t, unsignedDir, unsigned, testEpoch)
	mixedDir := t.TempDir()
	copyFiles(t, mixedDir, []string{filepath.Join(signedDir, filepath.Base(unsigned[0])), unsigned[1]}, testEpoch)

	tests := []struct {
		name    string
		dir     string
		keyring openpgp.EntityList
		wantErr []string
	}{
		{"good key", signedDir, openpgp.EntityList{good}, nil},
		{"good key among others", signedDir, openpgp.EntityList{wrong, good}, nil},
		{"no keyring reads signed", signedDir, nil, nil},
		{"no keyring reads unsigned", unsignedDir, nil, nil},
		{"unsigned", unsignedDir, openpgp.EntityList{good}, []string{"signed-one-1.0-1.x86_64.rpm", "signed-two-1.0-1.x86_64.rpm", "not signed"}},
		{"one unsigned", mixedDir, openpgp.EntityList{good}, []string{"signed-two-1.0-1.x86_64.rpm", "not signed"}},
		{"wrong key", signedDir, openpgp.EntityList{wrong}, []string{"signed-one-1.0-1.x86_64.rpm", "not among the trusted keys"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			paths, err := findRPMs(tt.dir)
			if err != nil {
				t.Fatal(err)
			}
			pkgs, err := Scan(t.Context(), paths, ScanOptions{Keyring: tt.keyring, Root: tt.dir})
			if tt.wantErr == nil {
				if err != nil {
					t.Fatalf("Scan: %v", err)
				}
				for _, p := range pkgs {
					want := ""
					if tt.keyring != nil {
						want = strings.ToLower(good.PrimaryKey.KeyIdString())
					}
					if p.SignerKeyID != want {
						t.Errorf("%s: signer %q, want %q", p.Location, p.SignerKeyID, want)
					}
				}
				return
			}
			if err == nil {
				t.Fatal("Scan accepted the packages")
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
			if tt.name == "one unsigned" && strings.Contains(err.Error(), "signed-one") {
				t.Errorf("error blames the signed package: %v", err)
			}
		})
	}
}

func TestSignedRepomd(t *testing.T) {
	needTools(t, "gpg")
	good, wrong := testKeys(t)
	dir := t.TempDir()
	copyFiles(t, dir, corpusRPMs(t)[:3], testEpoch)
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
	if err := os.WriteFile(keyFile, armoredPublic(t, good), 0o644); err != nil {
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
