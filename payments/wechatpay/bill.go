package wechatpay

import (
	"bufio"
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/go-pay/gopay"
	wechat "github.com/go-pay/gopay/wechat/v3"

	"banshi/internal/platform"
	"banshi/payments"
)

// Bill file limits.
const (
	maxBillLine = 16 << 10 // a longer line is malformed
)

// TradeBill downloads the trade bill (bill_type=ALL) of date (YYYY-MM-DD,
// Asia/Shanghai) and returns a streaming reader of its rows. A day WeChat
// has no bill for because nothing was traded (NO_STATEMENT_EXIST) is an
// empty bill. Errors: *payments.ChannelError (STATEMENT_CREATING before
// 10:00 the next day, PARAM_ERROR for a day beyond three months, …),
// payments.ErrChannelUnavailable, payments.ErrMalformed. The reader's Next
// returns payments.ErrMalformed, instead of io.EOF, when the file's SHA-1
// differs from the one WeChat announced or its totals from its rows.
func (p *Provider) TradeBill(ctx context.Context, date string) (payments.BillReader, error) {
	if _, err := time.Parse(time.DateOnly, date); err != nil {
		return nil, errors.New("wechatpay bill: date must be YYYY-MM-DD")
	}
	if err := p.ready(); err != nil {
		return nil, err
	}
	bm := make(gopay.BodyMap)
	bm.Set("bill_date", date).Set("bill_type", "ALL")
	rsp, err := p.client.V3BillTradeBill(ctx, bm)
	if err != nil {
		return nil, p.callError("bill", rsp != nil, err)
	}
	if rsp.Code != wechat.Success {
		if rsp.ErrResponse.Code == "NO_STATEMENT_EXIST" && rsp.Code < 500 {
			if err := p.verifyRefusal("bill", rsp.SignInfo); err != nil {
				return nil, err
			}
			return emptyBill{}, nil
		}
		return nil, refusal("bill", rsp.Code, rsp.ErrResponse)
	}
	if !strings.EqualFold(rsp.Response.HashType, "SHA1") || len(rsp.Response.HashValue) != 2*sha1.Size {
		return nil, fmt.Errorf("wechatpay bill: hash %q is not a SHA1: %w", rsp.Response.HashType, payments.ErrMalformed)
	}
	body, err := p.download(ctx, rsp.Response.DownloadUrl)
	if err != nil {
		return nil, err
	}
	return NewBillReader(body, rsp.Response.HashValue), nil
}

// download GETs a bill file with a signed request, on the configured host
// (like gopay, only the path and query of WeChat's URL are used), and
// returns its body for streaming.
func (p *Provider) download(ctx context.Context, downloadURL string) (io.ReadCloser, error) {
	u, err := url.Parse(downloadURL)
	if err != nil || u.Path == "" {
		return nil, fmt.Errorf("wechatpay bill: bad download_url: %w", payments.ErrMalformed)
	}
	uri := u.EscapedPath()
	if u.RawQuery != "" {
		uri += "?" + u.RawQuery
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.baseURL+uri, nil)
	if err != nil {
		return nil, fmt.Errorf("wechatpay bill: bad download_url: %w", payments.ErrMalformed)
	}
	req.Header.Set("Authorization", p.authorization(http.MethodGet, uri, ""))
	req.Header.Set("Accept", "*/*")
	res, err := p.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("wechatpay bill download: %w: %w", payments.ErrChannelUnavailable, err)
	}
	if res.StatusCode != http.StatusOK {
		defer res.Body.Close()
		var e wechat.ErrResponse
		b, _ := io.ReadAll(io.LimitReader(res.Body, 64<<10))
		_ = json.Unmarshal(b, &e)
		return nil, refusal("bill download", res.StatusCode, e)
	}
	return res.Body, nil
}

// authorization builds the WECHATPAY2-SHA256-RSA2048 header for a request
// gopay does not make (the streaming download), as gopay builds it.
func (p *Provider) authorization(method, uri, body string) string {
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	nonce := randomNonce()
	sum := sha256.Sum256([]byte(method + "\n" + uri + "\n" + ts + "\n" + nonce + "\n" + body + "\n"))
	sig, _ := p.keys.privateKey.Sign(rand.Reader, sum[:], crypto.SHA256) // PKCS#1 v1.5 for an RSA key
	return wechat.Authorization + ` mchid="` + p.cfg.MchID + `",nonce_str="` + nonce + `",timestamp="` + ts +
		`",serial_no="` + p.cfg.SerialNo + `",signature="` + base64.StdEncoding.EncodeToString(sig) + `"`
}

// randomNonce returns 32 random letters and digits.
func randomNonce() string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

// emptyBill is the bill of a day without trade.
type emptyBill struct{}

func (emptyBill) Next() (payments.BillRow, error) { return payments.BillRow{}, io.EOF }
func (emptyBill) Totals() payments.BillTotals     { return payments.BillTotals{} }
func (emptyBill) Close() error                    { return nil }

