package rpmsig

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
)

// TestImportRefusalDamaged: a key cut short anywhere or with any byte
// changed gives a verdict, never a panic; a clean key with a signing
// subkey (go-crypto marks its back-signature critical) is refused for
// that reason, one with only an encryption subkey is not. Agreement with
// rpmkeys itself is tested beside ImportRefusals
// (TestImportRefusalsAgainstRpmkeys).
func TestImportRefusalDamaged(t *testing.T) {
	cfg := &packet.Config{Algorithm: packet.PubKeyAlgoEdDSA, Time: func() time.Time { return time.Unix(1500000000, 0) }}
	e, err := openpgp.NewEntity("test", "", "test@example.com", cfg)
	if err != nil {
		t.Fatal(err)
	}
	var plain bytes.Buffer
	if err := e.Serialize(&plain); err != nil {
		t.Fatal(err)
	}
	if id, err := ImportRefusal(plain.Bytes()); err != nil || id != e.PrimaryKey.KeyId {
		t.Fatalf("EdDSA key with an encryption subkey: %v (id %x, want %x)", err, id, e.PrimaryKey.KeyId)
	}
	if err := e.AddSigningSubkey(cfg); err != nil {
		t.Fatal(err)
	}
	var signing bytes.Buffer
	if err := e.Serialize(&signing); err != nil {
		t.Fatal(err)
	}
	if _, err := ImportRefusal(signing.Bytes()); err == nil || !strings.Contains(err.Error(), "critical embedded signature") {
		t.Errorf("a signing subkey whose binding embeds a critical back-signature: %v", err)
	}
	b := plain.Bytes()
	for i := range b {
		ImportRefusal(b[:i])
		d := append([]byte(nil), b...)
		d[i] ^= 0xff
		ImportRefusal(d)
	}
	if _, err := ImportRefusal(nil); err == nil {
		t.Error("no packets accepted")
	}
	if _, err := ImportRefusal(make([]byte, maxImportBytes+1)); err == nil {
		t.Error("a key over rpm's size limit accepted")
	}
}
