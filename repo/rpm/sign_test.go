package rpm

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/bdebundle/bundle/repo/internal/rpmfixture"
	"github.com/google/rpmpack"
)

func TestSignatures(t *testing.T) {
	good, wrong := rpmfixture.SigningKeys(t)
	src := t.TempDir()
	unsigned := []string{
		rpmfixture.PackRPM(t, src, rpmpack.RPMMetaData{Name: "signed-one", Summary: "one", Licence: "MIT", Epoch: rpmpack.NoEpoch}, map[string][]byte{"/usr/share/one/a": []byte("a")}),
		rpmfixture.PackRPM(t, src, rpmpack.RPMMetaData{Name: "signed-two", Summary: "two", Licence: "MIT", Epoch: 3, Compressor: "zstd"}, map[string][]byte{"/usr/share/two/b": []byte("b")}),
	}
	signedDir := t.TempDir()
	for _, u := range unsigned {
		rpmfixture.SignRPM(t, u, filepath.Join(signedDir, filepath.Base(u)), good)
	}
	unsignedDir := t.TempDir()
	rpmfixture.CopyFiles(t, unsignedDir, unsigned, rpmfixture.Epoch)
	mixedDir := t.TempDir()
	rpmfixture.CopyFiles(t, mixedDir, []string{filepath.Join(signedDir, filepath.Base(unsigned[0])), unsigned[1]}, rpmfixture.Epoch)

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
			paths := rpmsIn(t, tt.dir)
			pkgs, err := readAll(t.Context(), paths, readOptions{Keyring: tt.keyring, Root: tt.dir})
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
