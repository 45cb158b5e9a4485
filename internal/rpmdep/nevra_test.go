package rpmdep

import "testing"

func TestCompareNEVRA(t *testing.T) {
	cases := []struct {
		a, b string
		want int
	}{
		{"1.0", "1.0", 0}, {"1.0", "2.0", -1}, {"2.0.1", "2.0", 1}, {"1.10", "1.9", 1},
		{"1.0a", "1.0", 1}, {"1.0", "1.0a", -1}, {"a", "1", -1}, {"1", "a", 1},
		{"1.0~rc1", "1.0", -1}, {"1.0~rc1", "1.0~rc2", -1}, {"1.0^git1", "1.0", 1}, {"1.0^git1", "1.0.1", -1},
		{"001", "1", 0}, {"1.0.centos65", "1.0.centos66", -1}, {"2.el6", "10.el6", -1},
		{"0.1.20141121000021", "0.1.20141204175332", -1}, {"1_0", "1.0", 0}, {"abc", "abd", -1},
	}
	for _, c := range cases {
		a, b := NEVRA{Version: c.a, Release: "1"}, NEVRA{Version: c.b, Release: "1"}
		if got := CompareNEVRA(a, b); got != c.want {
			t.Errorf("CompareNEVRA(%q, %q) = %d, want %d", c.a, c.b, got, c.want)
		}
		if got := CompareNEVRA(b, a); got != -c.want {
			t.Errorf("CompareNEVRA(%q, %q) = %d, want %d", c.b, c.a, got, -c.want)
		}
	}
	n, ok := ParseNEVRA("bash-1:4.2.46-34.el7.x86_64")
	if !ok || n.Name != "bash" || n.Epoch != "1" || n.Version != "4.2.46" || n.Release != "34.el7" || n.Arch != "x86_64" {
		t.Errorf("ParseNEVRA: %+v %v", n, ok)
	}
	if CompareNEVRA(NEVRA{Epoch: "1", Version: "1.0", Release: "1"}, NEVRA{Version: "9.0", Release: "1"}) != 1 {
		t.Error("epoch does not dominate")
	}
}
