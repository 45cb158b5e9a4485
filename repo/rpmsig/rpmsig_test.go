package rpmsig

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"encoding/binary"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
)

// v3Packet builds a V3 RSA signature packet over data.
func v3Packet(t *testing.T, k *rsa.PrivateKey, keyID uint64, data []byte) []byte {
	t.Helper()
	var body bytes.Buffer
	body.Write([]byte{3, 5, 0})
	binary.Write(&body, binary.BigEndian, uint32(1400000000))
	binary.Write(&body, binary.BigEndian, keyID)
	h := crypto.SHA256.New()
	h.Write(data)
	h.Write(body.Bytes()[2:7])
	d := h.Sum(nil)
	body.Write([]byte{1, 8, d[0], d[1]})
	s, err := rsa.SignPKCS1v15(rand.Reader, k, crypto.SHA256, d)
	if err != nil {
		t.Fatal(err)
	}
	body.Write([]byte{byte(len(s) * 8 >> 8), byte(len(s) * 8)})
	body.Write(s)
	b := body.Bytes()
	return append([]byte{0x89, byte(len(b) >> 8), byte(len(b))}, b...)
}

func TestV3RSA(t *testing.T) {
	e, err := openpgp.NewEntity("t", "", "t@example.com", &packet.Config{Algorithm: packet.PubKeyAlgoRSA, RSABits: 2048})
	if err != nil {
		t.Fatal(err)
	}
	other, err := openpgp.NewEntity("o", "", "o@example.com", &packet.Config{Algorithm: packet.PubKeyAlgoRSA, RSABits: 2048})
	if err != nil {
		t.Fatal(err)
	}
	data := []byte("header bytes")
	pkt := v3Packet(t, e.PrivateKey.PrivateKey.(*rsa.PrivateKey), e.PrimaryKey.KeyId, data)
	s, err := Parse(pkt)
	if err != nil {
		t.Fatal(err)
	}
	if s.Kind() != "V3 RSA/SHA256" || s.KeyID != e.PrimaryKey.KeyId || !s.Created.Equal(time.Unix(1400000000, 0)) {
		t.Errorf("parsed %s key %x at %v", s.Kind(), s.KeyID, s.Created)
	}
	kr := NewKeyring(openpgp.EntityList{other, e})
	check := func(data []byte) error {
		h, _ := s.Hash()
		hh := h.New()
		hh.Write(data)
		d, err := s.Digest(hh)
		if err != nil {
			return err
		}
		_, err = kr.VerifyWith(s, d)
		return err
	}
	if err := check(data); err != nil {
		t.Errorf("good signature: %v", err)
	}
	if err := check([]byte("header bytez")); !errors.Is(err, ErrDigest) && !errors.Is(err, ErrBad) {
		t.Errorf("changed data: %v", err)
	}
	if _, err := NewKeyring(openpgp.EntityList{other}).VerifyWith(s, nil); !errors.Is(err, ErrNoKey) {
		t.Errorf("unknown key: %v", err)
	}
	// Every truncation fails cleanly, never panics.
	for i := 0; i < len(pkt); i++ {
		if _, err := Parse(pkt[:i]); err == nil {
			t.Errorf("prefix of %d bytes parsed", i)
		}
	}
}

func TestParseBad(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		want string
	}{
		{"empty", nil, "truncated"},
		{"not a packet", []byte{0x01, 0x02, 0x03}, "not an OpenPGP packet"},
		{"user id packet", []byte{0xb4, 1, 'x'}, "type 13"},
		{"indeterminate length", []byte{0x8b, 3}, "indeterminate"},
		{"partial lengths", []byte{0xc2, 0xe1, 3}, "partial"},
		{"trailing data", []byte{0x88, 1, 3, 0}, "data after"},
		{"version 5", []byte{0x88, 1, 5}, "version 5"},
		{"V3 hashed length", append([]byte{0x88, 19, 3, 4}, make([]byte, 17)...), "hashed length 4"},
		{"V3 missing MPI", append(append([]byte{0x88, 19, 3, 5}, make([]byte, 13)...), 1, 8, 0, 0), "wrong number"},
		{"V4 short", []byte{0x88, 3, 4, 0, 1}, "truncated"},
		{"V4 hashed overflow", []byte{0x88, 8, 4, 0, 1, 8, 0xff, 0xff, 0, 0}, "truncated"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(tt.in)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Parse: %v, want %q", err, tt.want)
			}
		})
	}
}
