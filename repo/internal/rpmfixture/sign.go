package rpmfixture

import (
	"bytes"
	"crypto"
	"os"
	"sync"
	"testing"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
	"github.com/sassoftware/go-rpmutils"
)

var (
	keyOnce          sync.Once
	goodKey, evilKey *openpgp.Entity
)

func SigningKeys(t testing.TB) (good, wrong *openpgp.Entity) {
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

func SignRPM(t testing.TB, in, out string, key *openpgp.Entity) {
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

func ArmoredPublic(t testing.TB, e *openpgp.Entity) []byte {
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
