package sim

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"banshi/internal/platform"
)

// Registry simulates the 市场监管 enterprise registration records (企业登记)
// that Banshi consults to bind an enterprise to its legal representative:
// who the enterprise is (USCC, name, status), who represents it in law (name
// and resident ID number), where it is, what it does (business scope, GB/T
// 4754 industry) and how large it is. Serve Handler under "/sim/registry/".
// It seeds nothing; tests and development add enterprises through the control
// endpoints or Add.
//
// Protocol (what Banshi calls; the reference describes no authentication for
// the registry, so there is none):
//
//	GET /sim/registry/enterprises/{uscc}  → 200 the Enterprise record;
//	    400 {"error":{"code":"invalid_argument","field":"uscc","check",…}}
//	    when the code is malformed (platform.ParseUSCC); 404
//	    {"error":{"code":"not_found",…}} when no enterprise has it. A
//	    well-formed code whose check character does not match is looked up
//	    as it is: the registry is what decides whether it exists.
//
// Control (tests, development):
//
//	POST /sim/registry/control/enterprises  an Enterprise → 201 the record as
//	     stored (text trimmed, a final 'x' of the ID number made 'X'); 400
//	     invalid_argument naming the field and check (a malformed USCC with
//	     ParseUSCC's check; unknown JSON fields; the checks of Enterprise);
//	     409 "duplicate" when the USCC is registered already; 409 "full"
//	     beyond MaxRegistryEnterprises. Nothing is stored on an error.
//	PUT  /sim/registry/control/enterprises/{uscc}  an Enterprise (its uscc
//	     left out or equal to the path's) → 200 the record, replacing the
//	     one stored; 400 as for POST (and when the body names another
//	     USCC); 404 not_found when none is registered.
//	GET  /sim/registry/control/enterprises  → 200 {"enterprises":[…]} ordered
//	     by USCC.
//
// Errors answer {"error":{"code","message"[,"field","check"]}}. State is in
// memory and safe for concurrent use.
type Registry struct {
	mu          sync.Mutex
	enterprises map[string]Enterprise // by USCC
}

// Enterprise is one registration record.
type Enterprise struct {
	USCC                string              `json:"uscc"`
	Name                string              `json:"name"`
	Status              string              `json:"status"` // one of the RegistryStatus values
	LegalRepresentative LegalRepresentative `json:"legal_representative"`
	Address             string              `json:"address,omitempty"`
	BusinessScope       string              `json:"business_scope,omitempty"`
	Industry            string              `json:"industry,omitempty"`      // GB/T 4754-2017 code: section letter A–T, then 2 to 4 digits (e.g. I6513)
	Size                string              `json:"size,omitempty"`          // one of the RegistrySize values
	RegisteredAt        string              `json:"registered_at,omitempty"` // date of establishment, YYYY-MM-DD
}

// LegalRepresentative is the enterprise's 法定代表人 as registered.
type LegalRepresentative struct {
	Name     string `json:"name"`
	IDNumber string `json:"id_number"` // 18-character resident ID number
}

// Registration statuses (登记状态) as the registry writes them.
const (
	RegistryStatusSubsisting  = "存续" // registered and not dissolved
	RegistryStatusOperating   = "在业"
	RegistryStatusRevoked     = "吊销" // business licence revoked
	RegistryStatusCancelled   = "注销" // deregistered
	RegistryStatusMovedOut    = "迁出"
	RegistryStatusSuspended   = "停业"
	RegistryStatusLiquidating = "清算"
)

// Enterprise sizes (企业规模, 大中小微).
const (
	RegistrySizeLarge  = "大型"
	RegistrySizeMedium = "中型"
	RegistrySizeSmall  = "小型"
	RegistrySizeMicro  = "微型"
)

// Bounds of a record.
const (
	MaxRegistryEnterprises = 10000
	maxEnterpriseName      = 100  // runes
	maxEnterpriseAddress   = 200  // runes
	maxBusinessScope       = 2000 // runes
	maxPersonName          = 30   // runes
)

var (
	registryStatuses   = []string{RegistryStatusSubsisting, RegistryStatusOperating, RegistryStatusRevoked, RegistryStatusCancelled, RegistryStatusMovedOut, RegistryStatusSuspended, RegistryStatusLiquidating}
	registrySizes      = []string{RegistrySizeLarge, RegistrySizeMedium, RegistrySizeSmall, RegistrySizeMicro}
	industryPattern    = regexp.MustCompile(`^[A-T]([0-9]{2}[0-9]{0,2})?$`)
	errRegistryDup     = errors.New("duplicate")
	errRegistryUnknown = errors.New("not registered")
	errRegistryFull    = errors.New("registry full")
)

