package main

import (
	_ "github.com/FerretDB/FerretDB/ferretdb"
	_ "github.com/alicebob/miniredis/v2"
	_ "github.com/go-pay/gopay/wechat/v3"
	_ "github.com/go-redis/redis_rate/v10"
	_ "github.com/labstack/echo/v4"
	_ "github.com/prometheus/client_golang/prometheus"
	_ "github.com/redis/go-redis/v9"
	_ "github.com/silenceper/wechat/v2/miniprogram"
	_ "go.mongodb.org/mongo-driver/v2/mongo"
	_ "golang.org/x/crypto/argon2"
)

func main() {}
