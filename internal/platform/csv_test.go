package platform

import "testing"

// TestCSVSafeSeesThroughLeadingBlanks: a formula hidden behind leading
// spaces, tabs, no-break or zero-width characters is defused too; ordinary
// text (names, IDs, times) is left alone.
func TestCSVSafeSeesThroughLeadingBlanks(t *testing.T) {
	for in, want := range map[string]string{
		"=1+1":                     "'=1+1",
		" =HYPERLINK(\"x\")":       "' =HYPERLINK(\"x\")",
		"\u200b=cmd|' /C calc'!A0": "'\u200b=cmd|' /C calc'!A0",
		"\ufeff+1":                 "'\ufeff+1",
		"\u00a0\u2060@SUM(A1)":     "'\u00a0\u2060@SUM(A1)",
		"\t-2":                     "'\t-2",
		"\u3000=1":                 "'\u3000=1",
		"张三":                       "张三",
		"4401**********1234":       "4401**********1234",
		"09:30":                    "09:30",
		"  窗口 A":                   "  窗口 A",
		"":                         "",
	} {
		if got := CSVSafe(in); got != want {
			t.Errorf("CSVSafe(%q) = %q, want %q", in, got, want)
		}
	}
}
