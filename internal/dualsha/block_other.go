//go:build !amd64

package dualsha

// useSHA is false: only the portable compression exists here.
var useSHA = false

func blocks2(ha *[8]uint32, pa []byte, hb *[8]uint32, pb []byte) {
	blocksGeneric(ha, pa)
	blocksGeneric(hb, pb)
}

func blocks1(h *[8]uint32, p []byte) { blocksGeneric(h, p) }
