package appointments

import "time"

// Hall is a government service hall (政务服务中心). Opening hours and the
// lunch break are Asia/Shanghai wall-clock times ("09:00").
type Hall struct {
	ID           string         `json:"id" bson:"_id"`
	Name         string         `json:"name" bson:"name"`
	Address      string         `json:"address" bson:"address"`
	Location     GeoPoint       `json:"location" bson:"location"`
	Phone        string         `json:"phone" bson:"phone"`
	OpeningHours []OpeningHours `json:"opening_hours" bson:"opening_hours"`
	LunchBreak   *TimeRange     `json:"lunch_break,omitempty" bson:"lunch_break,omitempty"`
	Rules        HallRules      `json:"rules" bson:"rules"`
	UpdatedAt    time.Time      `json:"updated_at" bson:"updated_at"`
}

// GeoPoint is a WGS-84 coordinate.
type GeoPoint struct {
	Lat float64 `json:"lat" bson:"lat"`
	Lng float64 `json:"lng" bson:"lng"`
}

// OpeningHours is one opening period on a weekday (0 Sunday .. 6 Saturday).
// A weekday may have several periods; a weekday without any is closed.
type OpeningHours struct {
	Weekday int    `json:"weekday" bson:"weekday"`
	Open    string `json:"open" bson:"open"`
	Close   string `json:"close" bson:"close"`
}

// TimeRange is a wall-clock range such as a lunch break.
type TimeRange struct {
	Start string `json:"start" bson:"start"`
	End   string `json:"end" bson:"end"`
}

// HallRules are the per-hall booking rules. Zero values take the defaults
// drawn from Guangdong halls (shown in brackets).
type HallRules struct {
	WindowDays          int `json:"window_days" bson:"window_days"`                     // working days bookable ahead, from the next working day [7]
	CancelBeforeMinutes int `json:"cancel_before_minutes" bson:"cancel_before_minutes"` // cancellation allowed until this long before the start [120]
	NoShowAfterMinutes  int `json:"no_show_after_minutes" bson:"no_show_after_minutes"` // no check-in this long after the slot end → no_show [30]
	MinRealnameLevel    int `json:"min_realname_level" bson:"min_realname_level"`       // real-name level needed to book [3]
}

// Department is a booking unit (预约单位) inside a hall. QueuePrefix is the
// letter of its queue numbers (A012).
type Department struct {
	ID          string    `json:"id" bson:"_id"`
	HallID      string    `json:"hall_id" bson:"hall_id"`
	Name        string    `json:"name" bson:"name"`
	QueuePrefix string    `json:"queue_prefix" bson:"queue_prefix"`
	Phone       string    `json:"phone,omitempty" bson:"phone,omitempty"`
	UpdatedAt   time.Time `json:"updated_at" bson:"updated_at"`
}

// The eleven categories of service items (事项类型).
const (
	CategoryLicensing      = "行政许可"
	CategoryCollection     = "行政征收"
	CategoryBenefit        = "行政给付"
	CategoryConfirmation   = "行政确认"
	CategoryPenalty        = "行政处罚"
	CategoryReward         = "行政奖励"
	CategoryEnforcement    = "行政强制"
	CategoryInspection     = "行政检查"
	CategoryAdjudication   = "行政裁决"
	CategoryOtherPower     = "其他行政权力"
	CategoryPublicServices = "公共服务"
)

// Categories returns the eleven categories in their customary order.
func Categories() []string {
	return []string{CategoryLicensing, CategoryCollection, CategoryBenefit, CategoryConfirmation,
		CategoryPenalty, CategoryReward, CategoryEnforcement, CategoryInspection,
		CategoryAdjudication, CategoryOtherPower, CategoryPublicServices}
}

// ServiceItem is a service (事项) offered by a department of a hall, with its
// unified code (统一事项编码), category and guide (办事指南).
type ServiceItem struct {
	ID           string    `json:"id" bson:"_id"`
	HallID       string    `json:"hall_id" bson:"hall_id"`
	DepartmentID string    `json:"department_id" bson:"department_id"`
	Code         string    `json:"code" bson:"code"`
	Name         string    `json:"name" bson:"name"`
	Type         string    `json:"type" bson:"type"`
	Guide        Guide     `json:"guide" bson:"guide"`
	UpdatedAt    time.Time `json:"updated_at" bson:"updated_at"`
}

