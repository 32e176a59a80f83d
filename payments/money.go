package payments

import "fmt"

// Yuan formats fen as yuan with two decimals, exactly ("123.45", "-0.05"):
// for people (messages, CSV exports) and for Alipay's amount fields, the
// one place money leaves int64 fen.
func Yuan(fen int64) string {
	sign := ""
	if fen < 0 {
		sign, fen = "-", -fen
	}
	return fmt.Sprintf("%s%d.%02d", sign, fen/100, fen%100)
}
