package appointments

import "context"

// Demo hall IDs. DemoHallTianhe is the first hall (the demo staff account
// works there).
const (
	DemoHallTianhe = "hall-tianhe"
	DemoHallYuexiu = "hall-yuexiu"
)

// SeedDemo adds the demo catalog: 2 halls in Guangzhou, 6 departments, 15
// services covering all eleven categories with their guides, one schedule per
// department (30-minute slots on every opening day, so the next 10 working
// days and beyond are bookable), and the 2026 public holidays and make-up
// working days. Only missing documents are inserted (deterministic IDs; a
// duplicate key means another process or an earlier run seeded it), so it is
// idempotent, safe when several processes seed at once, and never undoes an
// admin's change. Errors: storage only.
func (s *Service) SeedDemo(ctx context.Context) error {
	_, err := s.load(ctx, DemoCatalog(), false)
	return err
}

func weekdays(open, close string, days ...int) []OpeningHours {
	var out []OpeningHours
	for _, d := range days {
		out = append(out, OpeningHours{Weekday: d, Open: open, Close: close})
	}
	return out
}

type demoSvc struct {
	id, dept, code, name, typ string
	days, fee                 int
	materials                 []Material
}

// DemoCatalog returns the demo data SeedDemo loads (also a template for
// ParseImport documents).
func DemoCatalog() CatalogImport {
	tianhe := Hall{
		ID: DemoHallTianhe, Name: "广州市天河区政务服务中心", Address: "广州市天河区天河南二路33号",
		Location: GeoPoint{Lat: 23.1326, Lng: 113.3272}, Phone: "020-12345",
		OpeningHours: append(weekdays("09:00", "17:30", 1, 2, 3, 4, 5), OpeningHours{Weekday: 6, Open: "09:00", Close: "12:00"}),
		LunchBreak:   &TimeRange{Start: "12:00", End: "13:30"},
	}
	yuexiu := Hall{
		ID: DemoHallYuexiu, Name: "广州市越秀区政务服务中心", Address: "广州市越秀区东风中路268号",
		Location: GeoPoint{Lat: 23.1295, Lng: 113.2668}, Phone: "020-12345",
		OpeningHours: weekdays("08:30", "18:00", 1, 2, 3, 4, 5),
		LunchBreak:   &TimeRange{Start: "12:00", End: "13:00"},
	}
	depts := []Department{
		{ID: "th-gaj", HallID: DemoHallTianhe, Name: "天河区公安分局户政窗口", QueuePrefix: "A"},
		{ID: "th-rsj", HallID: DemoHallTianhe, Name: "天河区人力资源和社会保障局", QueuePrefix: "B"},
		{ID: "th-scjg", HallID: DemoHallTianhe, Name: "天河区市场监督管理局", QueuePrefix: "C"},
		{ID: "yx-bdc", HallID: DemoHallYuexiu, Name: "越秀区不动产登记中心", QueuePrefix: "A"},
		{ID: "yx-sw", HallID: DemoHallYuexiu, Name: "越秀区税务局办税服务厅", QueuePrefix: "B"},
		{ID: "yx-jj", HallID: DemoHallYuexiu, Name: "越秀区公安交警窗口", QueuePrefix: "C"},
	}
	idCard := Material{Name: "居民身份证", Originals: 1, Copies: 1, Required: true}
	svcs := []demoSvc{
		{"svc-hukou-qianru", "th-gaj", "11440106007482133H4440111009000", "户口迁入登记", CategoryConfirmation, 20, 0,
			[]Material{idCard, {Name: "居民户口簿", Originals: 1, Copies: 1, Required: true}, {Name: "准予迁入证明", Originals: 1, Required: true}}},
		{"svc-jianyiyongwei", "th-gaj", "11440106007482133H4440116001000", "见义勇为人员奖励和表彰", CategoryReward, 60, 0,
			[]Material{idCard, {Name: "见义勇为事迹材料", Originals: 1, Copies: 2, Required: true}}},
		{"svc-sbk-shenling", "th-rsj", "11440106MB2C93264A4441420003000", "社会保障卡申领", CategoryPublicServices, 10, 0,
			[]Material{idCard, {Name: "近期免冠彩色照片", Originals: 1, Required: false, Note: "可现场拍摄"}}},
		{"svc-shiye-baoxian", "th-rsj", "11440106MB2C93264A4441310001000", "失业保险金申领", CategoryBenefit, 10, 0,
			[]Material{idCard, {Name: "解除或终止劳动合同证明", Originals: 1, Copies: 1, Required: true}, {Name: "本人社会保障卡", Originals: 1, Required: true}}},
		{"svc-shipin-jingying", "th-scjg", "11440106MB2C8922XK4442110013000", "食品经营许可证核发", CategoryLicensing, 10, 0,
			[]Material{idCard, {Name: "食品经营许可申请书", Originals: 1, Required: true}, {Name: "营业执照", Originals: 1, Copies: 1, Required: true}, {Name: "经营场所平面布局图", Originals: 1, Required: true}}},
		{"svc-jiechu-chafeng", "th-scjg", "11440106MB2C8922XK4442140002000", "解除查封扣押财物", CategoryEnforcement, 30, 0,
			[]Material{idCard, {Name: "查封扣押决定书", Originals: 1, Copies: 1, Required: true}}},
		{"svc-tezhong-jiancha", "th-scjg", "11440106MB2C8922XK4442160005000", "特种设备安全监督检查", CategoryInspection, 20, 0,
			[]Material{{Name: "营业执照", Originals: 1, Copies: 1, Required: true}, {Name: "特种设备使用登记证", Originals: 1, Copies: 1, Required: true}}},
		{"svc-bdc-shouci", "yx-bdc", "11440104MB2D0213XB4440120021000", "不动产首次登记", CategoryConfirmation, 5, 8000,
			[]Material{idCard, {Name: "不动产登记申请书", Originals: 1, Required: true}, {Name: "权属来源证明", Originals: 1, Copies: 1, Required: true}}},
		{"svc-tudi-zhengyi", "yx-bdc", "11440104MB2D0213XB4440170001000", "土地权属争议行政裁决", CategoryAdjudication, 180, 0,
			[]Material{idCard, {Name: "土地权属争议调处申请书", Originals: 1, Copies: 3, Required: true}, {Name: "权属证据材料", Originals: 1, Copies: 2, Required: true}}},
		{"svc-shebaofei", "yx-sw", "11440104MB2D1122XC4441200004000", "社会保险费缴费登记", CategoryCollection, 1, 0,
			[]Material{idCard, {Name: "营业执照或单位登记证书", Originals: 1, Copies: 1, Required: false}}},
		{"svc-fapiao-lingyong", "yx-sw", "11440104MB2D1122XC4441990007000", "发票领用", CategoryOtherPower, 1, 0,
			[]Material{idCard, {Name: "税务登记信息确认表", Originals: 1, Required: true}}},
		{"svc-shuishou-dengji", "yx-sw", "11440104MB2D1122XC4441200001000", "税务登记（个体工商户）", CategoryCollection, 1, 0,
			[]Material{idCard, {Name: "营业执照", Originals: 1, Copies: 1, Required: true}}},
		{"svc-jiaotong-weifa", "yx-jj", "11440104007481420X4440150001000", "道路交通安全违法行为处理", CategoryPenalty, 1, 0,
			[]Material{idCard, {Name: "机动车驾驶证", Originals: 1, Required: true}, {Name: "机动车行驶证", Originals: 1, Required: false}}},
		{"svc-jiazhao-huanzheng", "yx-jj", "11440104007481420X4440110024000", "机动车驾驶证期满换证", CategoryLicensing, 1, 1000,
			[]Material{idCard, {Name: "机动车驾驶证", Originals: 1, Required: true}, {Name: "驾驶人体检证明", Originals: 1, Required: true}}},
		{"svc-jiashizheng-buling", "yx-jj", "11440104007481420X4440110025000", "机动车驾驶证补领", CategoryLicensing, 1, 1000,
			[]Material{idCard, {Name: "近期免冠彩色照片", Originals: 1, Required: true}}},
	}
	in := CatalogImport{Halls: []Hall{tianhe, yuexiu}, Departments: depts}
	hallOf := map[string]string{}
	for _, d := range depts {
		hallOf[d.ID] = d.HallID
	}
	for _, v := range svcs {
		in.Services = append(in.Services, ServiceItem{
			ID: v.id, HallID: hallOf[v.dept], DepartmentID: v.dept, Code: v.code, Name: v.name, Type: v.typ,
			Guide: Guide{
				Conditions:      []string{"申请人为具有完全民事行为能力的自然人或依法设立的组织", "已在粤省事完成实名认证"},
				Materials:       v.materials,
				Steps:           []string{"网上预约", "按预约时间到大厅取号签到", "窗口受理并审核材料", "办结后领取结果或邮寄送达"},
				TimeLimitDays:   v.days,
				FeeFen:          int64(v.fee),
				BookingRequired: true,
				LegalBasis:      "《广东省政务服务事项目录》",
			},
		})
	}
	for _, d := range depts {
		capacity := 6
		if d.HallID == DemoHallYuexiu {
			capacity = 8
		}
		in.Schedules = append(in.Schedules, Schedule{
			ID: "sch-" + d.ID, HallID: d.HallID, DepartmentID: d.ID, SlotMinutes: 30, Capacity: capacity,
		})
	}
	// 2026 public holidays and make-up working days (国务院办公厅通知).
	hol := func(name string, dates ...string) {
		for _, d := range dates {
			in.Calendar = append(in.Calendar, CalendarDay{Date: d, Kind: DayHoliday, Name: name})
		}
	}
	work := func(name string, dates ...string) {
		for _, d := range dates {
			in.Calendar = append(in.Calendar, CalendarDay{Date: d, Kind: DayWorkday, Name: name + "调休上班", AsWeekday: 1})
		}
	}
	hol("元旦", "2026-01-01", "2026-01-02", "2026-01-03")
	work("元旦", "2026-01-04")
	hol("春节", "2026-02-15", "2026-02-16", "2026-02-17", "2026-02-18", "2026-02-19", "2026-02-20", "2026-02-21", "2026-02-22", "2026-02-23")
	work("春节", "2026-02-14", "2026-02-28")
	hol("清明节", "2026-04-04", "2026-04-05", "2026-04-06")
	hol("劳动节", "2026-05-01", "2026-05-02", "2026-05-03", "2026-05-04", "2026-05-05")
	work("劳动节", "2026-05-09")
	hol("端午节", "2026-06-19", "2026-06-20", "2026-06-21")
	hol("中秋节", "2026-09-25", "2026-09-26", "2026-09-27")
	hol("国庆节", "2026-10-01", "2026-10-02", "2026-10-03", "2026-10-04", "2026-10-05", "2026-10-06", "2026-10-07")
	work("国庆节", "2026-09-20", "2026-10-10")
	hol("元旦", "2027-01-01")
	return in
}
