package licences

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"banshi/internal/platform"
)

// Annotated copies (加注件). A department holding an active authorisation
// fetches, through its integration, the licence's full metadata annotated
// with the cause of use, the user (the integration), when it was made and
// until when it is valid; Banshi signs the canonical JSON (canonical.go) of
// the object {"annotation":{…},"licence":{…}} with its SM2 key.

var authIDPattern = regexp.MustCompile(`^la_[0-9a-f]{24}$`)

// CopyRequest is a department's request for an annotated copy.
type CopyRequest struct {
	EventID         string `json:"event_id"`
	AuthorizationID string `json:"authorization_id"`
}

// Annotation is what Banshi adds to a copy.
type Annotation struct {
	AuthorizationID string `json:"authorization_id"`
	Cause           string `json:"cause"`
	User            string `json:"user"`        // the integration that uses the licence
	MadeAt          string `json:"made_at"`     // RFC 3339, +08:00
	ValidUntil      string `json:"valid_until"` // RFC 3339, +08:00: the authorisation's expiry
}

// CopySignature is Banshi's signature of a copy.
type CopySignature struct {
	Algorithm   string `json:"algorithm"`
	Value       string `json:"value"` // base64 of the DER signature
	SignedAt    string `json:"signed_at"`
	Signer      string `json:"signer"`
	Fingerprint string `json:"public_key_fingerprint"`
}

// Copy is the answer to a copy request.
type Copy struct {
	EventID   string         `json:"event_id"`
	Duplicate bool           `json:"duplicate"`
	Copy      map[string]any `json:"copy"` // {"annotation":{…},"licence":{…}}, what the signature covers (canonically)
	Signature CopySignature  `json:"signature"`
}

func parseCopyRequest(body []byte) (CopyRequest, error) {
	var r CopyRequest
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		return r, platform.JSONError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return r, platform.Invalid("body", "format", "请求体只能包含一个 JSON 对象")
	}
	switch {
	case r.EventID == "":
		return r, platform.Invalid("event_id", "required", "缺少事件编号")
	case !eventIDPattern.MatchString(r.EventID):
		return r, platform.Invalid("event_id", "format", "事件编号应为 1 至 64 个字母、数字或 ._:-")
	case r.AuthorizationID == "":
		return r, platform.Invalid("authorization_id", "required", "缺少授权编号")
	case !authIDPattern.MatchString(r.AuthorizationID):
		return r, platform.Invalid("authorization_id", "format", "授权编号格式不正确")
	}
	return r, nil
}

// Copy makes an annotated copy for source, which the HTTP layer verified
// (signed, scope licences), under an authorisation the holder gave source,
// and records it as a use ("copy:<source>|<event_id>"); the same event again
// answers a copy marked Duplicate and records nothing more. Errors
// (nothing recorded): platform.Invalid; ErrAuthorizationNotFound (unknown,
// or given to another integration); ErrAuthorizationInactive (withdrawn or
// expired); ErrNotShowable (the licence is revoked or expired);
// ErrSignerUnavailable.
func (s *Service) Copy(ctx context.Context, source string, body []byte) (Copy, error) {
	req, err := parseCopyRequest(body)
	if err != nil {
		return Copy{}, err
	}
	if s.signer == nil {
		return Copy{}, ErrSignerUnavailable
	}
	a, err := s.authorization(ctx, req.AuthorizationID)
	if err != nil {
		return Copy{}, err
	}
	if a.IntegrationID != source {
		return Copy{}, ErrAuthorizationNotFound
	}
	useID := UseCopy + ":" + source + "|" + req.EventID
	dup := false
	if err := s.uses.FindOne(ctx, bson.M{"_id": useID}).Err(); err == nil {
		dup = true
	} else if !errors.Is(err, mongo.ErrNoDocuments) {
		return Copy{}, fmt.Errorf("read licence use: %w", err)
	}
	now := s.clock.Now()
	if !dup && (a.WithdrawnAt != nil || !now.Before(a.ExpiresAt)) {
		return Copy{}, ErrAuthorizationInactive
	}
	d, err := s.load(ctx, a.LicenceID)
	if err != nil {
		return Copy{}, err
	}
	if !dup && !view(d, now).Usable {
		return Copy{}, ErrNotShowable
	}
	m, err := s.metadata(d)
	if err != nil {
		return Copy{}, err
	}
	at := s.now()
	ann := map[string]any{"authorization_id": a.ID, "cause": a.Cause, "user": source,
		"made_at": platform.Local(at).Format(time.RFC3339), "valid_until": platform.Local(a.ExpiresAt).Format(time.RFC3339)}
	obj := map[string]any{"annotation": ann, "licence": m.object()}
	sig, err := s.signer.Sign(canonical(obj))
	if err != nil {
		return Copy{}, fmt.Errorf("sign licence copy: %w", err)
	}
	if !dup {
		use := useDoc{ID: useID, LicenceID: d.ID, Kind: UseCopy, By: source, ByRole: "integration",
			AuthorizationID: a.ID, Cause: a.Cause, At: at}
		if _, err := s.uses.InsertOne(ctx, use); err != nil {
			if !platform.IsDuplicateKey(err) {
				return Copy{}, fmt.Errorf("record licence use: %w", err)
			}
			dup = true
		}
	}
	return Copy{EventID: req.EventID, Duplicate: dup, Copy: obj, Signature: CopySignature{
		Algorithm: SignatureAlgorithm, Value: base64.StdEncoding.EncodeToString(sig),
		SignedAt: platform.Local(at).Format(time.RFC3339), Signer: "banshi", Fingerprint: s.signer.Fingerprint(),
	}}, nil
}
