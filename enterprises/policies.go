package enterprises

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"banshi/internal/account"
	"banshi/internal/platform"
)

// CollPolicies holds the 惠企政策 catalog admins maintain.
const CollPolicies = "enterprise_policies"

// ErrPolicyNotFound: no policy with that id.
var ErrPolicyNotFound = platform.NewError("policy_not_found", "未找到该惠企政策")

// Sizes of enterprises (企业规模) as the registry writes them.
var policySizes = []string{"大型", "中型", "小型", "微型"}

// Bounds of the catalog.
const (
	maxPolicies        = 500
	maxPolicyTitle     = 100
	maxPolicySummary   = 2000
	maxPolicyDept      = 100
	maxPolicyURL       = 500
	maxPolicyCriteria  = 50
	maxPagePolicies    = 50
	policyDateLayout   = "2006-01-02"
	policyIDPrefix     = "pol"
	policyRegionDigits = "^[0-9]{2}([0-9]{2}){0,2}$"
)

var (
	policyRegion   = regexp.MustCompile(policyRegionDigits)
	policyIndustry = regexp.MustCompile(`^[A-T]([0-9]{2,4})?$`)
	policyID       = regexp.MustCompile(`^pol[0-9a-f]{20}$`)
)

// PolicyInput is a policy as an admin writes it. Empty criteria match
// every enterprise.
type PolicyInput struct {
	Title      string
	Summary    string
	Department string   // the department offering it
	URL        string   // https link to the full text; optional
	Regions    []string // area code prefixes (GB/T 2260: 2, 4 or 6 digits), matched against the USCC's division
	Industries []string // GB/T 4754 prefixes: a section letter, optionally 2–4 digits
	Sizes      []string // 大型, 中型, 小型, 微型
	ApplyUntil string   // YYYY-MM-DD, the last day to apply; optional
}

// Policy is a stored policy.
type Policy struct {
	ID string
	PolicyInput
	CreatedAt time.Time
	UpdatedAt time.Time
	UpdatedBy string // staff username
}

// policyDoc is an enterprise_policies document.
type policyDoc struct {
	ID         string    `bson:"_id"`
	Title      string    `bson:"title"`
	Summary    string    `bson:"summary"`
	Department string    `bson:"department"`
	URL        string    `bson:"url,omitempty"`
	Regions    []string  `bson:"regions"`
	Industries []string  `bson:"industries"`
	Sizes      []string  `bson:"sizes"`
	ApplyUntil string    `bson:"apply_until,omitempty"`
	CreatedAt  time.Time `bson:"created_at"`
	UpdatedAt  time.Time `bson:"updated_at"`
	UpdatedBy  string    `bson:"updated_by"`
}

func (d policyDoc) policy() Policy {
	return Policy{ID: d.ID, PolicyInput: PolicyInput{Title: d.Title, Summary: d.Summary, Department: d.Department, URL: d.URL,
		Regions: d.Regions, Industries: d.Industries, Sizes: d.Sizes, ApplyUntil: d.ApplyUntil},
		CreatedAt: d.CreatedAt, UpdatedAt: d.UpdatedAt, UpdatedBy: d.UpdatedBy}
}

