package volume

import (
	"fmt"
	"math/big"
	"sort"
	"strings"
)

// Named volume sizes: removable media and file system limits.
var namedSizes = map[string]int64{
	"cd":     700_000_000,    // CD-R, 80 min (737,280,000 bytes of data; 700 MB leaves room)
	"dvd":    4_700_000_000,  // DVD±R single layer (4.7 GB; DVD+R holds 4,700,372,992 bytes)
	"dvd-dl": 8_500_000_000,  // DVD±R dual layer (8.5 GB; DVD+R DL holds 8,547,991,552)
	"bd":     25_000_000_000, // BD-R single layer (25 GB)
	"fat32":  4<<30 - 1,      // the largest file FAT32 holds: 4 GiB − 1
}

var units = map[string]int64{
	"":    1,
	"b":   1,
	"k":   1_000,
	"kb":  1_000,
	"mb":  1_000_000,
	"gb":  1_000_000_000,
	"tb":  1_000_000_000_000,
	"kib": 1 << 10,
	"mib": 1 << 20,
	"gib": 1 << 30,
	"tib": 1 << 40,
}

// SizeNames lists the named sizes ParseSize accepts, sorted.
func SizeNames() []string {
	names := make([]string, 0, len(namedSizes))
	for n := range namedSizes {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// ParseSize reads a volume size: a number of bytes with an optional SI
// (kB, MB, GB, TB: powers of 1000) or binary (KiB, MiB, GiB, TiB: powers
// of 1024) unit, units case-insensitive, decimals allowed ("4.7GB" is
// 4,700,000,000 bytes; a fraction of a byte is dropped), or a medium's
// name: cd (700 MB), dvd (4.7 GB, single layer), dvd-dl (8.5 GB), bd
// (25 GB), fat32 (4 GiB − 1, the largest file FAT32 holds).
func ParseSize(s string) (int64, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	if n, ok := namedSizes[t]; ok {
		return n, nil
	}
	i := 0
	for i < len(t) && (t[i] >= '0' && t[i] <= '9' || t[i] == '.') {
		i++
	}
	num, unit := t[:i], strings.TrimSpace(t[i:])
	mult, ok := units[unit]
	if num == "" || !ok {
		return 0, fmt.Errorf("volume size %q: want a number with an optional unit (B, kB, MB, GB, TB, KiB, MiB, GiB, TiB) or one of %s", s, strings.Join(SizeNames(), ", "))
	}
	r, ok := new(big.Rat).SetString(num)
	if !ok {
		return 0, fmt.Errorf("volume size %q: %q is not a number", s, num)
	}
	r.Mul(r, new(big.Rat).SetInt64(mult))
	n := new(big.Int).Quo(r.Num(), r.Denom())
	if !n.IsInt64() || n.Int64() > 1<<50 {
		return 0, fmt.Errorf("volume size %q: too large", s)
	}
	if n.Int64() < 1 {
		return 0, fmt.Errorf("volume size %q: less than one byte", s)
	}
	return n.Int64(), nil
}
