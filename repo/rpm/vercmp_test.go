package rpm

import (
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/bdebundle/bundle/repo/internal/rpmfixture"
)

// rpmvercmpCases are rpm's own test cases (tests/rpmvercmp.at).
var rpmvercmpCases = []struct {
	a, b string
	want int
}{
	{"1.0", "1.0", 0}, {"1.0", "2.0", -1}, {"2.0", "1.0", 1},
	{"2.0.1", "2.0.1", 0}, {"2.0", "2.0.1", -1}, {"2.0.1", "2.0", 1},
	{"2.0.1a", "2.0.1a", 0}, {"2.0.1a", "2.0.1", 1}, {"2.0.1", "2.0.1a", -1},
	{"5.5p1", "5.5p1", 0}, {"5.5p1", "5.5p2", -1}, {"5.5p2", "5.5p1", 1},
	{"5.5p10", "5.5p10", 0}, {"5.5p1", "5.5p10", -1}, {"5.5p10", "5.5p1", 1},
	{"10xyz", "10.1xyz", -1}, {"10.1xyz", "10xyz", 1},
	{"xyz10", "xyz10", 0}, {"xyz10", "xyz10.1", -1}, {"xyz10.1", "xyz10", 1},
	{"xyz.4", "xyz.4", 0}, {"xyz.4", "8", -1}, {"8", "xyz.4", 1}, {"xyz.4", "2", -1}, {"2", "xyz.4", 1},
	{"5.5p2", "5.6p1", -1}, {"5.6p1", "5.5p2", 1}, {"5.6p1", "6.5p1", -1}, {"6.5p1", "5.6p1", 1},
	{"6.0.rc1", "6.0", 1}, {"6.0", "6.0.rc1", -1},
	{"10b2", "10a1", 1}, {"10a2", "10b2", -1},
	{"1.0aa", "1.0aa", 0}, {"1.0a", "1.0aa", -1}, {"1.0aa", "1.0a", 1},
	{"10.0001", "10.0001", 0}, {"10.0001", "10.1", 0}, {"10.1", "10.0001", 0},
	{"10.0001", "10.0039", -1}, {"10.0039", "10.0001", 1},
	{"4.999.9", "5.0", -1}, {"5.0", "4.999.9", 1},
	{"20101121", "20101121", 0}, {"20101121", "20101122", -1}, {"20101122", "20101121", 1},
	{"2_0", "2_0", 0}, {"2.0", "2_0", 0}, {"2_0", "2.0", 0},
	{"a", "a", 0}, {"a+", "a+", 0}, {"a+", "a_", 0}, {"a_", "a+", 0},
	{"+a", "+a", 0}, {"+a", "_a", 0}, {"_a", "+a", 0},
	{"+_", "+_", 0}, {"_+", "+_", 0}, {"_+", "_+", 0}, {"+", "_", 0}, {"_", "+", 0},
	{"1.0~rc1", "1.0~rc1", 0}, {"1.0~rc1", "1.0", -1}, {"1.0", "1.0~rc1", 1},
	{"1.0~rc1", "1.0~rc2", -1}, {"1.0~rc2", "1.0~rc1", 1},
	{"1.0~rc1~git123", "1.0~rc1~git123", 0}, {"1.0~rc1~git123", "1.0~rc1", -1}, {"1.0~rc1", "1.0~rc1~git123", 1},
	{"1.0^", "1.0^", 0}, {"1.0^", "1.0", 1}, {"1.0", "1.0^", -1},
	{"1.0^git1", "1.0^git1", 0}, {"1.0^git1", "1.0", 1}, {"1.0", "1.0^git1", -1},
	{"1.0^git1", "1.0^git2", -1}, {"1.0^git2", "1.0^git1", 1},
	{"1.0^git1", "1.01", -1}, {"1.01", "1.0^git1", 1},
	{"1.0^20160101", "1.0^20160101", 0}, {"1.0^20160101", "1.0.1", -1}, {"1.0.1", "1.0^20160101", 1},
	{"1.0^20160101^git1", "1.0^20160101^git1", 0}, {"1.0^20160102", "1.0^20160101^git1", 1},
	{"1.0^20160101^git1", "1.0^20160102", -1},
	{"1.0~rc1^git1", "1.0~rc1^git1", 0}, {"1.0~rc1^git1", "1.0~rc1", 1}, {"1.0~rc1", "1.0~rc1^git1", -1},
	{"1.0^git1~pre", "1.0^git1~pre", 0}, {"1.0^git1", "1.0^git1~pre", 1}, {"1.0^git1~pre", "1.0^git1", -1},
}

func TestVerCmp(t *testing.T) {
	for _, c := range rpmvercmpCases {
		if got := VerCmp(c.a, c.b); got != c.want {
			t.Errorf("VerCmp(%q, %q) = %d, want %d", c.a, c.b, got, c.want)
		}
	}
}

// TestVerCmpAgainstRPM asks rpm's own rpm.vercmp, in one call, about the
// same pairs plus a few more.
func TestVerCmpAgainstRPM(t *testing.T) {
	rpmfixture.NeedTools(t, "rpm")
	pairs := [][2]string{{"1.0~rc1", "1.0"}, {"2:1.0", "1:2.0"}, {"1.0-1", "1.0-1.el9"}, {"0.9.9", "0.10"}, {"1.a", "1.1"}}
	for _, c := range rpmvercmpCases {
		pairs = append(pairs, [2]string{c.a, c.b})
	}
	var lua strings.Builder
	for _, p := range pairs {
		fmt.Fprintf(&lua, "print(rpm.vercmp(%q, %q)); print('\\n');", p[0], p[1])
	}
	out, err := exec.Command("rpm", "--eval", "%{lua:"+lua.String()+"}").Output()
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Fields(string(out))
	if len(got) != len(pairs) {
		t.Fatalf("rpm printed %d results for %d pairs", len(got), len(pairs))
	}
	for i, p := range pairs {
		want, _ := strconv.Atoi(got[i])
		var ours int
		if strings.Contains(p[0], ":") || strings.Contains(p[0], "-") {
			ours = CompareEVR(p[0], p[1])
		} else {
			ours = VerCmp(p[0], p[1])
		}
		if ours != want {
			t.Errorf("%q vs %q: ours %d, rpm %d", p[0], p[1], ours, want)
		}
	}
}

func TestCompareEVR(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"1:1.0-1", "2.0-1", 1},
		{"0:1.0-1", "1.0-1", 0},
		{"1.0", "1.0-5", 0}, // release missing on one side is not compared
		{"1.0-2", "1.0-10", -1},
		{"10:1", "9:9", 1},
		{"1.0-1~rc", "1.0-1", -1},
	}
	for _, tt := range tests {
		if got := CompareEVR(tt.a, tt.b); got != tt.want {
			t.Errorf("CompareEVR(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
	}
}