// DemoUSCC is the demo enterprise's code: 91440101MA5CXXXX with its GB 11714
// organisation code check (7) and GB 32100 check (X). The earlier demo code
// 91440101MA5CXXXX0Y fails the organisation code check.
const DemoUSCC = "91440101MA5CXXXX7X"

// DemoEnterprise is the demo enterprise, represented by the README's demo
// citizen 张三, for tests and development to add.
func DemoEnterprise() Enterprise {
	return Enterprise{
		USCC:                DemoUSCC,
		Name:                "广州某某科技有限公司",
		Status:              RegistryStatusSubsisting,
		LegalRepresentative: LegalRepresentative{Name: "张三", IDNumber: "11010519491231002X"},
		Address:             "广州市天河区天河路 1 号",
		BusinessScope:       "软件开发；信息技术咨询服务；信息系统集成服务。",
		Industry:            "I6513",
		Size:                RegistrySizeSmall,
		RegisteredAt:        "2016-03-18",
	}
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry { return &Registry{enterprises: map[string]Enterprise{}} }

// Add registers e and returns it as stored. Errors: a platform.Invalid error
// naming the field and check (see ValidateEnterprise); errRegistryDup when
// its USCC is registered; errRegistryFull beyond MaxRegistryEnterprises.
// Nothing is stored on an error.
func (r *Registry) Add(e Enterprise) (Enterprise, error) {
	e, err := ValidateEnterprise(e)
	if err != nil {
		return Enterprise{}, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.enterprises[e.USCC]; ok {
		return Enterprise{}, errRegistryDup
	}
	if len(r.enterprises) >= MaxRegistryEnterprises {
		return Enterprise{}, errRegistryFull
	}
	r.enterprises[e.USCC] = e
	return e, nil
}

// Update replaces the record of e.USCC and returns it as stored. Errors: as
// Add's validation; errRegistryUnknown when the USCC is not registered.
func (r *Registry) Update(e Enterprise) (Enterprise, error) {
	e, err := ValidateEnterprise(e)
	if err != nil {
		return Enterprise{}, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.enterprises[e.USCC]; !ok {
		return Enterprise{}, errRegistryUnknown
	}
	r.enterprises[e.USCC] = e
	return e, nil
}

// Lookup returns the record of uscc.
func (r *Registry) Lookup(uscc string) (Enterprise, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	e, ok := r.enterprises[uscc]
	return e, ok
}

// List returns every record, ordered by USCC.
func (r *Registry) List() []Enterprise {
	r.mu.Lock()
	out := make([]Enterprise, 0, len(r.enterprises))
	for _, e := range r.enterprises {
		out = append(out, e)
	}
	r.mu.Unlock()
	slices.SortFunc(out, func(a, b Enterprise) int { return strings.Compare(a.USCC, b.USCC) })
	return out
}

// ValidateEnterprise checks e and returns it normalised (text trimmed, a
// final 'x' of the ID number made 'X'). Failures are platform.Invalid errors,
// first failing in this order:
//   - "uscc": ParseUSCC's checks (a wrong final check character passes: the
//     registry holds such genuine codes);
//   - "name": "required", "length" (over 100 runes), "format" (control
//     characters or invalid UTF-8);
//   - "status": "required", "enum" (not a RegistryStatus value);
//   - "legal_representative.name": "required", "length" (over 30 runes),
//     "format";
//   - "legal_representative.id_number": "required", "format" (not 17 digits
//     and a digit or X), "check_digit" (ISO 7064 MOD 11-2);
//   - "address" (200 runes), "business_scope" (2000 runes): "length",
//     "format";
//   - "industry": "format" (not a GB/T 4754 code);
//   - "size": "enum" (not a RegistrySize value);
//   - "registered_at": "format" (not a YYYY-MM-DD date).
func ValidateEnterprise(e Enterprise) (Enterprise, error) {
	e.USCC = strings.TrimSpace(e.USCC)
	if _, err := platform.ParseUSCC(e.USCC); err != nil {
		return Enterprise{}, err
	}
	var err error
	if e.Name, err = registryText("name", e.Name, maxEnterpriseName, true); err != nil {
		return Enterprise{}, err
	}
	e.Status = strings.TrimSpace(e.Status)
	switch {
	case e.Status == "":
		return Enterprise{}, platform.Invalid("status", "required", "缺少登记状态")
	case !slices.Contains(registryStatuses, e.Status):
		return Enterprise{}, platform.Invalid("status", "enum", "登记状态应为 存续、在业、吊销、注销、迁出、停业 或 清算")
	}
	lr := &e.LegalRepresentative
	if lr.Name, err = registryText("legal_representative.name", lr.Name, maxPersonName, true); err != nil {
		return Enterprise{}, err
	}
	lr.IDNumber = strings.ToUpper(strings.TrimSpace(lr.IDNumber))
	switch {
	case lr.IDNumber == "":
		return Enterprise{}, platform.Invalid("legal_representative.id_number", "required", "缺少法定代表人身份证号")
	case !idNumberShaped(lr.IDNumber):
		return Enterprise{}, platform.Invalid("legal_representative.id_number", "format", "身份证号应为 17 位数字加 1 位数字或 X")
	case idCheckDigit(lr.IDNumber[:17]) != lr.IDNumber[17]:
		return Enterprise{}, platform.Invalid("legal_representative.id_number", "check_digit", "身份证号校验位错误")
	}
	if e.Address, err = registryText("address", e.Address, maxEnterpriseAddress, false); err != nil {
		return Enterprise{}, err
	}
	if e.BusinessScope, err = registryText("business_scope", e.BusinessScope, maxBusinessScope, false); err != nil {
		return Enterprise{}, err
	}
	e.Industry = strings.TrimSpace(e.Industry)
	if e.Industry != "" && !industryPattern.MatchString(e.Industry) {
		return Enterprise{}, platform.Invalid("industry", "format", "行业代码应为 GB/T 4754 门类字母加 2 至 4 位数字")
	}
	e.Size = strings.TrimSpace(e.Size)
	if e.Size != "" && !slices.Contains(registrySizes, e.Size) {
		return Enterprise{}, platform.Invalid("size", "enum", "企业规模应为 大型、中型、小型 或 微型")
	}
	e.RegisteredAt = strings.TrimSpace(e.RegisteredAt)
	if e.RegisteredAt != "" {
		if _, err := time.Parse(time.DateOnly, e.RegisteredAt); err != nil {
			return Enterprise{}, platform.Invalid("registered_at", "format", "成立日期应为 YYYY-MM-DD")
		}
	}
	return e, nil
}

// registryText trims s and checks it is at most max runes of text without
// control characters, and present when required.
func registryText(field, s string, max int, required bool) (string, error) {
	s = strings.TrimSpace(s)
	switch {
	case s == "" && required:
		return "", platform.Invalid(field, "required", "缺少"+registryFieldName[field])
	case !utf8.ValidString(s) || strings.IndexFunc(s, unicode.IsControl) >= 0:
		return "", platform.Invalid(field, "format", registryFieldName[field]+"含有控制字符")
	case utf8.RuneCountInString(s) > max:
		return "", platform.Invalid(field, "length", fmt.Sprintf("%s最多 %d 个字", registryFieldName[field], max))
	}
	return s, nil
}

var registryFieldName = map[string]string{
	"name": "企业名称", "legal_representative.name": "法定代表人姓名",
	"address": "住所", "business_scope": "经营范围",
}

// idNumberShaped reports 17 ASCII digits followed by a digit or X.
func idNumberShaped(id string) bool {
	if len(id) != 18 {
		return false
	}
	for i := 0; i < 17; i++ {
		if id[i] < '0' || id[i] > '9' {
			return false
		}
	}
	return id[17] == 'X' || id[17] >= '0' && id[17] <= '9'
}

// idCheckDigit is the GB 11643 (ISO 7064 MOD 11-2) check character of 17
// digits.
func idCheckDigit(first17 string) byte {
	sum, w := 0, 1
	for i := 16; i >= 0; i-- {
		w = w * 2 % 11
		sum += int(first17[i]-'0') * w
	}
	return "10X98765432"[sum%11]
}

// registryError is an error body; field and check name a bad input.
type registryError struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		Field   string `json:"field,omitempty"`
		Check   string `json:"check,omitempty"`
	} `json:"error"`
}

// writeRegistryError answers status with err: a platform.Error's code,
// message, field and check, or code and msg.
func writeRegistryError(rw http.ResponseWriter, status int, code, msg string, err error) {
	var body registryError
	body.Error.Code, body.Error.Message = code, msg
	if pe, ok := platform.AsError(err); ok {
		body.Error.Code, body.Error.Message, body.Error.Field, body.Error.Check = pe.Code, pe.Message, pe.Field, pe.Check
	}
	writeControl(rw, status, body)
}

// Handler serves the registry's paths under /sim/registry/.
func (r *Registry) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /sim/registry/enterprises/{uscc}", r.handleQuery)
	mux.HandleFunc("POST /sim/registry/control/enterprises", r.handleAdd)
	mux.HandleFunc("PUT /sim/registry/control/enterprises/{uscc}", r.handleUpdate)
	mux.HandleFunc("GET /sim/registry/control/enterprises", r.handleList)
	return mux
}

