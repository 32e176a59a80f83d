package integrations

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"banshi/internal/platform"
)

// Scopes an integration may be granted: which hooks it may call.
const (
	ScopeApplications = "applications"
	ScopeBills        = "bills"
	ScopeLicences     = "licences"
)

// AllScopes lists the scopes, in the order admins see them.
func AllScopes() []string { return []string{ScopeApplications, ScopeBills, ScopeLicences} }

// RotationOverlap is how long a rotated-out secret keeps working.
const RotationOverlap = 24 * time.Hour

// Errors of the registry; package api maps their codes to HTTP answers.
var (
	ErrNotFound  = platform.NewError("not_found", "未找到该对接系统")
	ErrExists    = platform.NewError("already_exists", "该对接系统编号已存在")
	ErrForbidden = platform.NewError("forbidden", "该对接系统无权调用此接口")
	// ErrRotating: another rotation of the same integration won the race.
	ErrRotating = platform.NewError("conflict", "该对接系统的密钥正被同时轮换，请重试")
)

// Integration is a department system registered with Banshi, as admins see it
// (never its secret).
type Integration struct {
	ID                 string     `json:"id" bson:"_id"`
	Name               string     `json:"name" bson:"name"`
	Scopes             []string   `json:"scopes" bson:"scopes"`
	CallbackURL        string     `json:"callback_url,omitempty" bson:"callback_url,omitempty"`
	Disabled           bool       `json:"disabled" bson:"disabled"`
	CreatedAt          time.Time  `json:"created_at" bson:"created_at"`
	UpdatedAt          time.Time  `json:"updated_at" bson:"updated_at"`
	RotatedAt          *time.Time `json:"rotated_at,omitempty" bson:"rotated_at,omitempty"`
	PreviousValidUntil *time.Time `json:"previous_secret_valid_until,omitempty" bson:"previous_valid_until,omitempty"`
}

// doc is what MongoDB keeps: the integration and its secrets, sealed.
type doc struct {
	Integration `bson:",inline"`
	Secret      []byte `bson:"secret"`
	Previous    []byte `bson:"previous,omitempty"`
}

func (i Integration) local() Integration {
	i.CreatedAt, i.UpdatedAt = platform.Local(i.CreatedAt), platform.Local(i.UpdatedAt)
	if i.RotatedAt != nil {
		t := platform.Local(*i.RotatedAt)
		i.RotatedAt = &t
	}
	if i.PreviousValidUntil != nil {
		t := platform.Local(*i.PreviousValidUntil)
		i.PreviousValidUntil = &t
	}
	return i
}

// WithSecret is an integration with its signing secret: the answer of Create
// and Rotate, the only time the secret is shown.
type WithSecret struct {
	Integration
	Secret string `json:"secret"`
}

// New is what Create takes.
type New struct {
	ID          string   `json:"id"`
	Name        string   `json:"name"`
	Scopes      []string `json:"scopes"`
	CallbackURL string   `json:"callback_url"`
}

// Registry keeps the integrations in MongoDB (collection "integrations"),
// their secrets sealed with box (associated data: the integration id and
// which secret), and answers the hook verifier.
type Registry struct {
	coll  *mongo.Collection
	box   *platform.SecretBox
	clock platform.Clock
}

// NewRegistry returns the registry on db.
func NewRegistry(db *mongo.Database, box *platform.SecretBox, clock platform.Clock) *Registry {
	return &Registry{coll: db.Collection("integrations"), box: box, clock: clock}
}

var _ platform.HookKeys = (*Registry)(nil)

func (n *New) validate() error {
	if !platform.ValidCatalogID(n.ID) {
		return platform.Invalid("id", "format", "编号应为 1 至 48 个小写字母、数字或连字符")
	}
	n.Name = strings.TrimSpace(n.Name)
	if n.Name == "" || utf8.RuneCountInString(n.Name) > 100 {
		return platform.Invalid("name", "length", "名称为 1 至 100 个字")
	}
	if len(n.Scopes) == 0 {
		return platform.Invalid("scopes", "required", "至少授予一个权限范围")
	}
	seen := map[string]bool{}
	var scopes []string
	for i, s := range n.Scopes {
		if !slices.Contains(AllScopes(), s) {
			return platform.Invalid(fmt.Sprintf("scopes[%d]", i), "enum", "权限范围应为 applications、bills 或 licences")
		}
		if !seen[s] {
			seen[s] = true
			scopes = append(scopes, s)
		}
	}
	n.Scopes = scopes
	if n.CallbackURL != "" {
		u, err := url.Parse(n.CallbackURL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil || len(n.CallbackURL) > 500 {
			return platform.Invalid("callback_url", "format", "回调地址应为不含账号密码的 http(s) 地址")
		}
	}
	return nil
}

// newSecret is 32 random bytes as 64 hex characters.
func newSecret() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func aad(id, which string) string { return "integration:" + id + ":" + which }

// Create registers an integration and returns it with its secret, shown this
// once. Errors: platform.Invalid naming the field, ErrExists; nothing is
// written on any error.
func (r *Registry) Create(ctx context.Context, n New) (WithSecret, error) {
	if err := n.validate(); err != nil {
		return WithSecret{}, err
	}
	secret := newSecret()
	sealed, err := r.box.Seal(secret, aad(n.ID, "current"))
	if err != nil {
		return WithSecret{}, err
	}
	now := r.clock.Now().UTC().Truncate(time.Millisecond)
	d := doc{Integration: Integration{ID: n.ID, Name: n.Name, Scopes: n.Scopes, CallbackURL: n.CallbackURL, CreatedAt: now, UpdatedAt: now}, Secret: sealed}
	if _, err := r.coll.InsertOne(ctx, d); err != nil {
		if platform.IsDuplicateKey(err) {
			return WithSecret{}, ErrExists
		}
		return WithSecret{}, fmt.Errorf("create integration: %w", err)
	}
	return WithSecret{Integration: d.Integration.local(), Secret: secret}, nil
}

// Rotate gives the integration a new secret, returned this once; the previous
// one keeps verifying for RotationOverlap (a second rotation within the
// overlap ends the first one's grace). Errors: ErrNotFound.
func (r *Registry) Rotate(ctx context.Context, id string) (WithSecret, error) {
	cur, err := r.load(ctx, id)
	if err != nil {
		return WithSecret{}, err
	}
	old, err := r.box.Open(cur.Secret, aad(id, "current"))
	if err != nil {
		return WithSecret{}, fmt.Errorf("rotate integration %s: %w", id, err)
	}
	prev, err := r.box.Seal(old, aad(id, "previous"))
	if err != nil {
		return WithSecret{}, err
	}
	secret := newSecret()
	sealed, err := r.box.Seal(secret, aad(id, "current"))
	if err != nil {
		return WithSecret{}, err
	}
	now := r.clock.Now().UTC().Truncate(time.Millisecond)
	until := now.Add(RotationOverlap)
	var d doc
	// Conditional on the secret read: of two concurrent rotations one wins,
	// the other is refused rather than silently dropping a secret.
	err = r.coll.FindOneAndUpdate(ctx, bson.M{"_id": id, "secret": cur.Secret},
		bson.M{"$set": bson.M{"secret": sealed, "previous": prev, "previous_valid_until": until, "rotated_at": now, "updated_at": now}},
		options.FindOneAndUpdate().SetReturnDocument(options.After)).Decode(&d)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return WithSecret{}, ErrRotating
	}
	if err != nil {
		return WithSecret{}, fmt.Errorf("rotate integration: %w", err)
	}
	return WithSecret{Integration: d.Integration.local(), Secret: secret}, nil
}

