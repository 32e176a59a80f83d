# The README's two commands, and the checks CI runs.
.PHONY: run test test-redis lint bench

run:
	go run ./cmd/banshi

test:
	go test ./...

test-redis:
	BANSHI_TEST_REDIS_URL=redis://127.0.0.1:6379/0 go test -count=1 ./...

lint:
	gofmt -l $$(git ls-files '*.go')
	go vet ./...
	go run honnef.co/go/tools/cmd/staticcheck@v0.6.1 ./...
	npm ci --no-audit --no-fund
	REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true npm run --silent lint:openapi

bench:
	go run ./cmd/banshi loadtest --redis redis://127.0.0.1:6379/0 --duration 10s --concurrency 32
