package dualsha

import (
	"crypto/sha256"
	"math/rand/v2"
	"testing"
)

// check writes head to A, then tail to both in chunks of the given sizes,
// and compares against crypto/sha256.
func check(t *testing.T, head, tail []byte, chunks []int) {
	t.Helper()
	s := New()
	s.WriteA(head)
	rest := tail
	for i := 0; len(rest) > 0; i++ {
		n := min(chunks[i%len(chunks)], len(rest))
		s.WriteBoth(rest[:n])
		rest = rest[n:]
	}
	a, b := s.Sums()
	if want := sha256.Sum256(append(append([]byte{}, head...), tail...)); a != want {
		t.Errorf("head %d tail %d chunks %v: A = %x, want %x", len(head), len(tail), chunks, a, want)
	}
	if want := sha256.Sum256(tail); b != want {
		t.Errorf("head %d tail %d chunks %v: B = %x, want %x", len(head), len(tail), chunks, b, want)
	}
}

func TestPairMatchesSHA256(t *testing.T) {
	rng := rand.New(rand.NewChaCha8([32]byte{7}))
	buf := make([]byte, 1<<20)
	for i := range buf {
		buf[i] = byte(rng.Uint32())
	}
	heads := []int{0, 1, 55, 56, 63, 64, 65, 127, 1000, 4096 + 17}
	tails := []int{0, 1, 55, 56, 63, 64, 65, 119, 120, 200, 4096, 65536 + 3, 1<<20 - 5000}
	chunkSets := [][]int{{1 << 20}, {1}, {63}, {64}, {65, 7, 1000}, {32 << 10}}
	for _, h := range heads {
		for _, tl := range tails {
			for _, cs := range chunkSets {
				if len(cs) == 1 && cs[0] == 1 && tl > 5000 {
					continue
				}
				check(t, buf[len(buf)-h:], buf[:tl], cs)
			}
		}
	}
}

// TestWithoutSHAExtensions runs the paths taken on machines without the
// SHA extensions (crypto/sha256, and the portable compression block1 and
// block2 fall back to), so they are checked on machines that have them.
func TestWithoutSHAExtensions(t *testing.T) {
	saved := useSHA
	defer func() { useSHA = saved }()
	useSHA = false
	buf := make([]byte, 300000)
	for i := range buf {
		buf[i] = byte(i * 7)
	}
	check(t, buf[:333], buf[333:], []int{100, 4096, parallelMin})
	check(t, nil, buf, []int{64})
	var ha, hb [8]uint32
	ha, hb = iv, iv
	blocks2(&ha, buf[64:64*20], &hb, buf[:64*19])
	blocks1(&ha, buf[:64])
	blocksGeneric(&hb, buf[64*19:64*20])
	d := digest{h: ha, len: 64 * 20}
	if got, want := d.sum(), sha256.Sum256(append(append([]byte{}, buf[64:64*20]...), buf[:64]...)); got != want {
		t.Errorf("portable compression: %x, want %x", got, want)
	}
	d = digest{h: hb, len: 64 * 20}
	if got, want := d.sum(), sha256.Sum256(buf[:64*20]); got != want {
		t.Errorf("portable compression: %x, want %x", got, want)
	}
}

func BenchmarkWriteBoth(b *testing.B) {
	buf := make([]byte, 1<<20)
	s := New()
	s.WriteA(buf[:17])
	b.SetBytes(int64(len(buf)))
	for b.Loop() {
		s.WriteBoth(buf)
	}
}

func BenchmarkTwoSHA256(b *testing.B) {
	buf := make([]byte, 1<<20)
	h1, h2 := sha256.New(), sha256.New()
	b.SetBytes(int64(len(buf)))
	for b.Loop() {
		h1.Write(buf)
		h2.Write(buf)
	}
}
