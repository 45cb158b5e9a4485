package dualsha

import "golang.org/x/sys/cpu"

//go:generate sh -c "go run ./_gen > block_amd64.s"

//go:noescape
func block2(ha *[8]uint32, pa *byte, hb *[8]uint32, pb *byte, n int)

func cpuid(leaf, sub uint32) (a, b, c, d uint32)

// useSHA reports whether the SHA extensions (and the SSE levels the
// assembly uses) are there.
var useSHA = func() bool {
	if !cpu.X86.HasSSSE3 || !cpu.X86.HasSSE41 {
		return false
	}
	if max, _, _, _ := cpuid(0, 0); max < 7 {
		return false
	}
	_, b, _, _ := cpuid(7, 0)
	return b&(1<<29) != 0
}()

// blocks2 compresses the whole blocks of pa into ha and of pb into hb;
// len(pa) == len(pb).
func blocks2(ha *[8]uint32, pa []byte, hb *[8]uint32, pb []byte) {
	if !useSHA {
		blocksGeneric(ha, pa)
		blocksGeneric(hb, pb)
		return
	}
	if n := len(pa) / BlockSize; n > 0 {
		block2(ha, &pa[0], hb, &pb[0], n)
	}
}

// blocks1 compresses the whole blocks of p into h. It runs the same
// assembly as blocks2 with a throw-away second state: a stream of its own
// only reaches it for the bytes ahead of the shared part.
func blocks1(h *[8]uint32, p []byte) {
	if !useSHA {
		blocksGeneric(h, p)
		return
	}
	if n := len(p) / BlockSize; n > 0 {
		var scratch [8]uint32
		block2(h, &p[0], &scratch, &p[0], n)
	}
}
