package evaluations

import (
	"bufio"
	"cmp"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"banshi/internal/platform"
)

// Dimensions the statistics group by.
const (
	ByHall       = "hall"
	ByDepartment = "department"
	ByService    = "service"
	ByChannel    = "channel"
	ByStaff      = "staff"
)

// MaxStatsRange is the longest period one statistics or export request
// covers.
const MaxStatsRange = 366 * 24 * time.Hour

// StatsQuery selects the evaluations counted: created in [From, To).
type StatsQuery struct {
	By   string
	From time.Time
	To   time.Time
}

// Group is the statistics of one value of the dimension ("" when unknown:
// an application has no hall, a visit may have no staff recorded).
type Group struct {
	Key string `json:"key"`
	// Counts of effective evaluations per level (all five present).
	Counts      map[string]int `json:"counts"`
	Total       int            `json:"total"`       // effective evaluations
	Defaults    int            `json:"defaults"`    // of which default ratings
	Ineffective int            `json:"ineffective"` // annulled by an upheld appeal (not counted above)
	BadRate     float64        `json:"bad_rate"`    // 差评 / total
	Tickets     int            `json:"tickets"`     // tickets of effective 差评s
	Rectified   int            `json:"rectified"`   // of which rectified (or further)
	CalledBack  int            `json:"called_back"` // of which called back
	Overdue     int            `json:"overdue"`     // of which overdue now
	// RectificationRate and CallbackRate are shares of Tickets (0 without).
	RectificationRate float64 `json:"rectification_rate"`
	CallbackRate      float64 `json:"callback_rate"`
}

// Stats is the answer of Statistics.
type Stats struct {
	By     string    `json:"by"`
	From   time.Time `json:"from"`
	To     time.Time `json:"to"`
	Groups []Group   `json:"groups"`
	Total  Group     `json:"total"`
}

func (q StatsQuery) check(needBy bool) error {
	if needBy && !slices.Contains([]string{ByHall, ByDepartment, ByService, ByChannel, ByStaff}, q.By) {
		return platform.Invalid("by", "enum", "统计维度应为 hall、department、service、channel 或 staff")
	}
	if q.From.IsZero() || q.To.IsZero() {
		return platform.Invalid("from", "required", "请指定统计时段 from 与 to")
	}
	if !q.To.After(q.From) {
		return platform.Invalid("to", "range", "结束时间应晚于开始时间")
	}
	if q.To.Sub(q.From) > MaxStatsRange {
		return platform.Invalid("to", "range", "统计时段不能超过 366 天")
	}
	return nil
}

func (d evalDoc) dimension(by string) string {
	switch by {
	case ByHall:
		return d.HallID
	case ByDepartment:
		return d.Department
	case ByService:
		return d.ServiceCode
	case ByChannel:
		return d.Channel
	case ByStaff:
		return d.StaffID
	}
	return ""
}

// each calls fn with every evaluation created in [from, to), oldest first,
// reading them one by one.
func (s *Service) each(ctx context.Context, from, to time.Time, fn func(evalDoc) error) error {
	cur, err := s.evals.Find(ctx, bson.M{"created_at": bson.M{"$gte": from.UTC(), "$lt": to.UTC()}},
		options.Find().SetSort(bson.D{{Key: "created_at", Value: 1}, {Key: "_id", Value: 1}}))
	if err != nil {
		return fmt.Errorf("read evaluations: %w", err)
	}
	defer cur.Close(ctx)
	for cur.Next(ctx) {
		var d evalDoc
		if err := cur.Decode(&d); err != nil {
			return fmt.Errorf("read evaluations: %w", err)
		}
		if err := fn(d); err != nil {
			return err
		}
	}
	if err := cur.Err(); err != nil {
		return fmt.Errorf("read evaluations: %w", err)
	}
	return nil
}

func newGroup(key string) *Group {
	g := &Group{Key: key, Counts: map[string]int{}}
	for _, l := range Levels() {
		g.Counts[l] = 0
	}
	return g
}

