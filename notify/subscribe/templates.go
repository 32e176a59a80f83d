package subscribe

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"banshi/internal/platform"
	"banshi/notify"
)

// Collection names.
const (
	collTemplates = "notify_templates"  // Template, _id = event kind
	collCredits   = "subscribe_credits" // creditDoc, _id = "<user id>|<template id>"
)

// Sources of a field's value besides the keys of Message.Data.
const (
	FromTitle     = "title"      // Message.Title
	FromBody      = "body"       // Message.Body
	FromCreatedAt = "created_at" // Message.CreatedAt (RFC 3339)
)

// Field is one key of a template and where its value comes from.
type Field struct {
	Key     string   `json:"key" bson:"key"`                       // "thing1", "time2", …
	Type    string   `json:"type" bson:"type"`                     // the key without its digits
	Label   string   `json:"label" bson:"label"`                   // the field's name in the template ("办理事项")
	From    string   `json:"-" bson:"from"`                        // a Message.Data key, or title, body, created_at
	Default string   `json:"-" bson:"default,omitempty"`           // when the value is missing or cannot be fitted
	Enum    []string `json:"enum,omitempty" bson:"enum,omitempty"` // the template's values of an enum key
}

// Fit is Fit for this field: an enum's value must be one of Enum. The
// default is used (fitted too) when value gives nothing; "" when neither
// does.
func (f Field) Fit(value string) string {
	fit := func(v string) string {
		if f.Type == TypeEnum {
			if v = clean(v); slices.Contains(f.Enum, v) {
				return v
			}
			return ""
		}
		return Fit(f.Type, v)
	}
	if out := fit(value); out != "" {
		return out
	}
	return fit(f.Default)
}

// Template is the subscribe template that tells one event kind
// (notify.Message.Kind): its id in the mini-program's console, the page the
// message opens ("{key}" is replaced by Message.Data[key], query-escaped),
// and its fields.
type Template struct {
	Event      string    `json:"event" bson:"_id"`
	TemplateID string    `json:"template_id" bson:"template_id"`
	Title      string    `json:"title" bson:"title"` // the template's title in the library ("预约成功通知")
	Page       string    `json:"-" bson:"page"`
	Fields     []Field   `json:"fields" bson:"fields"`
	UpdatedAt  time.Time `json:"-" bson:"updated_at"`
}

// Keys returns the template's keys, in order (for the simulator's
// AddTemplate).
func (t Template) Keys() []string {
	out := make([]string, len(t.Fields))
	for i, f := range t.Fields {
		out[i] = f.Key
	}
	return out
}

// Enums returns the values of the template's enum keys (for the simulator's
// AddTemplate).
func (t Template) Enums() map[string][]string {
	out := map[string][]string{}
	for _, f := range t.Fields {
		if f.Type == TypeEnum {
			out[f.Key] = append([]string(nil), f.Enum...)
		}
	}
	return out
}

var (
	keyPattern      = regexp.MustCompile(`^[a-z_]+[0-9]+$`)
	templateIDShape = regexp.MustCompile(`^[A-Za-z0-9_-]{1,128}$`)
	pagePattern     = regexp.MustCompile(`^[A-Za-z0-9_/.-]+(\?[A-Za-z0-9_=&{}.-]*)?$`)
	knownTypes      = []string{TypeThing, TypeNumber, TypeLetter, TypeSymbol, TypeCharacterString, TypePhrase, TypeName,
		TypeAmount, TypePhoneNumber, TypeCarNumber, TypeTime, TypeDate, TypeEnum}
)

// validate checks a template definition.
func (t Template) validate() error {
	switch {
	case strings.TrimSpace(t.Event) == "":
		return platform.Invalid("event", "required", "缺少事件类型")
	case !templateIDShape.MatchString(t.TemplateID):
		return platform.Invalid("template_id", "format", "模板编号格式不正确")
	case t.Page != "" && !pagePattern.MatchString(t.Page):
		return platform.Invalid("page", "format", "页面路径格式不正确")
	case len(t.Fields) == 0 || len(t.Fields) > 20:
		return platform.Invalid("fields", "length", "模板应有 1 至 20 个字段")
	}
	seen := map[string]bool{}
	for _, f := range t.Fields {
		switch {
		case !keyPattern.MatchString(f.Key) || seen[f.Key]:
			return platform.Invalid("fields", "format", "字段名应形如 thing1 且不重复")
		case f.Type != KeyType(f.Key) || !slices.Contains(knownTypes, f.Type):
			return platform.Invalid("fields", "type", "字段类型应与字段名一致（如 thing1 为 thing）")
		case f.From == "":
			return platform.Invalid("fields", "required", "字段缺少取值来源")
		case f.Type == TypeEnum && len(f.Enum) == 0:
			return platform.Invalid("fields", "enum", "枚举字段缺少可选值")
		}
		seen[f.Key] = true
	}
	return nil
}

