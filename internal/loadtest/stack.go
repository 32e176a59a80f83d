package loadtest

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/redis/go-redis/v9"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"banshi/appointments"
	"banshi/internal/account"
	"banshi/internal/platform"
	"banshi/internal/session"
)

// Starter starts Banshi with cfg exactly as main wires it and returns what
// the load test drives and checks. The caller closes the Stack. The command
// passes its wiring in, so this package never builds Banshi itself.
type Starter func(ctx context.Context, cfg platform.Config, log *slog.Logger) (*Stack, error)

// Stack is a started Banshi, as the load test sees it.
type Stack struct {
	// Server returns Banshi's HTTP server for addr, configured as serve
	// configures it; the load test serves it on a loopback listener.
	Server func(addr string) *http.Server

	Redis         redis.UniversalClient // the Redis Banshi uses: the baseline reads it, the run's keys are deleted from it
	RedisEmbedded bool
	DB            *mongo.Database // Banshi's database: the flash crowd's outcome is counted in it
	MongoEmbedded bool

	Accounts Accounts // creates the flash crowd's citizens
	Sessions Sessions // gives them sessions
	Catalog  Catalog  // adds the flash crowd's hall and finds a free slot

	Close func() // closes the stores
}

// Accounts is what the flash crowd needs of the citizen store
// (*account.Store).
type Accounts interface {
	LoginWeChat(ctx context.Context, ch account.Channel, unionID, openID string) (account.User, error)
	RaiseLevel(ctx context.Context, userID string, id account.Identity, level int) (account.User, error)
}

// Sessions is what the flash crowd needs of the session store
// (*session.Store).
type Sessions interface {
	Create(ctx context.Context, userID, channel string, level int) (string, session.Session, error)
}

// Catalog is the public booking-service API the flash crowd prepares its
// slot through (*appointments.Service).
type Catalog interface {
	Import(ctx context.Context, in appointments.CatalogImport) (appointments.ImportResult, error)
	BookingWindow(ctx context.Context, hallID string) ([]string, error)
	DaySlots(ctx context.Context, hallID, serviceID, date string) (appointments.DaySlots, error)
}
