package payments

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"banshi/internal/platform"
)

// Demo payers: the README's demo citizen and a demo enterprise.
const (
	DemoIDNumber = "11010519491231002X" // 张三 of the README walkthrough
	DemoName     = "张三"
	DemoUSCC     = "91440101MA5CXXXX7X"
)

// DemoBill is a demo bill's number and the verification code printed on its
// notice.
type DemoBill struct {
	BillNo string
	Code   string
	What   string
}

// DemoBills are the bills SeedDemo issues.
func DemoBills() []DemoBill {
	return []DemoBill{
		{"DEMO-JT-20260001", "JT8K2Q", "traffic fine 200.00 yuan, overdue, 3 % a day 加处罚款 (张三)"},
		{"DEMO-FS-20260001", "FS5M7W", "非税 real-estate registration fee 80.00 yuan (张三)"},
		{"DEMO-SB-20260001", "SB3R9T", "resident medical insurance 380.00 yuan (张三)"},
		{"DEMO-QY-20260001", "QY6H4N", "非税 sewage fee 1200.00 yuan (enterprise " + DemoUSCC + ")"},
	}
}

// SeedDemo issues the demo bills from source (the demo department) through
// Receive, with fixed bill numbers, codes and event ids: seeding again
// changes nothing (duplicates). Dates are relative to the first seeding: the
// traffic fine fell due ten days before and gathers its late fee since.
func (b *Bills) SeedDemo(ctx context.Context, source string) error {
	today := b.clock.Now().In(platform.Shanghai())
	day := func(d int) string { return today.AddDate(0, 0, d).Format(time.DateOnly) }
	person := map[string]any{"type": PayerPerson, "id_number": DemoIDNumber, "name": DemoName}
	bills := DemoBills()
	events := []map[string]any{
		{"bill_no": bills[0].BillNo, "verification_code": bills[0].Code, "kind": BillKindTrafficFine,
			"item": "机动车违反交通信号灯通行（粤A·D12345）", "payer": person, "amount_fen": 20000, "due_date": day(-10),
			"late_fee":        map[string]any{"from": day(-9), "permille_per_day": 30, "cap_fen": 20000},
			"collecting_unit": map[string]any{"code": "440100-JJ", "name": "广州市公安局交通警察支队"}},
		{"bill_no": bills[1].BillNo, "verification_code": bills[1].Code, "kind": BillKindNonTax,
			"item": "不动产登记费", "payer": person, "amount_fen": 8000, "due_date": day(30),
			"collecting_unit": map[string]any{"code": "440106-BDC", "name": "广州市天河区不动产登记中心"}},
		{"bill_no": bills[2].BillNo, "verification_code": bills[2].Code, "kind": BillKindSocialInsurance,
			"item": "城乡居民基本医疗保险费", "payer": person, "amount_fen": 38000, "due_date": day(60),
			"collecting_unit": map[string]any{"code": "440100-SW", "name": "国家税务总局广州市税务局"}},
		{"bill_no": bills[3].BillNo, "verification_code": bills[3].Code, "kind": BillKindNonTax,
			"item": "污水处理费", "amount_fen": 120000, "due_date": day(20),
			"payer":           map[string]any{"type": PayerEnterprise, "uscc": DemoUSCC, "name": "广州某某科技有限公司"},
			"collecting_unit": map[string]any{"code": "440100-SWJ", "name": "广州市水务局"}},
	}
	for _, e := range events {
		e["event_id"], e["action"] = "demo-issue-"+e["bill_no"].(string), BillIssue
		body, err := json.Marshal(e)
		if err != nil {
			return err
		}
		if _, err := b.Receive(ctx, source, body); err != nil {
			return fmt.Errorf("demo bill %s: %w", e["bill_no"], err)
		}
	}
	return nil
}
