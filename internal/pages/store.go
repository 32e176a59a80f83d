package pages

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"banshi/internal/platform"
)

// MaxFavorites is how many favourite services a citizen may keep.
const MaxFavorites = 20

// CitizenPage is the stored document of a citizen's page.
type CitizenPage struct {
	UserID    string    `bson:"_id"`
	Favorites []string  `bson:"favorites"`
	UpdatedAt time.Time `bson:"updated_at"`
}

// Store reads and writes pages.
type Store struct {
	pages *mongo.Collection
	clock platform.Clock
}

// NewStore returns the page store on db.
func NewStore(db *mongo.Database, clock platform.Clock) *Store {
	return &Store{pages: db.Collection("citizen_pages"), clock: clock}
}

// Citizen returns the citizen's page; a citizen without one gets an empty page.
// Errors are store failures.
func (s *Store) Citizen(ctx context.Context, userID string) (CitizenPage, error) {
	var p CitizenPage
	err := s.pages.FindOne(ctx, bson.M{"_id": userID}).Decode(&p)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return CitizenPage{UserID: userID, Favorites: []string{}}, nil
	}
	if err != nil {
		return p, fmt.Errorf("read citizen page: %w", err)
	}
	if p.Favorites == nil {
		p.Favorites = []string{}
	}
	return p, nil
}

// ValidateFavorites checks and de-duplicates (keeping order) a favourites list.
// Errors: platform.Invalid errors.
func ValidateFavorites(codes []string) ([]string, error) {
	if codes == nil {
		return nil, platform.Invalid("service_codes", "required", "请填写收藏的事项编码")
	}
	seen := make(map[string]bool, len(codes))
	out := make([]string, 0, len(codes))
	for i, c := range codes {
		if !platform.ValidServiceCode(c) {
			return nil, platform.Invalid(fmt.Sprintf("service_codes[%d]", i), "format", "事项编码格式错误")
		}
		if !seen[c] {
			seen[c] = true
			out = append(out, c)
		}
	}
	if len(out) > MaxFavorites {
		return nil, platform.Invalid("service_codes", "range", fmt.Sprintf("最多收藏 %d 项", MaxFavorites))
	}
	return out, nil
}

// SetFavorites replaces the citizen's favourites (idempotent). Errors:
// platform.Invalid errors (nothing is written), store failures.
func (s *Store) SetFavorites(ctx context.Context, userID string, codes []string) (CitizenPage, error) {
	clean, err := ValidateFavorites(codes)
	if err != nil {
		return CitizenPage{}, err
	}
	now := s.clock.Now()
	_, err = s.pages.UpdateOne(ctx, bson.M{"_id": userID},
		bson.M{"$set": bson.M{"favorites": clean, "updated_at": now}}, options.UpdateOne().SetUpsert(true))
	if platform.IsDuplicateKey(err) { // two first writes raced: the upsert loser retries as an update
		_, err = s.pages.UpdateOne(ctx, bson.M{"_id": userID}, bson.M{"$set": bson.M{"favorites": clean, "updated_at": now}})
	}
	if err != nil {
		return CitizenPage{}, fmt.Errorf("write favorites: %w", err)
	}
	return CitizenPage{UserID: userID, Favorites: clean, UpdatedAt: now}, nil
}
