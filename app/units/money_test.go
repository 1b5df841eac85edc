package units

import "testing"

func TestMoney(t *testing.T) {
	for _, c := range []struct {
		micros   int64
		currency string
		want     string
	}{
		{0, "USD", "USD 0.00"},
		{0, "", "0.00"},
		{42, "EUR", "EUR 0.000042"},    // a tiny embedding cost stays visible
		{2_500, "USD", "USD 0.0025"},   // under a cent: the digits it takes
		{10_000, "USD", "USD 0.01"},    // a cent
		{2_504_999, "USD", "USD 2.50"}, // rounded to the cent
		{1_234_567_890_000, "USD", "USD 1,234,567.89"},
	} {
		if got := Money(c.micros, c.currency); got != c.want {
			t.Errorf("Money(%d, %q) = %q, want %q", c.micros, c.currency, got, c.want)
		}
	}
	for n, want := range map[int64]string{0: "0", 999: "999", 1000: "1,000", 1234567: "1,234,567", -45678: "-45,678"} {
		if got := Thousands(n); got != want {
			t.Errorf("Thousands(%d) = %q, want %q", n, got, want)
		}
	}
}
