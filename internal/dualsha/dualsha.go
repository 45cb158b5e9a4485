package dualsha

import (
	"crypto/sha256"
	"encoding/binary"
	"hash"
	"math/bits"
	"sync"
)

// BlockSize is SHA-256's block size.
const BlockSize = 64

var iv = [8]uint32{0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19}

type digest struct {
	h   [8]uint32
	x   [BlockSize]byte
	nx  int
	len uint64
}

// fill tops up a partial block from p and returns what is left of p.
func (d *digest) fill(p []byte) []byte {
	if d.nx == 0 {
		return p
	}
	n := copy(d.x[d.nx:], p)
	d.nx += n
	if d.nx == BlockSize {
		blocks1(&d.h, d.x[:])
		d.nx = 0
	}
	return p[n:]
}

// rest compresses the whole blocks of p (d has no partial block) and keeps
// the tail.
func (d *digest) rest(p []byte) {
	if len(p) == 0 {
		return
	}
	if n := len(p) &^ (BlockSize - 1); n > 0 {
		blocks1(&d.h, p[:n])
		p = p[n:]
	}
	d.nx = copy(d.x[:], p)
}

func (d *digest) sum() [32]byte {
	var pad [BlockSize + 8]byte
	pad[0] = 0x80
	n := 1 + (55-d.len)%BlockSize
	binary.BigEndian.PutUint64(pad[n:], d.len<<3)
	l := d.len
	p := d.fill(pad[:n+8])
	d.rest(p)
	d.len = l
	var out [32]byte
	for i, v := range d.h {
		binary.BigEndian.PutUint32(out[4*i:], v)
	}
	return out
}

// Pair holds the SHA-256 state of two streams: A receives every byte
// written, B only those written with WriteBoth. The zero value is not
// ready: use New.
type Pair struct {
	a, b digest
	// Without the SHA extensions: crypto/sha256 (its own assembly), the
	// two streams of a large write hashed on two goroutines.
	ha, hb hash.Hash
}

// parallelMin is the write from which, without the SHA extensions, the two
// streams are hashed concurrently.
const parallelMin = 64 << 10

// New returns a Pair whose two streams are empty.
func New() *Pair {
	p := &Pair{}
	if !useSHA {
		p.ha, p.hb = sha256.New(), sha256.New()
		return p
	}
	p.a.h, p.b.h = iv, iv
	return p
}

// WriteA appends p to stream A only.
func (s *Pair) WriteA(p []byte) (int, error) {
	if s.ha != nil {
		return s.ha.Write(p)
	}
	s.a.len += uint64(len(p))
	s.a.rest(s.a.fill(p))
	return len(p), nil
}

// WriteBoth appends p to both streams.
func (s *Pair) WriteBoth(p []byte) (int, error) {
	if s.ha != nil {
		if len(p) < parallelMin {
			s.ha.Write(p)
			return s.hb.Write(p)
		}
		var wg sync.WaitGroup
		wg.Go(func() { s.hb.Write(p) })
		s.ha.Write(p)
		wg.Wait()
		return len(p), nil
	}
	s.a.len += uint64(len(p))
	s.b.len += uint64(len(p))
	pa, pb := s.a.fill(p), s.b.fill(p)
	if n := min(len(pa), len(pb)) &^ (BlockSize - 1); n > 0 {
		blocks2(&s.a.h, pa[:n], &s.b.h, pb[:n])
		pa, pb = pa[n:], pb[n:]
	}
	s.a.rest(pa)
	s.b.rest(pb)
	return len(p), nil
}

// Sums returns the digests of stream A and stream B. The Pair must not be
// written to afterwards.
func (s *Pair) Sums() (a, b [32]byte) {
	if s.ha != nil {
		s.ha.Sum(a[:0])
		s.hb.Sum(b[:0])
		return a, b
	}
	return s.a.sum(), s.b.sum()
}

var k = [64]uint32{
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
	0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
	0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
	0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
	0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
	0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
	0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
	0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
}

// blocksGeneric compresses the whole blocks of p into h.
func blocksGeneric(h *[8]uint32, p []byte) {
	var w [64]uint32
	for ; len(p) >= BlockSize; p = p[BlockSize:] {
		for i := 0; i < 16; i++ {
			w[i] = binary.BigEndian.Uint32(p[4*i:])
		}
		for i := 16; i < 64; i++ {
			v1, v2 := w[i-2], w[i-15]
			t1 := bits.RotateLeft32(v1, -17) ^ bits.RotateLeft32(v1, -19) ^ (v1 >> 10)
			t2 := bits.RotateLeft32(v2, -7) ^ bits.RotateLeft32(v2, -18) ^ (v2 >> 3)
			w[i] = t1 + w[i-7] + t2 + w[i-16]
		}
		a, b, c, d, e, f, g, hh := h[0], h[1], h[2], h[3], h[4], h[5], h[6], h[7]
		for i := 0; i < 64; i++ {
			t1 := hh + (bits.RotateLeft32(e, -6) ^ bits.RotateLeft32(e, -11) ^ bits.RotateLeft32(e, -25)) + ((e & f) ^ (^e & g)) + k[i] + w[i]
			t2 := (bits.RotateLeft32(a, -2) ^ bits.RotateLeft32(a, -13) ^ bits.RotateLeft32(a, -22)) + ((a & b) ^ (a & c) ^ (b & c))
			hh, g, f, e, d, c, b, a = g, f, e, d+t1, c, b, a, t1+t2
		}
		h[0] += a
		h[1] += b
		h[2] += c
		h[3] += d
		h[4] += e
		h[5] += f
		h[6] += g
		h[7] += hh
	}
}
