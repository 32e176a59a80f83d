package platform

// USCC is a unified social credit code (统一社会信用代码, GB 32100-2015) that
// passed the structure checks of ParseUSCC. CheckMatches tells whether its 18th
// character is the check character the standard computes: a code that is
// well-formed but whose check character does not match is not refused,
// because genuine codes registered before 2016 exist that fail it (e.g.
// 91350203M0001QKT19); such a code is to be verified against the registry,
// which decides.
type USCC struct {
	Code         string // the 18 characters, as given
	Authority    byte   // position 1: registration authority (登记管理部门) code
	Category     byte   // position 2: organisation category (机构类别) code
	Division     string // positions 3–8: administrative division (GB/T 2260)
	OrgCode      string // positions 9–17: organisation code (GB 11714), its own check last
	CheckMatches bool   // position 18 is the GB 32100 check character
}

// String returns the code.
func (u USCC) String() string { return u.Code }

// The checks ParseUSCC reports (platform.Error.Check), in the order it makes
// them.
const (
	USCCCheckLength   = "length"         // not exactly 18 bytes
	USCCCheckAlphabet = "alphabet"       // a character outside 0-9 A-H J-N P-R T U W-Y
	USCCCheckCategory = "category"       // unknown authority, or a category that authority does not have
	USCCCheckDivision = "division"       // positions 3–8 not a GB/T 2260 division shape
	USCCCheckOrgCode  = "org_code_check" // position 17 is not the GB 11714 check of 9–16
)

// usccField is the field ParseUSCC's errors name; callers re-field them
// ("payer.uscc", "applicant.uscc").
const usccField = "uscc"

// usccAlphabet is GB 32100's character set; a character's value is its index.
const usccAlphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"

// usccWeights are the weights of positions 1–17: 3^(i−1) mod 31.
var usccWeights = [17]int{1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28}

// orgCodeWeights are GB 11714's weights of the organisation code's 8 body
// characters.
var orgCodeWeights = [8]int{3, 7, 9, 10, 5, 8, 4, 2}

// usccCategories maps each registration authority code of GB 32100-2015
// appendix A (with the later A and N) to the category codes it has.
var usccCategories = map[byte]string{
	'1': "1239",   // 机构编制: 机关, 事业单位, 中央编办直管群众团体, 其他
	'2': "19",     // 外交: 外国常驻新闻机构, 其他
	'3': "123459", // 司法行政: 律师执业机构, 公证处, 基层法律服务所, 司法鉴定机构, 仲裁委员会, 其他
	'4': "19",     // 文化: 外国在华文化中心, 其他
	'5': "1239",   // 民政: 社会团体, 民办非企业单位, 基金会, 其他
	'6': "129",    // 旅游: 外国旅游部门常驻代表机构, 港澳台地区旅游部门常驻代表机构, 其他
	'7': "129",    // 宗教: 宗教活动场所, 宗教院校, 其他
	'8': "19",     // 工会: 基层工会, 其他
	'9': "123",    // 工商: 企业, 个体工商户, 农民专业合作社
	'A': "19",     // 中央军委改革和编制办公室: 军队事业单位, 其他
	'N': "1239",   // 农业: 组级, 村级, 乡镇级集体经济组织, 其他
	'Y': "1",      // 其他
}

