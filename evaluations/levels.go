package evaluations

import (
	"slices"
	"strconv"
)

// The five levels (GB/T 39734), stored by meaning.
const (
	LevelVerySatisfied    = "very_satisfied"    // 非常满意
	LevelSatisfied        = "satisfied"         // 满意
	LevelBasic            = "basic"             // 基本满意
	LevelDissatisfied     = "dissatisfied"      // 不满意
	LevelVeryDissatisfied = "very_dissatisfied" // 非常不满意
)

// Levels lists the levels from best to worst.
func Levels() []string {
	return []string{LevelVerySatisfied, LevelSatisfied, LevelBasic, LevelDissatisfied, LevelVeryDissatisfied}
}

// LevelName is the level's Chinese name.
func LevelName(level string) string {
	switch level {
	case LevelVerySatisfied:
		return "非常满意"
	case LevelSatisfied:
		return "满意"
	case LevelBasic:
		return "基本满意"
	case LevelDissatisfied:
		return "不满意"
	case LevelVeryDissatisfied:
		return "非常不满意"
	}
	return ""
}

// ValidLevel reports whether level is one of Levels.
func ValidLevel(level string) bool { return slices.Contains(Levels(), level) }

// Bad reports whether level is a 差评: 不满意 or 非常不满意.
func Bad(level string) bool { return level == LevelDissatisfied || level == LevelVeryDissatisfied }

// Codings of levels at the export boundary.
const (
	CodingGBT39046 = "gbt39046" // 1 = 非常满意 … 5 = 非常不满意 (GB/T 39046-2020)
	CodingReversed = "reversed" // 1 = 非常不满意 … 5 = 非常满意 (several provincial interfaces)
)

// LevelCode is level's code in coding ("" for an unknown level or coding).
func LevelCode(level, coding string) string {
	i := slices.Index(Levels(), level)
	if i < 0 {
		return ""
	}
	switch coding {
	case CodingGBT39046:
		return strconv.Itoa(i + 1)
	case CodingReversed:
		return strconv.Itoa(5 - i)
	}
	return ""
}

// Service modes: what was evaluated decides the indicator set.
const (
	ModeOnline = "online" // an application (网上办事)
	ModeOnsite = "onsite" // a hall visit (现场办事)
)

// Evaluation channels (评价渠道) and their GB/T 39046 codes, in the order the
// reference lists them. Banshi records evaluations from the mini-program and
// app (mobile) and default ratings (system_default).
const (
	ChannelPC            = "pc"
	ChannelMobile        = "mobile"
	ChannelQR            = "qr"
	ChannelHallTablet    = "hall_tablet"
	ChannelHallTerminal  = "hall_terminal"
	ChannelPhone         = "phone"
	ChannelSMS           = "sms"
	ChannelSystemDefault = "system_default"
)

var channelCodes = map[string]string{
	ChannelPC: "1", ChannelMobile: "2", ChannelQR: "3", ChannelHallTablet: "4",
	ChannelHallTerminal: "5", ChannelPhone: "6", ChannelSMS: "7", ChannelSystemDefault: "8",
}

// ChannelCode is the channel's code in the export ("" when unknown).
func ChannelCode(channel string) string { return channelCodes[channel] }

// Indicator codes. The same code reads positively under a good level and
// negatively under a bad one (the label says which).
const (
	IndicatorOverall       = "overall"        // 总体
	IndicatorEfficiency    = "efficiency"     // 办事效率
	IndicatorGuideAccuracy = "guide_accuracy" // 办事指南准确性 (online)
	IndicatorConvenience   = "convenience"    // 便捷程度 (online)
	IndicatorEaseOfUse     = "ease_of_use"    // 系统易用性 (online)
	IndicatorCompetence    = "competence"     // 业务能力 (on site)
	IndicatorAttitude      = "attitude"       // 服务态度 (on site)
)

// indicator is one indicator of a level's set with its label.
type indicator struct{ code, label string }

// The indicator sets: by polarity of the level and by mode.
var indicatorSets = map[bool]map[string][]indicator{
	false: { // 非常满意, 满意, 基本满意
		ModeOnline: {{IndicatorOverall, "总体满意"}, {IndicatorEfficiency, "办事效率高"},
			{IndicatorGuideAccuracy, "办事指南准确"}, {IndicatorConvenience, "办理便捷"}, {IndicatorEaseOfUse, "系统易用"}},
		ModeOnsite: {{IndicatorOverall, "总体满意"}, {IndicatorEfficiency, "办事效率高"},
			{IndicatorCompetence, "业务熟练"}, {IndicatorAttitude, "服务热情"}},
	},
	true: { // 不满意, 非常不满意
		ModeOnline: {{IndicatorOverall, "总体不满意"}, {IndicatorEfficiency, "办事效率低"},
			{IndicatorGuideAccuracy, "办事指南不准确"}, {IndicatorConvenience, "办理不便捷"}, {IndicatorEaseOfUse, "系统不好用"}},
		ModeOnsite: {{IndicatorOverall, "总体不满意"}, {IndicatorEfficiency, "办事效率低"},
			{IndicatorCompetence, "业务不熟练"}, {IndicatorAttitude, "服务态度差"}},
	},
}

// IndicatorLabel is the label of code under level in mode, "" when code is
// not in that level's set.
func IndicatorLabel(level, mode, code string) string {
	for _, in := range indicatorSets[Bad(level)][mode] {
		if in.code == code {
			return in.label
		}
	}
	return ""
}

// IndicatorCodes lists the indicator codes of level's set in mode.
func IndicatorCodes(level, mode string) []string {
	var out []string
	for _, in := range indicatorSets[Bad(level)][mode] {
		out = append(out, in.code)
	}
	return out
}