func (r *Registry) handleQuery(rw http.ResponseWriter, req *http.Request) {
	uscc := req.PathValue("uscc")
	if _, err := platform.ParseUSCC(uscc); err != nil {
		writeRegistryError(rw, http.StatusBadRequest, "", "", err)
		return
	}
	e, ok := r.Lookup(uscc)
	if !ok {
		writeRegistryError(rw, http.StatusNotFound, "not_found", "no enterprise is registered with this code", nil)
		return
	}
	writeControl(rw, http.StatusOK, e)
}

func (r *Registry) handleAdd(rw http.ResponseWriter, req *http.Request) {
	var e Enterprise
	if err := decodeStrict(req, &e); err != nil {
		writeRegistryError(rw, http.StatusBadRequest, platform.CodeInvalid, "body must be one JSON enterprise record: "+err.Error(), nil)
		return
	}
	stored, err := r.Add(e)
	r.answer(rw, http.StatusCreated, stored, err)
}

func (r *Registry) handleUpdate(rw http.ResponseWriter, req *http.Request) {
	uscc := req.PathValue("uscc")
	if _, err := platform.ParseUSCC(uscc); err != nil {
		writeRegistryError(rw, http.StatusBadRequest, "", "", err)
		return
	}
	var e Enterprise
	if err := decodeStrict(req, &e); err != nil {
		writeRegistryError(rw, http.StatusBadRequest, platform.CodeInvalid, "body must be one JSON enterprise record: "+err.Error(), nil)
		return
	}
	switch strings.TrimSpace(e.USCC) {
	case "":
		e.USCC = uscc
	case uscc:
	default:
		writeRegistryError(rw, http.StatusBadRequest, "", "", platform.Invalid("uscc", "mismatch", "请求体中的统一社会信用代码与路径不一致"))
		return
	}
	stored, err := r.Update(e)
	r.answer(rw, http.StatusOK, stored, err)
}