// validatePolicy checks and normalises a policy. Errors: invalid_argument
// naming the field: "title" (required, length, format), "summary" (length,
// format), "department" (required, length, format), "url" (format: an
// absolute https URL; length), "regions" / "industries" / "sizes" (length:
// over 50; format or enum for an entry), "apply_until" (format).
func validatePolicy(in PolicyInput) (PolicyInput, error) {
	text := func(field, v string, max int, required, newlines bool, label string) (string, error) {
		v = strings.TrimSpace(v)
		switch {
		case v == "" && required:
			return "", platform.Invalid(field, "required", "请填写"+label)
		case utf8.RuneCountInString(v) > max:
			return "", platform.Invalid(field, "length", fmt.Sprintf("%s最多 %d 个字", label, max))
		case !account.PlainText(v, newlines):
			return "", platform.Invalid(field, "format", label+"含有控制字符")
		}
		return v, nil
	}
	var err error
	if in.Title, err = text("title", in.Title, maxPolicyTitle, true, false, "政策名称"); err != nil {
		return PolicyInput{}, err
	}
	if in.Summary, err = text("summary", in.Summary, maxPolicySummary, false, true, "政策摘要"); err != nil {
		return PolicyInput{}, err
	}
	if in.Department, err = text("department", in.Department, maxPolicyDept, true, false, "发布部门"); err != nil {
		return PolicyInput{}, err
	}
	if in.URL = strings.TrimSpace(in.URL); in.URL != "" {
		u, perr := url.Parse(in.URL)
		switch {
		case len(in.URL) > maxPolicyURL:
			return PolicyInput{}, platform.Invalid("url", "length", "链接最长 500 个字符")
		case perr != nil || u.Scheme != "https" || u.Host == "" || u.User != nil:
			return PolicyInput{}, platform.Invalid("url", "format", "链接应为 https 开头的网址")
		}
	}
	list := func(field string, v []string, ok func(string) bool, msg string) ([]string, error) {
		if len(v) > maxPolicyCriteria {
			return nil, platform.Invalid(field, "length", "条件最多 50 项")
		}
		out := []string{}
		for _, x := range v {
			x = strings.TrimSpace(x)
			if !ok(x) {
				return nil, platform.Invalid(field, "format", msg)
			}
			if !slices.Contains(out, x) {
				out = append(out, x)
			}
		}
		return out, nil
	}
	if in.Regions, err = list("regions", in.Regions, policyRegion.MatchString, "地区应为2、4或6位行政区划代码"); err != nil {
		return PolicyInput{}, err
	}
	if in.Industries, err = list("industries", in.Industries, policyIndustry.MatchString, "行业应为国民经济行业分类代码（门类字母加0至4位数字）"); err != nil {
		return PolicyInput{}, err
	}
	if in.Sizes, err = list("sizes", in.Sizes, func(s string) bool { return slices.Contains(policySizes, s) }, "企业规模应为大型、中型、小型或微型"); err != nil {
		return PolicyInput{}, err
	}
	if in.ApplyUntil = strings.TrimSpace(in.ApplyUntil); in.ApplyUntil != "" {
		if _, err := time.Parse(policyDateLayout, in.ApplyUntil); err != nil {
			return PolicyInput{}, platform.Invalid("apply_until", "format", "申报截止日期应为 YYYY-MM-DD")
		}
	}
	return in, nil
}

// CreatePolicy adds a policy written by the staff member by. Errors:
// validatePolicy's; ErrPolicyLimit beyond 500 policies; storage errors.
func (s *Service) CreatePolicy(ctx context.Context, by string, in PolicyInput) (Policy, error) {
	in, err := validatePolicy(in)
	if err != nil {
		return Policy{}, err
	}
	n, err := s.policies.CountDocuments(ctx, bson.M{})
	if err != nil {
		return Policy{}, fmt.Errorf("enterprises: count policies: %w", err)
	}
	if n >= maxPolicies {
		return Policy{}, ErrPolicyLimit
	}
	b := make([]byte, 10)
	_, _ = rand.Read(b)
	now := s.now()
	d := policyDoc{ID: policyIDPrefix + hex.EncodeToString(b), Title: in.Title, Summary: in.Summary, Department: in.Department,
		URL: in.URL, Regions: in.Regions, Industries: in.Industries, Sizes: in.Sizes, ApplyUntil: in.ApplyUntil,
		CreatedAt: now, UpdatedAt: now, UpdatedBy: by}
	if _, err := s.policies.InsertOne(ctx, d); err != nil {
		return Policy{}, fmt.Errorf("enterprises: store policy: %w", err)
	}
	return d.policy(), nil
}

// ErrPolicyLimit: the catalog holds 500 policies.
var ErrPolicyLimit = platform.NewError("policy_limit", "惠企政策最多 500 条，请先删除过期的政策")