// Render returns the page and data of m under t. Errors: a field that
// neither its value nor its default fits, or a page placeholder without a
// value (Banshi's bug: sending would answer 47003 or open a broken page).
func (t Template) Render(m notify.Message) (page string, data map[string]string, err error) {
	data = make(map[string]string, len(t.Fields))
	for _, f := range t.Fields {
		var v string
		switch f.From {
		case FromTitle:
			v = m.Title
		case FromBody:
			v = m.Body
		case FromCreatedAt:
			if !m.CreatedAt.IsZero() {
				v = platform.Local(m.CreatedAt).Format(time.RFC3339)
			}
		default:
			v = m.Data[f.From]
		}
		out := f.Fit(v)
		if out == "" {
			return "", nil, fmt.Errorf("template %s field %s: no value fits from %q", t.TemplateID, f.Key, f.From)
		}
		data[f.Key] = out
	}
	page, err = expandPage(t.Page, m.Data)
	return page, data, err
}

var placeholder = regexp.MustCompile(`\{([A-Za-z0-9_]+)\}`)

func expandPage(page string, data map[string]string) (string, error) {
	var missing string
	out := placeholder.ReplaceAllStringFunc(page, func(p string) string {
		k := p[1 : len(p)-1]
		v, ok := data[k]
		if !ok || v == "" {
			missing = k
		}
		return url.QueryEscape(v)
	})
	if missing != "" {
		return "", fmt.Errorf("page %q: no value for {%s}", page, missing)
	}
	return out, nil
}

// Templates is the configuration of templates per event kind, in MongoDB
// (collection notify_templates, one document per kind).
type Templates struct {
	coll  *mongo.Collection
	clock platform.Clock
}

// NewTemplates returns the store on db.
func NewTemplates(db *mongo.Database, clock platform.Clock) *Templates {
	return &Templates{coll: db.Collection(collTemplates), clock: clock}
}

// Put creates or replaces the template of t.Event. Errors: invalid_argument
// naming what is wrong, storage errors.
func (s *Templates) Put(ctx context.Context, t Template) error {
	if err := t.validate(); err != nil {
		return err
	}
	t.UpdatedAt = s.clock.Now().UTC().Truncate(time.Millisecond)
	if _, err := s.coll.ReplaceOne(ctx, bson.M{"_id": t.Event}, t, options.Replace().SetUpsert(true)); err != nil {
		return fmt.Errorf("put template %s: %w", t.Event, err)
	}
	return nil
}

// Get returns the template of event kind kind, ok false when there is none.
func (s *Templates) Get(ctx context.Context, kind string) (Template, bool, error) {
	var t Template
	err := s.coll.FindOne(ctx, bson.M{"_id": kind}).Decode(&t)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return Template{}, false, nil
	}
	if err != nil {
		return Template{}, false, fmt.Errorf("read template %s: %w", kind, err)
	}
	return t, true, nil
}

// List returns every template, by event kind.
func (s *Templates) List(ctx context.Context) ([]Template, error) {
	cur, err := s.coll.Find(ctx, bson.M{}, options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}))
	if err != nil {
		return nil, fmt.Errorf("list templates: %w", err)
	}
	out := []Template{}
	if err := cur.All(ctx, &out); err != nil {
		return nil, fmt.Errorf("list templates: %w", err)
	}
	return out, nil
}

// Seed puts the templates given for kinds that have none yet (a template
// an operator changed is kept). Errors: the first Put's.
func (s *Templates) Seed(ctx context.Context, ts []Template) error {
	for _, t := range ts {
		if err := t.validate(); err != nil {
			return fmt.Errorf("seed template %s: %w", t.Event, err)
		}
		t.UpdatedAt = s.clock.Now().UTC().Truncate(time.Millisecond)
		_, err := s.coll.InsertOne(ctx, t)
		if err != nil && !platform.IsDuplicateKey(err) {
			return fmt.Errorf("seed template %s: %w", t.Event, err)
		}
	}
	return nil
}
