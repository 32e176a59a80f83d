package enterprises

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"banshi/internal/account"
)

// Registration statuses (登记状态) under which an enterprise may be claimed.
const (
	StatusSubsisting = "存续"
	StatusOperating  = "在业"
)

// Record is what Banshi reads of an enterprise's registration.
type Record struct {
	USCC   string
	Name   string // 企业名称
	Status string // 登记状态: 存续, 在业, 吊销, 注销, …
	// LegalRepresentative is the registered 法定代表人: name and resident ID
	// number, in clear. It is compared, never stored or logged
	// (account.Identity prints masked).
	LegalRepresentative account.Identity
	// Optional fields the enterprise page and policy matching read (empty
	// when the registry gave none or something not displayable).
	Address       string
	BusinessScope string
	Industry      string // GB/T 4754-2017 code, e.g. I6513
	Size          string // 大型, 中型, 小型, 微型
	RegisteredAt  string // YYYY-MM-DD
}

// Active reports whether the enterprise is 存续 or 在业.
func (r Record) Active() bool { return r.Status == StatusSubsisting || r.Status == StatusOperating }

// Registry looks enterprises up by USCC (RegistryClient implements it).
type Registry interface {
	// Lookup returns the record of uscc (well-formed, as ParseUSCC
	// accepts it). Errors: ErrEnterpriseNotFound, ErrRegistryUnavailable.
	Lookup(ctx context.Context, uscc string) (Record, error)
}

var _ Registry = (*RegistryClient)(nil)

// Bounds of a registry answer.
const (
	maxRecordBytes = 64 << 10
	maxNameRunes   = 200
	// DefaultRegistryTimeout bounds one lookup when NewRegistryClient is
	// given no client.
	DefaultRegistryTimeout = 5 * time.Second
)

// RegistryClient reads the 市场监管 registry over HTTP:
//
//	GET {base}/enterprises/{uscc} → 200 the record as JSON
//	    {"uscc","name","status","legal_representative":{"name","id_number"},…}
//	    (other fields are ignored); 404 {"error":{"code":"not_found"}} when no
//	    enterprise has the code.
//
// internal/sim.Registry serves this protocol under /sim/registry. A client
// is safe for concurrent use.
type RegistryClient struct {
	base string
	http *http.Client
}

// NewRegistryClient returns a client of the registry at base (e.g.
// https://registry.example/api, no trailing slash needed). client nil means
// an http.Client with DefaultRegistryTimeout.
func NewRegistryClient(base string, client *http.Client) *RegistryClient {
	if client == nil {
		client = &http.Client{Timeout: DefaultRegistryTimeout}
	}
	return &RegistryClient{base: strings.TrimRight(base, "/"), http: client}
}

// Lookup implements Registry. A 404 is ErrEnterpriseNotFound only when its
// body says not_found (a 404 of a wrong base is the registry being
// unreachable, not the enterprise being unknown). Transport errors, time-outs,
// other statuses and answers that are not a well-formed record of uscc are
// ErrRegistryUnavailable, whose cause never quotes the URL.
func (c *RegistryClient) Lookup(ctx context.Context, uscc string) (Record, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+"/enterprises/"+url.PathEscape(uscc), nil)
	if err != nil {
		return Record{}, ErrRegistryUnavailable.Wrap(errors.New("registry: cannot build the request (BANSHI_REGISTRY_BASE)"))
	}
	req.Header.Set("Accept", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // *url.Error quotes the URL
		}
		return Record{}, ErrRegistryUnavailable.Wrap(fmt.Errorf("registry lookup: %w", err))
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxRecordBytes+1))
	if err != nil {
		return Record{}, ErrRegistryUnavailable.Wrap(fmt.Errorf("registry lookup: read answer: %w", err))
	}
	if len(body) > maxRecordBytes {
		return Record{}, ErrRegistryUnavailable.Wrap(fmt.Errorf("registry lookup: answer over %d bytes", maxRecordBytes))
	}
	switch {
	case resp.StatusCode == http.StatusOK:
		rec, err := parseRecord(body, uscc)
		if err != nil {
			return Record{}, ErrRegistryUnavailable.Wrap(err)
		}
		return rec, nil
	case resp.StatusCode == http.StatusNotFound && errorCode(body) == "not_found":
		return Record{}, ErrEnterpriseNotFound
	default:
		return Record{}, ErrRegistryUnavailable.Wrap(fmt.Errorf("registry lookup: HTTP %d", resp.StatusCode))
	}
}

// errorCode is the code of a registry error body, "" when body is none.
func errorCode(body []byte) string {
	var e struct {
		Error struct {
			Code string `json:"code"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &e) != nil {
		return ""
	}
	return e.Error.Code
}

// wireRecord is the registry's JSON.
type wireRecord struct {
	USCC                string `json:"uscc"`
	Name                string `json:"name"`
	Status              string `json:"status"`
	LegalRepresentative struct {
		Name     string `json:"name"`
		IDNumber string `json:"id_number"`
	} `json:"legal_representative"`
	Address       string `json:"address"`
	BusinessScope string `json:"business_scope"`
	Industry      string `json:"industry"`
	Size          string `json:"size"`
	RegisteredAt  string `json:"registered_at"`
}

// Bounds of the optional fields, in runes.
const (
	maxAddressRunes = 200
	maxScopeRunes   = 2000
	maxCodeRunes    = 20
)

// optional is s trimmed when it is displayable text of at most max runes,
// else "".
func optional(s string, max int) string {
	s = strings.TrimSpace(s)
	if !utf8.ValidString(s) || strings.IndexFunc(s, unicode.IsControl) >= 0 || utf8.RuneCountInString(s) > max {
		return ""
	}
	return s
}

// parseRecord decodes a registry answer for uscc. Errors (never quoting the
// answer, which holds an ID number): not one JSON object, another USCC, a
// name missing, over 200 runes or with control characters, a status or the
// legal representative's name or ID number missing.
func parseRecord(body []byte, uscc string) (Record, error) {
	var w wireRecord
	if err := json.Unmarshal(body, &w); err != nil {
		return Record{}, errors.New("registry answer: not a JSON record")
	}
	rec := Record{
		USCC:   strings.TrimSpace(w.USCC),
		Name:   strings.TrimSpace(w.Name),
		Status: strings.TrimSpace(w.Status),
		LegalRepresentative: account.Identity{
			Name:     strings.TrimSpace(w.LegalRepresentative.Name),
			IDNumber: strings.ToUpper(strings.TrimSpace(w.LegalRepresentative.IDNumber)),
		},
		Address:       optional(w.Address, maxAddressRunes),
		BusinessScope: optional(w.BusinessScope, maxScopeRunes),
		Industry:      optional(w.Industry, maxCodeRunes),
		Size:          optional(w.Size, maxCodeRunes),
		RegisteredAt:  optional(w.RegisteredAt, maxCodeRunes),
	}
	switch {
	case rec.USCC != uscc:
		return Record{}, errors.New("registry answer: the record is of another code")
	case rec.Name == "":
		return Record{}, errors.New("registry answer: no enterprise name")
	case !utf8.ValidString(rec.Name) || strings.IndexFunc(rec.Name, unicode.IsControl) >= 0 ||
		utf8.RuneCountInString(rec.Name) > maxNameRunes:
		return Record{}, errors.New("registry answer: the enterprise name is not displayable text")
	case rec.Status == "":
		return Record{}, errors.New("registry answer: no registration status")
	case rec.LegalRepresentative.Name == "" || rec.LegalRepresentative.IDNumber == "":
		return Record{}, errors.New("registry answer: no legal representative")
	}
	return rec, nil
}
