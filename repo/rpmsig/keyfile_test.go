package rpmsig

import (
	"bytes"
	"crypto"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
	"github.com/bdebundle/bundle/repo/internal/rpmfixture"
)

// TestImportRefusalsAgainstRpmkeys: ImportRefusals names a key exactly
// when rpm's own `rpmkeys --dbpath TMP --import FILE` refuses it, over the
// real CentOS 2-7 key files, the test's keys, keys of the other algorithms
// go-crypto makes (EdDSA with an ECDH subkey, Ed25519, ECDSA P-256),
// files with several keys, a binary key and an armored key without its
// checksum line.
func TestImportRefusalsAgainstRpmkeys(t *testing.T) {
	rpmfixture.NeedTools(t, "rpmkeys")
	dir := t.TempDir()
	var files []string
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		files = append(files, p)
		return p
	}
	read := func(p string) []byte {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	rsaK, dsaK, subK, _ := rpmfixture.V3Keys(t)
	for i, k := range []*rpmfixture.V3Key{rsaK, dsaK, subK} {
		write(fmt.Sprintf("test-%d", i), rpmfixture.ArmoredPublic(t, k.Entity))
	}
	for _, n := range []string{"2", "3", "4", "5", "6", "7"} {
		write("RPM-GPG-KEY-CentOS-"+n, read(rpmfixture.CentOSKey(t, n)))
	}
	when := func() time.Time { return rpmfixture.KeyTime }
	for _, c := range []struct {
		name string
		cfg  *packet.Config
	}{
		{"eddsa", &packet.Config{Algorithm: packet.PubKeyAlgoEdDSA, Time: when}},
		{"ed25519", &packet.Config{Algorithm: packet.PubKeyAlgoEd25519, Time: when}},
		{"ecdsa-p256", &packet.Config{Algorithm: packet.PubKeyAlgoECDSA, Curve: packet.CurveNistP256, Time: when}},
		{"rsa-sha512", &packet.Config{Algorithm: packet.PubKeyAlgoRSA, RSABits: 2048, DefaultHash: crypto.SHA512, Time: when}},
	} {
		e, err := openpgp.NewEntity(c.name, "", "test@example.com", c.cfg)
		if err != nil {
			t.Fatal(err)
		}
		write("gen-"+c.name, rpmfixture.ArmoredPublic(t, e))
		if c.name == "eddsa" {
			if err := e.AddSigningSubkey(c.cfg); err != nil {
				t.Fatal(err)
			}
			write("gen-eddsa-signing-subkey", rpmfixture.ArmoredPublic(t, e))
		}
	}
	// An RSA key certified by an ECDSA key (a signature rpm 4.18 does
	// not read) and one certified by an EdDSA key.
	for _, c := range []struct {
		name string
		cfg  *packet.Config
	}{
		{"rsa-certified-by-ecdsa", &packet.Config{Algorithm: packet.PubKeyAlgoECDSA, Curve: packet.CurveNistP256, Time: when}},
		{"rsa-certified-by-eddsa", &packet.Config{Algorithm: packet.PubKeyAlgoEdDSA, Time: when}},
	} {
		signer, err := openpgp.NewEntity("signer", "", "signer@example.com", c.cfg)
		if err != nil {
			t.Fatal(err)
		}
		e, err := openpgp.NewEntity("certified", "", "certified@example.com", &packet.Config{Algorithm: packet.PubKeyAlgoRSA, RSABits: 2048, Time: when})
		if err != nil {
			t.Fatal(err)
		}
		for name := range e.Identities {
			if err := e.SignIdentity(name, signer, &packet.Config{Time: when}); err != nil {
				t.Fatal(err)
			}
		}
		write(c.name, rpmfixture.ArmoredPublic(t, e))
	}
	c5, c6, c7 := read(rpmfixture.CentOSKey(t, "5")), read(rpmfixture.CentOSKey(t, "6")), read(rpmfixture.CentOSKey(t, "7"))
	write("two-good-one-bad", bytes.Join([][]byte{c7, c5, c6}, nil))
	write("bad-first", bytes.Join([][]byte{c5, c7}, nil))
	var bin bytes.Buffer
	if err := rpmfixture.ReadKeyFile(t, rpmfixture.CentOSKey(t, "7"))[0].Serialize(&bin); err != nil {
		t.Fatal(err)
	}
	write("binary", bin.Bytes())
	write("no-checksum-line", regexp.MustCompile(`(?m)^=[A-Za-z0-9+/]{4}\r?\n`).ReplaceAll(c7, nil))

	failed := regexp.MustCompile(`key (\d+) (import failed|not an armored public key)`)
	refusedSome := false
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			out, err := exec.Command("rpmkeys", "--dbpath", t.TempDir(), "--import", f).CombinedOutput()
			var rpmRefused []int
			for _, m := range failed.FindAllStringSubmatch(string(out), -1) {
				n, _ := strconv.Atoi(m[1])
				rpmRefused = append(rpmRefused, n)
			}
			if (err != nil) != (len(rpmRefused) > 0) {
				t.Fatalf("rpmkeys exit %v, output not understood:\n%s", err, out)
			}
			refusals := ImportRefusals(read(f))
			var ours []int
			for _, r := range refusals {
				ours = append(ours, r.Key)
				if r.Reason == "" || r.KeyID == "" {
					t.Errorf("refusal of key %d gives no reason or key id: %+v", r.Key, r)
				}
			}
			sort.Ints(rpmRefused)
			if fmt.Sprint(ours) != fmt.Sprint(rpmRefused) {
				t.Errorf("refused keys: bundle %v %+v, rpmkeys %v:\n%s", ours, refusals, rpmRefused, out)
			}
			if len(rpmRefused) > 0 {
				refusedSome = true
			}
			t.Logf("rpmkeys: %s; bundle: %+v", strings.TrimSpace(string(out)), refusals)
		})
	}
	if !refusedSome {
		t.Error("rpmkeys refused no key: the comparison proves nothing")
	}
}

func TestMain(m *testing.M) { os.Exit(rpmfixture.Main(m)) }