// Statistics counts the evaluations created in [q.From, q.To) by q.By:
// counts per level, the bad-review rate, and the rectification and call-back
// rates of their tickets. Errors: platform.Invalid (by, from, to), storage
// errors.
func (s *Service) Statistics(ctx context.Context, q StatsQuery) (Stats, error) {
	if err := q.check(true); err != nil {
		return Stats{}, err
	}
	now := s.now()
	groups := map[string]*Group{}
	total := newGroup("")
	err := s.each(ctx, q.From, q.To, func(d evalDoc) error {
		key := d.dimension(q.By)
		g := groups[key]
		if g == nil {
			g = newGroup(key)
			groups[key] = g
		}
		var t *ticketDoc
		if d.Effective && Bad(d.Level) {
			td, err := s.ticket(ctx, d.ID)
			if err == nil {
				t = &td
			} else if !errors.Is(err, ErrTicketNotFound) {
				return err
			}
		}
		for _, g := range []*Group{g, total} {
			g.add(d, t, now)
		}
		return nil
	})
	if err != nil {
		return Stats{}, err
	}
	out := Stats{By: q.By, From: platform.Local(q.From), To: platform.Local(q.To), Groups: []Group{}}
	for _, g := range groups {
		out.Groups = append(out.Groups, g.finish())
	}
	slices.SortFunc(out.Groups, func(a, b Group) int { return cmp.Compare(a.Key, b.Key) })
	out.Total = total.finish()
	return out, nil
}

func (g *Group) add(d evalDoc, t *ticketDoc, now time.Time) {
	if !d.Effective {
		g.Ineffective++
		return
	}
	g.Total++
	g.Counts[d.Level]++
	if d.Default {
		g.Defaults++
	}
	if t == nil {
		return
	}
	g.Tickets++
	if slices.Contains([]string{StateRectified, StateReplied, StateClosed}, t.State) {
		g.Rectified++
	}
	if t.Callback != nil {
		g.CalledBack++
	}
	if t.overdue(now) {
		g.Overdue++
	}
}

func rate(n, of int) float64 {
	if of == 0 {
		return 0
	}
	return float64(int(float64(n)/float64(of)*10000+0.5)) / 10000
}

func (g *Group) finish() Group {
	out := *g
	out.BadRate = rate(g.Counts[LevelDissatisfied]+g.Counts[LevelVeryDissatisfied], g.Total)
	out.RectificationRate = rate(g.Rectified, g.Tickets)
	out.CallbackRate = rate(g.CalledBack, g.Tickets)
	return out
}

// ExportHeader is the CSV export's header (GB/T 39046 fields).
var ExportHeader = []string{"评价编号", "办件编号", "预约编号", "事项编码", "事项名称", "部门", "大厅", "工作人员",
	"评价人类型", "评价渠道", "评价时间", "评价次序", "评价等级", "评价指标", "评价内容", "默认评价", "有效评价", "行政区划代码"}

