package subscribe

import (
	"strings"
	"testing"
	"unicode/utf8"

	"banshi/internal/sim"
)

func TestFit(t *testing.T) {
	for _, tc := range []struct{ typ, in, want string }{
		{TypeThing, "户口迁入登记", "户口迁入登记"},
		{TypeThing, "一二三四五六七八九十一二三四五六七八九十", "一二三四五六七八九十一二三四五六七八九十"},
		{TypeThing, "一二三四五六七八九十一二三四五六七八九十多", "一二三四五六七八九十一二三四五六七八九…"},
		{TypeThing, "  行\n\t一 \x00 ", "行 一"},
		{TypeThing, "\n \t", ""},
		{TypePhrase, "审批通过", "审批通过"},
		{TypePhrase, "已受理 ok", "已受理"},
		{TypePhrase, "不予批准通过了", "不予批准通"},
		{TypePhrase, "approved", ""},
		{TypeCharacterString, "GZ2026031600001", "GZ2026031600001"},
		{TypeCharacterString, "编号 GZ-1", "GZ-1"},
		{TypeCharacterString, strings.Repeat("A", 40), strings.Repeat("A", 32)},
		{TypeNumber, "共 12.5 份", "12.5"},
		{TypeNumber, strings.Repeat("1", 33), ""},
		{TypeNumber, strings.Repeat("1", 30) + ".123", strings.Repeat("1", 30)},
		{TypeLetter, "abc 123 DEF", "abcDEF"},
		{TypeSymbol, "a-b+c*d/e%f", "-+*/%"},
		{TypeName, "张三", "张三"},
		{TypeName, "·张·三 Zhang", "张·三"},
		{TypeName, "  John   Smith ", "John Smith"},
		{TypeAmount, "¥12.50", "¥12.50"},
		{TypeAmount, "12.50元", "12.50元"},
		{TypeAmount, "金额 1,234.5", "1234.5元"},
		{TypeAmount, "12345678901", ""},
		{TypeAmount, "123456789.123", "123456789.1元"},
		{TypePhoneNumber, "020-1234 5678", "020-12345678"},
		{TypeCarNumber, "粤A·12345", "粤A12345"},
		{TypeTime, "2026-03-09T01:00:00Z", "2026年3月9日 09:00"},
		{TypeTime, "2026-03-09T09:00:00+08:00", "2026年3月9日 09:00"},
		{TypeTime, "2026-03-09 09:00-09:30", "2026年3月9日 09:00"},
		{TypeTime, "2019年10月1日 15:01", "2019年10月1日 15:01"},
		{TypeTime, "15:01", "15:01"},
		{TypeTime, "明天上午", ""},
		{TypeDate, "2026-03-09T20:00:00Z", "2026年3月10日"},
		{TypeDate, "2026-03-09", "2026年3月9日"},
		{"weird_type", "anything", "anything"},
	} {
		got := Fit(tc.typ, tc.in)
		if got != tc.want {
			t.Errorf("Fit(%s, %q) = %q, want %q", tc.typ, tc.in, got, tc.want)
		}
		if got != "" {
			if p := sim.CheckSubscribeValue(tc.typ+"1", got, nil); p != "" {
				t.Errorf("Fit(%s, %q) = %q, which the simulator refuses: %s", tc.typ, tc.in, got, p)
			}
		}
	}
}

func TestFieldFitEnumAndDefault(t *testing.T) {
	f := Field{Key: "enum1", Type: TypeEnum, Enum: []string{"通过", "驳回"}, Default: "通过"}
	for in, want := range map[string]string{"驳回": "驳回", " 驳回 ": "驳回", "别的": "通过", "": "通过"} {
		if got := f.Fit(in); got != want {
			t.Errorf("enum Fit(%q) = %q, want %q", in, got, want)
		}
	}
	g := Field{Key: "phrase1", Type: TypePhrase, Default: "办理中"}
	if got := g.Fit("under_review"); got != "办理中" {
		t.Errorf("phrase default: %q", got)
	}
	if got := (Field{Key: "time1", Type: TypeTime}).Fit("soon"); got != "" {
		t.Errorf("a time without a default that does not parse: %q", got)
	}
}

// fuzzTypes are the field types Fit knows, each checked by the simulator
// under the key "<type>1".
var fuzzTypes = []string{TypeThing, TypeNumber, TypeLetter, TypeSymbol, TypeCharacterString, TypePhrase, TypeName,
	TypeAmount, TypePhoneNumber, TypeCarNumber, TypeTime, TypeDate, TypeEnum}

// FuzzFit: whatever the value (any bytes), Fit's answer is "" or a value the
// simulator's subscribe/send accepts for that type: Banshi never causes a
// 47003 by a value's shape. An enum field keeps only its template's values.
func FuzzFit(f *testing.F) {
	for _, s := range []string{"", "户口迁入登记", "2026-03-09T09:00:00+08:00", "¥12.50", "GZ2026031600001", "张三", "15:01",
		"2026-03-09 09:00-09:30", "a\x00b", "\xff\xfe", strings.Repeat("长", 30), "9999-12-31T23:59:59-12:00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, value string) {
		for _, typ := range fuzzTypes {
			enum := []string{"通过", "驳回", value}
			out := Field{Key: typ + "1", Type: typ, Enum: enum}.Fit(value)
			if out == "" {
				continue
			}
			if !utf8.ValidString(out) {
				t.Fatalf("Fit(%s, %q) = %q: not UTF-8", typ, value, out)
			}
			if p := sim.CheckSubscribeValue(typ+"1", out, enum); p != "" {
				t.Fatalf("Fit(%s, %q) = %q, refused by the simulator: %s", typ, value, out, p)
			}
		}
	})
}
