package loadtest

import (
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"
	"github.com/redis/go-redis/v9"
)

// Baseline is what Banshi's routes are measured against: a bare Echo server
// whose one route, GET /bare, does a single Redis GET of key and returns the
// value as JSON (an absent key is an empty value). No middleware, no
// logging, no metrics: the least an Echo handler reading Redis can cost.
func Baseline(rdb redis.UniversalClient, key string) http.Handler {
	e := echo.New()
	e.HideBanner = true
	e.GET("/bare", func(c echo.Context) error {
		v, err := rdb.Get(c.Request().Context(), key).Result()
		if err != nil && !errors.Is(err, redis.Nil) {
			return err
		}
		return c.JSON(http.StatusOK, map[string]string{"value": v})
	})
	return e
}
