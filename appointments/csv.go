package appointments

import (
	"bufio"
	"context"
	"encoding/csv"
	"io"

	"banshi/internal/platform"
)

// maxCSVRows bounds one export.
const maxCSVRows = 20000

func statusLabel(status string) string {
	switch status {
	case StatusBooked:
		return "已预约"
	case StatusCheckedIn:
		return "已签到"
	case StatusCompleted:
		return "已办结"
	case StatusNoShow:
		return "爽约"
	case StatusCancelled:
		return "已取消"
	}
	return status
}

// WriteStaffCSV writes every appointment the query selects (Page and
// PageSize are ignored) as CSV that Excel opens directly: UTF-8 with a byte
// order mark, CRLF line ends, a header row in Chinese. Cells that a
// spreadsheet would read as a formula are prefixed with an apostrophe.
// Suggested file name: "appointments-<hall>-<date>.csv", content type
// "text/csv; charset=utf-8".
//
// Errors: as ListForStaff (checked before anything is written), or the
// writer's error.
func (s *Service) WriteStaffCSV(ctx context.Context, w io.Writer, actor StaffActor, q StaffListQuery) error {
	cat, f, err := s.staffFilter(ctx, actor, &q)
	if err != nil {
		return err
	}
	docs, err := s.findSorted(ctx, f, 0, maxCSVRows)
	if err != nil {
		return err
	}
	bw := bufio.NewWriter(w)
	if _, err := bw.WriteString("\ufeff"); err != nil {
		return err
	}
	cw := csv.NewWriter(bw)
	cw.UseCRLF = true
	_ = cw.Write([]string{"日期", "开始", "结束", "部门", "事项", "姓名", "证件号码", "状态", "排队号", "预约编号"})
	people := map[string][2]string{}
	for i := range docs {
		v := s.staffView(ctx, cat, &docs[i], people)
		status := statusLabel(v.Status)
		row := []string{v.Date, v.Slot.Start.Format("15:04"), v.Slot.End.Format("15:04"), v.DepartmentName,
			v.ServiceName, v.Name, v.IDNumberMasked, status, v.QueueNumber, v.ID}
		for j := range row {
			row[j] = platform.CSVSafe(row[j])
		}
		if err := cw.Write(row); err != nil {
			return err
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return err
	}
	return bw.Flush()
}