// UpdatePolicy replaces the policy id. Errors: ErrPolicyNotFound,
// validatePolicy's, storage errors.
func (s *Service) UpdatePolicy(ctx context.Context, by, id string, in PolicyInput) (Policy, error) {
	if !policyID.MatchString(id) {
		return Policy{}, ErrPolicyNotFound
	}
	in, err := validatePolicy(in)
	if err != nil {
		return Policy{}, err
	}
	var d policyDoc
	err = s.policies.FindOneAndUpdate(ctx, bson.M{"_id": id}, bson.M{"$set": bson.M{
		"title": in.Title, "summary": in.Summary, "department": in.Department, "url": in.URL, "regions": in.Regions,
		"industries": in.Industries, "sizes": in.Sizes, "apply_until": in.ApplyUntil, "updated_at": s.now(), "updated_by": by,
	}}, options.FindOneAndUpdate().SetReturnDocument(options.After)).Decode(&d)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return Policy{}, ErrPolicyNotFound
	}
	if err != nil {
		return Policy{}, fmt.Errorf("enterprises: update policy: %w", err)
	}
	return d.policy(), nil
}

// DeletePolicy removes the policy id. Errors: ErrPolicyNotFound, storage
// errors.
func (s *Service) DeletePolicy(ctx context.Context, id string) error {
	if !policyID.MatchString(id) {
		return ErrPolicyNotFound
	}
	res, err := s.policies.DeleteOne(ctx, bson.M{"_id": id})
	if err != nil {
		return fmt.Errorf("enterprises: delete policy: %w", err)
	}
	if res.DeletedCount == 0 {
		return ErrPolicyNotFound
	}
	return nil
}

// Policies lists the catalog, most recently changed first (at most 500).
// Errors: storage errors.
func (s *Service) Policies(ctx context.Context) ([]Policy, error) {
	cur, err := s.policies.Find(ctx, bson.M{},
		options.Find().SetSort(bson.D{{Key: "updated_at", Value: -1}, {Key: "_id", Value: 1}}).SetLimit(maxPolicies))
	if err != nil {
		return nil, fmt.Errorf("enterprises: list policies: %w", err)
	}
	var docs []policyDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, fmt.Errorf("enterprises: list policies: %w", err)
	}
	out := make([]Policy, len(docs))
	for i, d := range docs {
		out[i] = d.policy()
	}
	return out, nil
}

// Matches reports whether the policy applies to an enterprise in the
// division (GB/T 2260, the USCC's positions 3–8) with the industry and size
// of its registry record, on the Asia/Shanghai date today (YYYY-MM-DD): each
// non-empty criterion must be met (a region or industry as a prefix, a size
// exactly; an enterprise whose record lacks the industry or size meets no
// such criterion), and the application period not be over.
func (p Policy) Matches(division, industry, size, today string) bool {
	prefixed := func(list []string, v string) bool {
		if len(list) == 0 {
			return true
		}
		return v != "" && slices.ContainsFunc(list, func(pre string) bool { return strings.HasPrefix(v, pre) })
	}
	return prefixed(p.Regions, division) && prefixed(p.Industries, industry) &&
		(len(p.Sizes) == 0 || (size != "" && slices.Contains(p.Sizes, size))) &&
		(p.ApplyUntil == "" || p.ApplyUntil >= today)
}

// policiesFor returns the policies matching the enterprise (at most 50).
func (s *Service) policiesFor(ctx context.Context, uscc string, rec Record) ([]Policy, error) {
	all, err := s.Policies(ctx)
	if err != nil {
		return nil, err
	}
	u, err := platform.ParseUSCC(uscc)
	if err != nil {
		return nil, err
	}
	today := s.clock.Now().In(platform.Shanghai()).Format(policyDateLayout)
	out := []Policy{}
	for _, p := range all {
		if p.Matches(u.Division, rec.Industry, rec.Size, today) && len(out) < maxPagePolicies {
			out = append(out, p)
		}
	}
	return out, nil
}
