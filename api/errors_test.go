package api

import (
	"context"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"net"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
	"unicode"

	"banshi/internal/platform"
)

// declared is one error declaration found in the source.
type declared struct {
	at      string
	code    string
	message string // "" when not a literal
}

// declaredErrors parses every non-test Go file of the module and returns the
// codes and messages of its platform.NewError and platform.Invalid calls and
// of the three-argument invalid(field, check, message) helpers the packages
// wrap them in.
func declaredErrors(t *testing.T) []declared {
	t.Helper()
	var out []declared
	fset := token.NewFileSet()
	root := ".."
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (strings.HasPrefix(d.Name(), ".") || d.Name() == "node_modules") && path != root {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			return err
		}
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			name := ""
			switch fn := call.Fun.(type) {
			case *ast.Ident:
				name = fn.Name
			case *ast.SelectorExpr:
				if x, ok := fn.X.(*ast.Ident); ok {
					name = x.Name + "." + fn.Sel.Name
				}
			}
			at := fset.Position(call.Pos()).String()
			switch {
			case (name == "platform.NewError" || (name == "NewError" && f.Name.Name == "platform")) && len(call.Args) == 2:
				out = append(out, declared{at: at, code: codeOf(t, at, call.Args[0]), message: literal(call.Args[1])})
			case (name == "platform.Invalid" || name == "invalid" || (name == "Invalid" && f.Name.Name == "platform")) && len(call.Args) == 3:
				out = append(out, declared{at: at, code: platform.CodeInvalid, message: literal(call.Args[2])})
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func codeOf(t *testing.T, at string, e ast.Expr) string {
	if s := literal(e); s != "" {
		return s
	}
	if sel, ok := e.(*ast.SelectorExpr); ok && sel.Sel.Name == "CodeInvalid" {
		return platform.CodeInvalid
	}
	t.Errorf("%s: an error code must be a string literal or platform.CodeInvalid", at)
	return ""
}

func literal(e ast.Expr) string {
	if b, ok := e.(*ast.BasicLit); ok && b.Kind == token.STRING {
		s, err := strconv.Unquote(b.Value)
		if err == nil {
			return s
		}
	}
	return ""
}

// englishSentence finds two English words in a row: messages are for people,
// in Chinese; the code is the English part.
var englishSentence = regexp.MustCompile(`[A-Za-z]{2,} [A-Za-z]{2,}`)

// TestEveryErrorCodeHasAStatusAndAChineseMessage fails when a code declared
// anywhere in Banshi has no HTTP status in statusOf, or a literal message that
// is empty, not Chinese, or carries an English sentence.
func TestEveryErrorCodeHasAStatusAndAChineseMessage(t *testing.T) {
	decls := declaredErrors(t)
	if len(decls) < 50 {
		t.Fatalf("only %d error declarations found: is the parser looking at the module?", len(decls))
	}
	used := map[string]bool{}
	for _, d := range decls {
		used[d.code] = true
		if _, ok := statusOf[d.code]; !ok {
			t.Errorf("%s: code %q has no HTTP status in api.statusOf", d.at, d.code)
		}
		if d.message == "" {
			continue // built at run time (fmt.Sprintf): checked where it is built
		}
		if !strings.ContainsFunc(d.message, func(r rune) bool { return unicode.Is(unicode.Han, r) }) {
			t.Errorf("%s: message %q is not Chinese", d.at, d.message)
		}
		if englishSentence.MatchString(d.message) {
			t.Errorf("%s: message %q carries English words; the code is the machine-readable part", d.at, d.message)
		}
	}
	for code := range statusOf {
		if !used[code] {
			t.Errorf("statusOf maps %q, which nothing declares", code)
		}
	}
}

func TestAnswers(t *testing.T) {
	until := time.Date(2026, 3, 1, 2, 0, 0, 0, time.UTC)
	sentinel := platform.NewError("slot_full", "该时段已约满")
	lockEnd := time.Now().Add(90 * time.Second)
	cases := []struct {
		name       string
		err        error
		status     int
		code       string
		until      string
		retryAfter int
	}{
		{"sentinel", sentinel, 409, "slot_full", "", 0},
		{"wrapped with a cause", fmt.Errorf("book: %w", sentinel.Wrap(errors.New("mongo: boom"))), 409, "slot_full", "", 0},
		{"until in Shanghai time", platform.NewError("booking_suspended", "暂停").WithUntil(until), 403, "booking_suspended", "2026-03-01T10:00:00+08:00", 0},
		{"retry after", platform.NewError("upstream_busy", "忙"), 503, "upstream_busy", "", 60},
		{"rate limited", &retryLater{err: errRateLimited, after: 7}, 429, "rate_limited", "", 7},
		{"unknown error", errors.New("disk on fire"), 500, "internal", "", 0},
		{"store unreachable", fmt.Errorf("session touch: %w", &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}), 503, "store_unavailable", "", 2},
		{"store timed out", fmt.Errorf("read account: %w", context.DeadlineExceeded), 503, "store_unavailable", "", 2},
		{"login locked", platform.NewError("login_locked", "锁定").WithUntil(lockEnd), 429, "login_locked", lockEnd.In(platform.Shanghai()).Format(time.RFC3339), 90},
		{"unmapped code", platform.NewError("no_such_code", "无"), 500, "internal", "", 0},
	}
	for _, tc := range cases {
		a, _ := answerFor(tc.err)
		if a.status != tc.status || a.Code != tc.code || a.Until != tc.until || a.retryAfter != tc.retryAfter || a.Message == "" {
			t.Errorf("%s: %+v", tc.name, a)
		}
		if strings.Contains(a.Message, "boom") || strings.Contains(a.Message, "disk") {
			t.Errorf("%s: the cause reached the client: %q", tc.name, a.Message)
		}
	}
}