// The columns the reader uses, by their header names.
const (
	colTime        = "交易时间"
	colTradeNo     = "微信订单号"
	colOrderNo     = "商户订单号"
	colState       = "交易状态"
	colSettle      = "应结订单金额"
	colRefundNo    = "商户退款单号"
	colRefund      = "退款金额"
	colRefundState = "退款状态"
	colFee         = "手续费"
	colTotal       = "订单金额"

	totTrades = "总交易单数"
	totSettle = "应结订单总金额"
	totRefund = "退款总金额"
	totFee    = "手续费总金额"
)

var (
	detailColumns = []string{colTime, colTradeNo, colOrderNo, colState, colSettle, colRefundNo, colRefund, colRefundState, colFee, colTotal}
	totalsColumns = []string{totTrades, totSettle, totRefund, totFee}
)

// billReader reads a WeChat trade bill line by line.
type billReader struct {
	src     io.ReadCloser
	r       *bufio.Reader
	sum     hash.Hash // SHA-1 of every byte read; nil: no check
	want    string    // the announced SHA-1, hex
	cols    map[string]int
	ncols   int
	totals  payments.BillTotals
	seen    struct{ rows, settle, refund, fee int64 }
	started bool
	done    bool
	err     error // sticky
}

// NewBillReader reads a WeChat Pay trade bill (bill_type=ALL) from src as a
// stream. sha1Hex, when not "", is the SHA-1 WeChat announced: a file that
// differs ends in payments.ErrMalformed instead of io.EOF, as does one whose
// totals row disagrees with its rows or that ends before it. Refund rows
// carry 退款状态 as Status; payment rows 交易状态.
func NewBillReader(src io.ReadCloser, sha1Hex string) payments.BillReader {
	b := &billReader{src: src, want: strings.ToLower(sha1Hex)}
	var in io.Reader = src
	if sha1Hex != "" {
		b.sum = sha1.New()
		in = io.TeeReader(src, b.sum)
	}
	b.r = bufio.NewReaderSize(in, 32<<10)
	return b
}

// Close closes the source.
func (b *billReader) Close() error { return b.src.Close() }

// Totals is the totals row, valid once Next returned io.EOF.
func (b *billReader) Totals() payments.BillTotals { return b.totals }

func (b *billReader) fail(why string) error {
	b.err = fmt.Errorf("wechatpay bill: %s: %w", why, payments.ErrMalformed)
	return b.err
}

// line returns the next line without its line break; io.EOF at the end.
func (b *billReader) line() (string, error) {
	var buf []byte
	for {
		chunk, err := b.r.ReadSlice('\n')
		buf = append(buf, chunk...)
		if len(buf) > maxBillLine {
			return "", b.fail("line too long")
		}
		switch {
		case err == nil:
			return strings.TrimRight(string(buf), "\r\n"), nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case errors.Is(err, io.EOF):
			if len(buf) == 0 {
				return "", io.EOF
			}
			return strings.TrimRight(string(buf), "\r\n"), nil
		default:
			b.err = fmt.Errorf("wechatpay bill: reading: %w: %w", payments.ErrChannelUnavailable, err)
			return "", b.err
		}
	}
}

// Next returns the next detail row, io.EOF after the last one (once the
// totals, the hash and the counts have been checked).
func (b *billReader) Next() (payments.BillRow, error) {
	if b.err != nil {
		return payments.BillRow{}, b.err
	}
	if b.done {
		return payments.BillRow{}, io.EOF
	}
	if !b.started {
		if err := b.header(); err != nil {
			return payments.BillRow{}, err
		}
		b.started = true
	}
	for {
		l, err := b.line()
		if err == io.EOF {
			return payments.BillRow{}, b.fail("file ends before its totals")
		}
		if err != nil {
			return payments.BillRow{}, err
		}
		switch {
		case strings.TrimSpace(l) == "":
			continue
		case strings.HasPrefix(l, totTrades):
			return payments.BillRow{}, b.finish(l)
		case strings.HasPrefix(l, "`"):
			return b.row(l)
		default:
			return payments.BillRow{}, b.fail("a line that is neither a row nor the totals")
		}
	}
}

// header reads the header row and finds the columns.
func (b *billReader) header() error {
	l, err := b.line()
	if err == io.EOF {
		return b.fail("empty file")
	}
	if err != nil {
		return err
	}
	names := strings.Split(strings.TrimPrefix(l, "\uFEFF"), ",")
	b.cols = map[string]int{}
	for i, n := range names {
		b.cols[strings.TrimSpace(n)] = i
	}
	for _, c := range detailColumns {
		if _, ok := b.cols[c]; !ok {
			return b.fail("header lacks " + c)
		}
	}
	b.ncols = len(names)
	return nil
}

// cells splits a backquoted line.
func cells(l string) []string {
	return strings.Split(strings.TrimPrefix(l, "`"), ",`")
}

