package tracing

import (
	"github.com/redis/go-redis/extra/redisotel/v9"
	"github.com/redis/go-redis/v9"
	"go.opentelemetry.io/otel/trace"
)

// InstrumentRedis adds a client span per Redis command (named by the
// command, "get", "evalsha", or "redis.pipeline get set" for a pipeline)
// to client, inside an existing trace only: background loops that poll
// Redis start no trace. Nothing is added when tp is off (On).
//
// No command text or argument value is recorded (redisotel's
// WithDBStatement(false)): keys hold session-token digests and user IDs, values
// hold sessions. Dials are not traced. Attributes: db.system, the server
// address and port and the connection string (redis://host:port, never a
// password). Errors: client is of a kind redisotel does not know.
func InstrumentRedis(tp trace.TracerProvider, client redis.UniversalClient) error {
	if !On(tp) {
		return nil
	}
	return redisotel.InstrumentTracing(client,
		redisotel.WithTracerProvider(childOnly{tp}),
		redisotel.WithDBStatement(false),
		redisotel.WithCallerEnabled(false),
		redisotel.WithDialFilter(true),
	)
}