// Guide is the service guide (办事指南).
type Guide struct {
	Conditions      []string   `json:"conditions" bson:"conditions"`
	Materials       []Material `json:"materials" bson:"materials"`
	Steps           []string   `json:"steps" bson:"steps"`
	TimeLimitDays   int        `json:"time_limit_days" bson:"time_limit_days"` // legal time limit in working days
	FeeFen          int64      `json:"fee_fen" bson:"fee_fen"`
	BookingRequired bool       `json:"booking_required" bson:"booking_required"`
	LegalBasis      string     `json:"legal_basis,omitempty" bson:"legal_basis,omitempty"`
}

// Material is one document to bring: how many originals and copies.
type Material struct {
	Name      string `json:"name" bson:"name"`
	Originals int    `json:"originals" bson:"originals"`
	Copies    int    `json:"copies" bson:"copies"`
	Required  bool   `json:"required" bson:"required"`
	Note      string `json:"note,omitempty" bson:"note,omitempty"`
}

// Schedule says when a department of a hall receives booked visitors: slots of
// SlotMinutes inside the hall's opening hours (minus the lunch break),
// Capacity people each. Weekdays (0 Sunday .. 6 Saturday) limits the days
// (empty: every day the hall is open); ValidFrom/ValidTo ("YYYY-MM-DD",
// optional) bound the dates; DayStart/DayEnd ("HH:MM", optional) narrow the
// hours; ServiceIDs limits the services (empty: every service of the
// department). Slots are computed, not stored: a slot ID names its schedule,
// date and start, so closures and holidays apply at once.
type Schedule struct {
	ID           string    `json:"id" bson:"_id"`
	HallID       string    `json:"hall_id" bson:"hall_id"`
	DepartmentID string    `json:"department_id" bson:"department_id"`
	ServiceIDs   []string  `json:"service_ids" bson:"service_ids"`
	SlotMinutes  int       `json:"slot_minutes" bson:"slot_minutes"`
	Capacity     int       `json:"capacity" bson:"capacity"`
	Weekdays     []int     `json:"weekdays" bson:"weekdays"`
	ValidFrom    string    `json:"valid_from,omitempty" bson:"valid_from,omitempty"`
	ValidTo      string    `json:"valid_to,omitempty" bson:"valid_to,omitempty"`
	DayStart     string    `json:"day_start,omitempty" bson:"day_start,omitempty"`
	DayEnd       string    `json:"day_end,omitempty" bson:"day_end,omitempty"`
	UpdatedAt    time.Time `json:"updated_at" bson:"updated_at"`
	// Rev is new with every write of the schedule (not shown): the seat
	// pools of its slots are named after it, so a changed schedule never
	// meets a pool built for an earlier version (fastpath.go).
	Rev string `json:"-" bson:"rev,omitempty"`
}

// Calendar day kinds.
const (
	DayHoliday = "holiday" // public holiday: halls closed
	DayClosure = "closure" // this hall closed (maintenance, ...)
	DayWorkday = "workday" // make-up working day (调休上班), usually a weekend
)

// CalendarDay overrides the weekly pattern on one date. HallID "" applies to
// every hall (public holidays and make-up days); a hall's own entry on the
// same date wins. A workday opens with the hours of AsWeekday (default 1,
// Monday).
type CalendarDay struct {
	ID        string    `json:"id" bson:"_id"`
	HallID    string    `json:"hall_id" bson:"hall_id"`
	Date      string    `json:"date" bson:"date"`
	Kind      string    `json:"kind" bson:"kind"`
	Name      string    `json:"name" bson:"name"`
	AsWeekday int       `json:"as_weekday,omitempty" bson:"as_weekday,omitempty"`
	UpdatedAt time.Time `json:"updated_at" bson:"updated_at"`
}

func calendarID(hallID, date string) string {
	if hallID == "" {
		return "*|" + date
	}
	return hallID + "|" + date
}