// row parses one detail row.
func (b *billReader) row(l string) (payments.BillRow, error) {
	c := cells(l)
	if len(c) != b.ncols {
		return payments.BillRow{}, b.fail(fmt.Sprintf("row %d has %d cells, the header %d", b.seen.rows+1, len(c), b.ncols))
	}
	get := func(name string) string { return strings.TrimSpace(c[b.cols[name]]) }
	at, err := time.ParseInLocation(time.DateTime, get(colTime), platform.Shanghai())
	if err != nil {
		return payments.BillRow{}, b.fail("交易时间 is not YYYY-MM-DD hh:mm:ss")
	}
	settle, err1 := parseDecimal(get(colSettle), 2)
	refund, err2 := parseDecimal(get(colRefund), 2)
	fee, err3 := parseDecimal(get(colFee), 5)
	total, err4 := parseDecimal(get(colTotal), 2)
	if err := errors.Join(err1, err2, err3, err4); err != nil {
		return payments.BillRow{}, b.fail("an amount is not a yuan decimal")
	}
	row := payments.BillRow{
		TradeTime: at.UTC(), OrderNo: get(colOrderNo), ChannelTradeNo: get(colTradeNo),
		Status: get(colState), FeeMilliFen: fee,
	}
	if row.Status == "REFUND" {
		row.Kind = payments.BillRefund
		row.RefundNo = get(colRefundNo)
		row.Status = get(colRefundState)
		row.AmountFen = refund
	} else {
		row.Kind = payments.BillPayment
		row.AmountFen = total
	}
	if row.OrderNo == "" || row.AmountFen < 0 || settle < 0 || refund < 0 || (row.Kind == payments.BillRefund && row.RefundNo == "") {
		return payments.BillRow{}, b.fail("a row without its order number, with a negative amount, or a refund without its refund number")
	}
	b.seen.rows++
	b.seen.settle += settle
	b.seen.refund += refund
	b.seen.fee += fee
	return row, nil
}

// finish reads the totals row after its header l, then checks the end of
// the file, the hash and the sums; nil means io.EOF.
func (b *billReader) finish(l string) error {
	names := strings.Split(l, ",")
	idx := map[string]int{}
	for i, n := range names {
		idx[strings.TrimSpace(n)] = i
	}
	for _, c := range totalsColumns {
		if _, ok := idx[c]; !ok {
			return b.fail("totals header lacks " + c)
		}
	}
	var tl string
	for {
		var err error
		if tl, err = b.line(); err == io.EOF {
			return b.fail("file ends before its totals row")
		} else if err != nil {
			return err
		}
		if strings.TrimSpace(tl) != "" {
			break
		}
	}
	c := cells(tl)
	if !strings.HasPrefix(tl, "`") || len(c) != len(names) {
		return b.fail("totals row does not match its header")
	}
	get := func(name string) string { return strings.TrimSpace(c[idx[name]]) }
	trades, err0 := strconv.ParseInt(get(totTrades), 10, 64)
	settle, err1 := parseDecimal(get(totSettle), 2)
	refund, err2 := parseDecimal(get(totRefund), 2)
	fee, err3 := parseDecimal(get(totFee), 5)
	if err := errors.Join(err0, err1, err2, err3); err != nil || trades < 0 {
		return b.fail("a total is not a number")
	}
	for {
		rest, err := b.line()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		if strings.TrimSpace(rest) != "" {
			return b.fail("content after the totals row")
		}
	}
	if b.sum != nil && hex.EncodeToString(b.sum.Sum(nil)) != b.want {
		return b.fail("SHA-1 differs from the announced hash")
	}
	if trades != b.seen.rows || settle != b.seen.settle || refund != b.seen.refund || fee != b.seen.fee {
		return b.fail("totals do not match the rows")
	}
	b.totals = payments.BillTotals{Trades: trades, PaidFen: settle, RefundedFen: refund, FeeMilliFen: fee}
	b.done = true
	return io.EOF
}

// parseDecimal reads a yuan amount ("12.34", "-0.00600") as an integer of
// 10^-scale yuan: fen for scale 2, milli-fen for scale 5. No floats: digits
// only, at most scale decimals, at most 15 integer digits.
func parseDecimal(s string, scale int) (int64, error) {
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	intPart, frac, _ := strings.Cut(s, ".")
	if intPart == "" || len(intPart) > 15 || len(frac) > scale || !digits(intPart) || !digits(frac) {
		return 0, errors.New("not a decimal")
	}
	frac += strings.Repeat("0", scale-len(frac))
	v, err := strconv.ParseInt(intPart+frac, 10, 64)
	if err != nil {
		return 0, err
	}
	if neg {
		v = -v
	}
	return v, nil
}

func digits(s string) bool {
	return bytes.IndexFunc([]byte(s), func(r rune) bool { return r < '0' || r > '9' }) < 0
}
