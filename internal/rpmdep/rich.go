package rpmdep

import (
	"errors"
	"strings"
)

// evalRich evaluates an rpm rich dependency such as
// "(foo >= 1.0 or bar)" or "(a if b else c)" against the index.
func (ix *depIndex) evalRich(s string) (bool, error) {
	toks := tokenizeRich(s)
	pos := 0
	v, err := ix.richExpr(toks, &pos)
	if err != nil {
		return false, err
	}
	if pos != len(toks) {
		return false, errors.New("trailing tokens in rich dependency")
	}
	return v, nil
}

func tokenizeRich(s string) []string {
	var toks []string
	cur := strings.Builder{}
	flush := func() {
		if cur.Len() > 0 {
			toks = append(toks, cur.String())
			cur.Reset()
		}
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '(', ')':
			flush()
			toks = append(toks, string(c))
		case ' ', '\t':
			flush()
		default:
			cur.WriteByte(c)
		}
	}
	flush()
	return toks
}

var richOps = map[string]bool{"and": true, "or": true, "if": true, "else": true, "unless": true, "with": true, "without": true}

// richExpr parses "( term op term ... )" or a simple dependency.
func (ix *depIndex) richExpr(toks []string, pos *int) (bool, error) {
	if *pos >= len(toks) {
		return false, errors.New("unexpected end of rich dependency")
	}
	if toks[*pos] != "(" {
		return ix.richSimple(toks, pos)
	}
	*pos++
	left, err := ix.richExpr(toks, pos)
	if err != nil {
		return false, err
	}
	for *pos < len(toks) && toks[*pos] != ")" {
		op := toks[*pos]
		if !richOps[op] {
			return false, errors.New("unknown rich dependency operator " + op)
		}
		*pos++
		right, err := ix.richExpr(toks, pos)
		if err != nil {
			return false, err
		}
		switch op {
		case "and", "with":
			left = left && right
		case "or":
			left = left || right
		case "without":
			left = left && !right
		case "unless":
			left = left || right
		case "if":
			// "A if B [else C]": when B holds A is needed, else C (or nothing).
			cond := right
			elseV := true
			if *pos < len(toks) && toks[*pos] == "else" {
				*pos++
				elseV, err = ix.richExpr(toks, pos)
				if err != nil {
					return false, err
				}
			}
			if cond {
				left = left || false
			} else {
				left = elseV
			}
		case "else":
			return false, errors.New("else without if")
		}
	}
	if *pos >= len(toks) {
		return false, errors.New("unbalanced parentheses in rich dependency")
	}
	*pos++
	return left, nil
}

func (ix *depIndex) richSimple(toks []string, pos *int) (bool, error) {
	name := toks[*pos]
	*pos++
	d := Dep{Name: name}
	if *pos+1 < len(toks) {
		if fl, ok := map[string]string{"=": "EQ", "==": "EQ", "<": "LT", ">": "GT", "<=": "LE", "=<": "LE", ">=": "GE", "=>": "GE"}[toks[*pos]]; ok {
			d.Flags = fl
			d.Epoch, d.Version, d.Release = ParseEVR(toks[*pos+1])
			*pos += 2
		}
	}
	return ix.satisfied(d), nil
}