// SetDisabled disables (refusing its requests at once) or enables an
// integration. Errors: ErrNotFound.
func (r *Registry) SetDisabled(ctx context.Context, id string, disabled bool) (Integration, error) {
	var d doc
	err := r.coll.FindOneAndUpdate(ctx, bson.M{"_id": id},
		bson.M{"$set": bson.M{"disabled": disabled, "updated_at": r.clock.Now().UTC().Truncate(time.Millisecond)}},
		options.FindOneAndUpdate().SetReturnDocument(options.After)).Decode(&d)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return Integration{}, ErrNotFound
	}
	if err != nil {
		return Integration{}, fmt.Errorf("disable integration: %w", err)
	}
	return d.Integration.local(), nil
}

// Get returns one integration. Errors: ErrNotFound.
func (r *Registry) Get(ctx context.Context, id string) (Integration, error) {
	d, err := r.load(ctx, id)
	if err != nil {
		return Integration{}, err
	}
	return d.Integration.local(), nil
}

// List returns every integration by id.
func (r *Registry) List(ctx context.Context) ([]Integration, error) {
	cur, err := r.coll.Find(ctx, bson.M{}, options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}))
	if err != nil {
		return nil, fmt.Errorf("list integrations: %w", err)
	}
	var docs []doc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, fmt.Errorf("list integrations: %w", err)
	}
	out := make([]Integration, len(docs))
	for i, d := range docs {
		out[i] = d.Integration.local()
	}
	return out, nil
}

func (r *Registry) load(ctx context.Context, id string) (doc, error) {
	var d doc
	err := r.coll.FindOne(ctx, bson.M{"_id": id}).Decode(&d)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return doc{}, ErrNotFound
	}
	if err != nil {
		return doc{}, fmt.Errorf("read integration: %w", err)
	}
	return d, nil
}

// HookSecrets answers the hook verifier: the current secret and, within the
// rotation overlap, the previous one; none for an unknown or disabled
// source.
func (r *Registry) HookSecrets(ctx context.Context, source string) ([]string, error) {
	d, err := r.load(ctx, source)
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if d.Disabled {
		return nil, nil
	}
	cur, err := r.box.Open(d.Secret, aad(source, "current"))
	if err != nil {
		return nil, fmt.Errorf("integration %s secret: %w", source, err)
	}
	out := []string{cur}
	if len(d.Previous) > 0 && d.PreviousValidUntil != nil && r.clock.Now().Before(*d.PreviousValidUntil) {
		prev, err := r.box.Open(d.Previous, aad(source, "previous"))
		if err != nil {
			return nil, fmt.Errorf("integration %s previous secret: %w", source, err)
		}
		out = append(out, prev)
	}
	return out, nil
}

// Authorize returns nil when source is enabled and was granted scope;
// ErrForbidden otherwise (ErrNotFound for an unknown source).
func (r *Registry) Authorize(ctx context.Context, source, scope string) error {
	d, err := r.load(ctx, source)
	if err != nil {
		return err
	}
	if d.Disabled || !slices.Contains(d.Scopes, scope) {
		return ErrForbidden
	}
	return nil
}

// Outbound returns what Banshi needs to call the integration back: its
// callback URL and current secret. Errors: ErrNotFound, ErrForbidden
// (disabled, or no callback URL).
func (r *Registry) Outbound(ctx context.Context, id string) (callbackURL, secret string, err error) {
	d, err := r.load(ctx, id)
	if err != nil {
		return "", "", err
	}
	if d.Disabled || d.CallbackURL == "" {
		return "", "", ErrForbidden
	}
	s, err := r.box.Open(d.Secret, aad(id, "current"))
	if err != nil {
		return "", "", fmt.Errorf("integration %s secret: %w", id, err)
	}
	return d.CallbackURL, s, nil
}
