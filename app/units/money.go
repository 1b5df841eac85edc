package units

import (
	"fmt"
	"strings"
)

// Money formats an amount in micro-units (1,000,000 = one unit of the
// currency) for reading: two decimals from a cent up, with thousands
// separated; below a cent as many decimals as it takes (up to six), so a
// small cost never reads as zero. The ISO 4217 code goes first when known.
func Money(micros int64, currency string) string {
	sign := ""
	if micros < 0 {
		sign, micros = "-", -micros
	}
	var amount string
	if micros == 0 || micros >= 10_000 {
		cents := (micros + 5_000) / 10_000
		amount = fmt.Sprintf("%s.%02d", Thousands(cents/100), cents%100)
	} else {
		frac := strings.TrimRight(fmt.Sprintf("%06d", micros), "0")
		amount = "0." + frac
	}
	if currency == "" {
		return sign + amount
	}
	return currency + " " + sign + amount
}

// Thousands writes n with a comma between groups of three digits: 12,345.
func Thousands(n int64) string {
	s := fmt.Sprint(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}