// answer writes the outcome of Add or Update.
func (r *Registry) answer(rw http.ResponseWriter, ok int, e Enterprise, err error) {
	switch {
	case err == nil:
		writeControl(rw, ok, e)
	case errors.Is(err, errRegistryDup):
		writeRegistryError(rw, http.StatusConflict, "duplicate", "an enterprise with this code is registered already", nil)
	case errors.Is(err, errRegistryFull):
		writeRegistryError(rw, http.StatusConflict, "full", fmt.Sprintf("the simulator holds at most %d enterprises", MaxRegistryEnterprises), nil)
	case errors.Is(err, errRegistryUnknown):
		writeRegistryError(rw, http.StatusNotFound, "not_found", "no enterprise is registered with this code", nil)
	default:
		writeRegistryError(rw, http.StatusBadRequest, "", "", err)
	}
}

func (r *Registry) handleList(rw http.ResponseWriter, _ *http.Request) {
	writeControl(rw, http.StatusOK, map[string][]Enterprise{"enterprises": r.List()})
}

// decodeStrict reads one JSON value into v, refusing unknown fields, trailing
// data and bodies over maxBodyBytes.
func decodeStrict(req *http.Request, v any) error {
	body, err := io.ReadAll(io.LimitReader(req.Body, maxBodyBytes+1))
	if err != nil {
		return err
	}
	if len(body) > maxBodyBytes {
		return fmt.Errorf("larger than %d bytes", maxBodyBytes)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("data after the record")
	}
	return nil
}