// WriteCSV exports the evaluations created in [q.From, q.To) with levels in
// coding (CodingGBT39046 or CodingReversed) and channels in their GB/T
// 39046 codes; every text cell is made safe for spreadsheets
// (platform.CSVSafe); UTF-8 with a BOM, CRLF line ends, as the other
// exports. At most MaxExportRows rows. What was written before an error is
// to be dropped by the caller.
// Errors: platform.Invalid (coding, from, to; from check too_many_rows),
// storage errors.
func (s *Service) WriteCSV(ctx context.Context, w io.Writer, q StatsQuery, coding string) error {
	if coding != CodingGBT39046 && coding != CodingReversed {
		return platform.Invalid("coding", "enum", "编码应为 gbt39046 或 reversed")
	}
	if err := q.check(false); err != nil {
		return err
	}
	bw := bufio.NewWriter(w)
	if _, err := bw.WriteString("\ufeff"); err != nil { // Excel reads UTF-8 with its BOM
		return err
	}
	cw := csv.NewWriter(bw)
	cw.UseCRLF = true
	if err := cw.Write(ExportHeader); err != nil {
		return err
	}
	flag := func(b bool) string {
		if b {
			return "1"
		}
		return "0"
	}
	rows := 0
	err := s.each(ctx, q.From, q.To, func(d evalDoc) error {
		if rows++; rows > MaxExportRows {
			return platform.Invalid("from", "too_many_rows", "导出记录超过 "+strconv.Itoa(MaxExportRows)+" 条，请缩短时段")
		}
		var appNo, apptID string
		if d.Kind == KindApplication {
			appNo = d.SubjectRef
		} else {
			apptID = d.SubjectRef
		}
		who := "1" // 自然人
		if d.Evaluator.Type == EvaluatorEnterprise {
			who = "2" // 法人
		}
		row := []string{d.ID, appNo, apptID, d.ServiceCode, d.ServiceName, d.Department, d.HallID, d.StaffID,
			who, ChannelCode(d.Channel), platform.Local(d.CreatedAt).Format(time.RFC3339), strconv.Itoa(d.Sequence),
			LevelCode(d.Level, coding), strings.Join(d.Indicators, ";"), d.Text, flag(d.Default), flag(d.Effective), d.Region}
		for i := range row {
			row[i] = platform.CSVSafe(row[i])
		}
		return cw.Write(row)
	})
	if err != nil {
		return err
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return err
	}
	return bw.Flush()
}

// MaxExportRows is the most evaluations one export carries.
const MaxExportRows = 100000

// DefaultPeriodDays is the period statistics cover when no dates are given:
// the last 30 days, today included.
const DefaultPeriodDays = 30

// Period reads a statistics period from dates "YYYY-MM-DD" (Asia/Shanghai,
// both included): [from 00:00, the day after to 00:00). A missing to is
// today (at now); a missing from is DefaultPeriodDays days before to.
// Errors: platform.Invalid (from, to: format; to before from).
func Period(from, to string, now time.Time) (time.Time, time.Time, error) {
	day := func(field, v string) (time.Time, error) {
		t, err := time.ParseInLocation("2006-01-02", v, platform.Shanghai())
		if err != nil {
			return time.Time{}, platform.Invalid(field, "format", "日期格式应为 YYYY-MM-DD")
		}
		return t, nil
	}
	local := now.In(platform.Shanghai())
	end := time.Date(local.Year(), local.Month(), local.Day(), 0, 0, 0, 0, platform.Shanghai())
	if to != "" {
		t, err := day("to", to)
		if err != nil {
			return time.Time{}, time.Time{}, err
		}
		end = t
	}
	begin := end.AddDate(0, 0, -(DefaultPeriodDays - 1))
	if from != "" {
		t, err := day("from", from)
		if err != nil {
			return time.Time{}, time.Time{}, err
		}
		begin = t
	}
	end = end.AddDate(0, 0, 1)
	if !end.After(begin) {
		return time.Time{}, time.Time{}, platform.Invalid("to", "range", "结束日期不能早于开始日期")
	}
	return begin.UTC(), end.UTC(), nil
}

// StatsFor is Statistics over the period of the dates from and to (Period,
// today by the service's clock). Errors: as Period and Statistics.
func (s *Service) StatsFor(ctx context.Context, by, from, to string) (Stats, error) {
	b, e, err := Period(from, to, s.clock.Now())
	if err != nil {
		return Stats{}, err
	}
	return s.Statistics(ctx, StatsQuery{By: by, From: b, To: e})
}

// ExportFor is WriteCSV over the period of the dates from and to.
// Errors: as Period and WriteCSV.
func (s *Service) ExportFor(ctx context.Context, w io.Writer, coding, from, to string) error {
	b, e, err := Period(from, to, s.clock.Now())
	if err != nil {
		return err
	}
	return s.WriteCSV(ctx, w, StatsQuery{From: b, To: e}, coding)
}
