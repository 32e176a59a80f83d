package appointments

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"banshi/internal/platform"
)

// slotDef is one computed slot. Its ID is "<schedule id>.<YYYYMMDD>.<HHMM>":
// deterministic, so every process names the same slot the same way, and its
// seats are "<slot id>#<n>".
type slotDef struct {
	ID       string
	Schedule *Schedule
	Date     string
	StartMin int
	Start    time.Time
	End      time.Time
	Capacity int
}

func makeSlotID(scheduleID, date string, startMin int) string {
	return fmt.Sprintf("%s.%s.%02d%02d", scheduleID, strings.ReplaceAll(date, "-", ""), startMin/60, startMin%60)
}

// parseSlotID splits a slot ID; ok is false when it is malformed.
func parseSlotID(id string) (scheduleID, date string, startMin int, ok bool) {
	parts := strings.Split(id, ".")
	if len(parts) != 3 || !platform.ValidCatalogID(parts[0]) || len(parts[1]) != 8 || len(parts[2]) != 4 {
		return "", "", 0, false
	}
	date = parts[1][:4] + "-" + parts[1][4:6] + "-" + parts[1][6:]
	if _, ok := parseDate(date); !ok {
		return "", "", 0, false
	}
	hh, err1 := strconv.Atoi(parts[2][:2])
	mm, err2 := strconv.Atoi(parts[2][2:])
	if err1 != nil || err2 != nil || hh > 23 || mm > 59 {
		return "", "", 0, false
	}
	return parts[0], date, hh*60 + mm, true
}

// scheduleSlots lists the slots schedule sc gives on date.
func (c *catalog) scheduleSlots(sc *Schedule, date string, respectCalendar bool) []slotDef {
	h := c.halls[sc.HallID]
	if h == nil {
		return nil
	}
	if (sc.ValidFrom != "" && date < sc.ValidFrom) || (sc.ValidTo != "" && date > sc.ValidTo) {
		return nil
	}
	p := c.plan(h, date, respectCalendar)
	if !p.working {
		return nil
	}
	if len(sc.Weekdays) > 0 && !slices.Contains(sc.Weekdays, p.weekday) {
		return nil
	}
	lo, hi := 0, 24*60
	if sc.DayStart != "" {
		lo, _ = parseClock(sc.DayStart)
	}
	if sc.DayEnd != "" {
		hi, _ = parseClock(sc.DayEnd)
	}
	ls, le := -1, -1
	if h.LunchBreak != nil {
		ls, _ = parseClock(h.LunchBreak.Start)
		le, _ = parseClock(h.LunchBreak.End)
	}
	var out []slotDef
	for _, per := range p.periods {
		from, to := max(per[0], lo), min(per[1], hi)
		for t := from; t+sc.SlotMinutes <= to; {
			if ls >= 0 && t < le && t+sc.SlotMinutes > ls {
				t = le
				continue
			}
			out = append(out, slotDef{
				ID: makeSlotID(sc.ID, date, t), Schedule: sc, Date: date, StartMin: t,
				Start: at(date, t), End: at(date, t+sc.SlotMinutes), Capacity: sc.Capacity,
			})
			t += sc.SlotMinutes
		}
	}
	return out
}

// serves reports whether schedule sc takes bookings for service v.
func serves(sc *Schedule, v *ServiceItem) bool {
	return sc.HallID == v.HallID && sc.DepartmentID == v.DepartmentID &&
		(len(sc.ServiceIDs) == 0 || slices.Contains(sc.ServiceIDs, v.ID))
}

// serviceSlots lists every slot bookable for service v on date, by start.
func (c *catalog) serviceSlots(v *ServiceItem, date string) []slotDef {
	var out []slotDef
	for _, sc := range c.schedByDept[v.HallID+"|"+v.DepartmentID] {
		if serves(sc, v) {
			out = append(out, c.scheduleSlots(sc, date, true)...)
		}
	}
	slices.SortStableFunc(out, func(a, b slotDef) int {
		if a.StartMin != b.StartMin {
			return a.StartMin - b.StartMin
		}
		return cmpStr(a.ID, b.ID)
	})
	return out
}

// lookupSlot finds slot id. found is false when the ID names no slot of the
// schedule's weekly pattern (or no schedule); closed is true when the slot
// exists in the pattern but its day is a closure or holiday.
func (c *catalog) lookupSlot(id string) (sl slotDef, found, closed bool) {
	schedID, date, startMin, ok := parseSlotID(id)
	if !ok {
		return slotDef{}, false, false
	}
	sc := c.schedules[schedID]
	if sc == nil {
		return slotDef{}, false, false
	}
	for _, x := range c.scheduleSlots(sc, date, true) {
		if x.StartMin == startMin {
			return x, true, false
		}
	}
	for _, x := range c.scheduleSlots(sc, date, false) {
		if x.StartMin == startMin {
			return x, true, true
		}
	}
	return slotDef{}, false, false
}