// ParseUSCC checks s as a unified social credit code and returns its parts.
// s is taken as it is: callers trim it; lower-case letters are refused.
//
// A malformed code is a platform.Invalid error with Field "uscc" and Check,
// the first that fails in this order:
//   - USCCCheckLength ("length"): not 18 characters;
//   - USCCCheckAlphabet ("alphabet"): a character outside the GB 32100 set
//     (digits and capital letters without I, O, S, V, Z);
//   - USCCCheckCategory ("category"): position 1 is not a known registration
//     authority, or position 2 not one of that authority's categories;
//   - USCCCheckDivision ("division"): positions 3–8 are not six digits
//     starting with a GB/T 2260 province code (100000, the national level,
//     also passes);
//   - USCCCheckOrgCode ("org_code_check"): position 17 is not the GB 11714
//     check character of positions 9–16.
//
// A code passing them all is returned without error; CheckMatches is false
// when position 18 is not the GB 32100 check character (verify it against
// the registry rather than refuse it). An 18-digit resident ID number fails
// the structure checks (its division shape or its category) even when it
// happens to pass the final check.
func ParseUSCC(s string) (USCC, error) {
	if len(s) != 18 {
		return USCC{}, Invalid(usccField, USCCCheckLength, "统一社会信用代码应为 18 位")
	}
	var vals [18]int
	for i := 0; i < 18; i++ {
		v := usccValue(s[i])
		if v < 0 {
			return USCC{}, Invalid(usccField, USCCCheckAlphabet, "统一社会信用代码应为数字或大写字母（不含 I、O、S、V、Z）")
		}
		vals[i] = v
	}
	cats, ok := usccCategories[s[0]]
	if !ok || !containsByte(cats, s[1]) {
		return USCC{}, Invalid(usccField, USCCCheckCategory, "统一社会信用代码的登记管理部门或机构类别代码无效")
	}
	if !usccDivision(s[2:8]) {
		return USCC{}, Invalid(usccField, USCCCheckDivision, "统一社会信用代码的行政区划码无效")
	}
	if OrgCodeCheck(s[8:16]) != s[16] {
		return USCC{}, Invalid(usccField, USCCCheckOrgCode, "统一社会信用代码中的组织机构代码校验位错误")
	}
	return USCC{
		Code:         s,
		Authority:    s[0],
		Category:     s[1],
		Division:     s[2:8],
		OrgCode:      s[8:17],
		CheckMatches: usccCheck(vals[:17]) == s[17],
	}, nil
}

// USCCWithCheck returns first17 followed by its GB 32100 check character: a
// code that ParseUSCC accepts with CheckMatches when first17's structure is
// valid. Useful for demo data and tests. It panics unless first17 is 17
// characters of the GB 32100 set.
func USCCWithCheck(first17 string) string {
	if len(first17) != 17 {
		panic("platform.USCCWithCheck: want 17 characters")
	}
	vals := make([]int, 17)
	for i := range 17 {
		if vals[i] = usccValue(first17[i]); vals[i] < 0 {
			panic("platform.USCCWithCheck: character outside the GB 32100 set")
		}
	}
	return first17 + string(usccCheck(vals))
}

// usccValue is c's value in the GB 32100 set, −1 outside it.
func usccValue(c byte) int {
	for i := 0; i < len(usccAlphabet); i++ {
		if usccAlphabet[i] == c {
			return i
		}
	}
	return -1
}

// usccCheck is the check character of 17 values: 31 − (Σ vᵢ·wᵢ mod 31), with
// 31 meaning 0.
func usccCheck(vals []int) byte {
	sum := 0
	for i, v := range vals {
		sum += v * usccWeights[i]
	}
	return usccAlphabet[(31-sum%31)%31]
}

// OrgCodeCheck is the GB 11714 check character of an organisation code's 8
// body characters (digits, and letters valued A=10 … Z=35): 11 − (Σ mod 11),
// 10 written X and 11 written 0. body is already known to be of the GB 32100
// set.
func OrgCodeCheck(body string) byte {
	sum := 0
	for i := 0; i < 8; i++ {
		c := body[i]
		v := int(c - '0')
		if c >= 'A' {
			v = int(c-'A') + 10
		}
		sum += v * orgCodeWeights[i]
	}
	switch c := 11 - sum%11; c {
	case 10:
		return 'X'
	case 11:
		return '0'
	default:
		return byte('0' + c)
	}
}

// usccDivision reports whether d has the shape of a GB/T 2260 division code:
// six digits starting with a province-level code, or 100000 (the national
// level, used by central authorities).
func usccDivision(d string) bool {
	for i := 0; i < len(d); i++ {
		if d[i] < '0' || d[i] > '9' {
			return false
		}
	}
	return d == "100000" || IsProvinceCode(d[:2])
}

// IsProvinceCode reports whether code is a province-level code of GB/T 2260
// (including 71 Taiwan, 81 Hong Kong, 82 Macao): the first two digits of an
// ID number's or a USCC's division.
func IsProvinceCode(code string) bool {
	switch code {
	case "11", "12", "13", "14", "15",
		"21", "22", "23",
		"31", "32", "33", "34", "35", "36", "37",
		"41", "42", "43", "44", "45", "46",
		"50", "51", "52", "53", "54",
		"61", "62", "63", "64", "65",
		"71", "81", "82":
		return true
	}
	return false
}

func containsByte(s string, c byte) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			return true
		}
	}
	return false
}
