package api

import (
	"net/http"

	"github.com/labstack/echo/v4"
	"github.com/redis/go-redis/v9"
)

// BareRedisGet is the benchmark baseline: a bare Echo server whose one route
// (GET /bare) does a single Redis GET of key and returns the value. Banshi's
// own routes are measured against it (BENCHMARKS.md).
func BareRedisGet(rdb redis.UniversalClient, key string) http.Handler {
	e := echo.New()
	e.HideBanner = true
	e.GET("/bare", func(c echo.Context) error {
		v, err := rdb.Get(c.Request().Context(), key).Result()
		if err != nil && err != redis.Nil {
			return err
		}
		return c.JSON(http.StatusOK, map[string]string{"value": v})
	})
	return e
}
