package alipay

import (
	"archive/zip"
	"bufio"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/go-pay/gopay"
	"golang.org/x/text/encoding/simplifiedchinese"
	"golang.org/x/text/transform"

	"banshi/payments"
)

// Bill limits.
const (
	maxBillLine = 16 << 10 // a longer line is malformed
	maxBillZip  = 1 << 30  // a larger download is refused
)

// TradeBill downloads the trade bill (bill_type=trade) of date (YYYY-MM-DD,
// Asia/Shanghai) and returns a streaming reader of its detail rows
// (业务明细). The zip is kept in a temporary file, removed by Close; the
// detail CSV is decoded from GBK as it is read. Errors:
// *payments.ChannelError (isp.bill_not_exist before the bill is ready,
// ACQ.* …), payments.ErrChannelUnavailable, payments.ErrMalformed (no
// detail file in the zip). The reader's Next returns payments.ErrMalformed,
// instead of io.EOF, when the footer's totals differ from the rows or the
// file ends before them.
func (p *Provider) TradeBill(ctx context.Context, date string) (payments.BillReader, error) {
	if _, err := time.Parse(time.DateOnly, date); err != nil {
		return nil, errors.New("alipay bill: date must be YYYY-MM-DD")
	}
	cctx, c := withCapture(ctx)
	rsp, err := p.client.DataBillDownloadUrlQuery(cctx, make(gopay.BodyMap).Set("bill_type", "trade").Set("bill_date", date))
	biz, verified, err := p.outcome("bill", methodBill, c, err)
	if err != nil {
		return nil, err
	}
	if biz != nil {
		return nil, p.refusal("bill", biz, verified)
	}
	if rsp.Response.BillDownloadUrl == "" {
		return nil, fmt.Errorf("alipay bill: answer without bill_download_url: %w", payments.ErrMalformed)
	}
	f, err := p.download(ctx, rsp.Response.BillDownloadUrl)
	if err != nil {
		return nil, err
	}
	br, err := openBillZip(f)
	if err != nil {
		_ = f.Close()
		_ = os.Remove(f.Name())
		return nil, err
	}
	return br, nil
}

// download GETs the bill zip into a temporary file.
func (p *Provider) download(ctx context.Context, u string) (*os.File, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("alipay bill: bad bill_download_url: %w", payments.ErrMalformed)
	}
	res, err := p.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("alipay bill download: %w: %w", payments.ErrChannelUnavailable, err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("alipay bill download: HTTP %d: %w", res.StatusCode, payments.ErrChannelUnavailable)
	}
	f, err := os.CreateTemp(p.cfg.TempDir, "alipay-bill-*.zip")
	if err != nil {
		return nil, fmt.Errorf("alipay bill: temporary file: %w", err)
	}
	n, err := io.Copy(f, io.LimitReader(res.Body, maxBillZip+1))
	if err == nil && n > maxBillZip {
		err = errors.New("larger than 1 GiB")
	}
	if err != nil {
		_ = f.Close()
		_ = os.Remove(f.Name())
		return nil, fmt.Errorf("alipay bill download: %w: %w", payments.ErrChannelUnavailable, err)
	}
	return f, nil
}

// openBillZip finds the detail file (…_业务明细.csv, its name in GBK or
// UTF-8) in the zip f and returns its reader; Close also removes f.
func openBillZip(f *os.File) (payments.BillReader, error) {
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("alipay bill: %w", err)
	}
	zr, err := zip.NewReader(f, fi.Size())
	if err != nil {
		return nil, fmt.Errorf("alipay bill: not a zip: %w", payments.ErrMalformed)
	}
	for _, e := range zr.File {
		name := e.Name
		if e.NonUTF8 || !utf8.ValidString(name) {
			if s, err := simplifiedchinese.GBK.NewDecoder().String(name); err == nil {
				name = s
			}
		}
		if !strings.HasSuffix(name, "_业务明细.csv") {
			continue
		}
		rc, err := e.Open()
		if err != nil {
			return nil, fmt.Errorf("alipay bill: detail file: %w", payments.ErrMalformed)
		}
		return NewBillReader(fileCloser{ReadCloser: rc, f: f}), nil
	}
	return nil, fmt.Errorf("alipay bill: no 业务明细 file in the zip: %w", payments.ErrMalformed)
}

// fileCloser closes the zip entry, then closes and removes the zip file.
type fileCloser struct {
	io.ReadCloser
	f *os.File
}

func (c fileCloser) Close() error {
	err := c.ReadCloser.Close()
	_ = c.f.Close()
	_ = os.Remove(c.f.Name())
	return err
}

// The columns the reader uses.
const (
	colTradeNo  = "支付宝交易号"
	colOrderNo  = "商户订单号"
	colKind     = "业务类型"
	colCreated  = "创建时间"
	colFinished = "完成时间"
	colAmount   = "订单金额（元）"
	colReceived = "商家实收（元）"
	colRefundNo = "退款批次号/请求号"
	colFee      = "服务费（元）"
)

var detailColumns = []string{colTradeNo, colOrderNo, colKind, colCreated, colFinished, colAmount, colReceived, colRefundNo, colFee}

// The footer's totals lines.
var (
	tradeTotalsRe  = regexp.MustCompile(`^#交易合计：(\d{1,12})笔，商家实收共(-?\d{1,12}(?:\.\d{1,2})?)元`)
	refundTotalsRe = regexp.MustCompile(`^#退款合计：(\d{1,12})笔，商家实收退款共(-?\d{1,12}(?:\.\d{1,2})?)元`)
)

// billReader reads an Alipay detail bill line by line.
type billReader struct {
	src             io.ReadCloser
	sc              *bufio.Scanner
	cols            map[string]int
	ncols           int
	footer          bool // past 业务明细列表结束
	trades, refunds struct {
		seen      bool
		count     int64
		amountFen int64
	}
	rows   struct{ trades, refunds, paidFen, refundedFen, feeMilliFen int64 }
	totals payments.BillTotals
	err    error // sticky
}

// NewBillReader reads an Alipay trade bill's detail file (业务明细, GBK CSV)
// from src as a stream: "#" header lines, the header row, the rows, then
// the "#" footer whose 交易合计 and 退款合计 must match the rows (else Next
// ends in payments.ErrMalformed instead of io.EOF). Payment rows (交易)
// have AmountFen = 订单金额; refund rows (退款) the refunded amount,
// positive; FeeMilliFen is the fee charged (positive for payments,
// negative — given back — for refunds). Status is 业务类型.
func NewBillReader(src io.ReadCloser) payments.BillReader {
	sc := bufio.NewScanner(transform.NewReader(src, simplifiedchinese.GBK.NewDecoder()))
	sc.Buffer(make([]byte, 4096), maxBillLine)
	return &billReader{src: src, sc: sc}
}

func (b *billReader) fail(why string) error {
	b.err = fmt.Errorf("alipay bill: %s: %w", why, payments.ErrMalformed)
	return b.err
}

// Next returns the next row, io.EOF after the last one (the totals
// checked), or payments.ErrMalformed.
func (b *billReader) Next() (payments.BillRow, error) {
	if b.err != nil {
		return payments.BillRow{}, b.err
	}
	for b.sc.Scan() {
		line := strings.TrimRight(b.sc.Text(), "\r")
		if strings.TrimSpace(line) == "" {
			continue
		}
		if strings.HasPrefix(line, "#") {
			if err := b.comment(line); err != nil {
				return payments.BillRow{}, err
			}
			continue
		}
		if b.footer {
			return payments.BillRow{}, b.fail("a row after the list's end")
		}
		if b.cols == nil {
			if err := b.header(line); err != nil {
				return payments.BillRow{}, err
			}
			continue
		}
		return b.row(line)
	}
	if b.sc.Err() != nil {
		return payments.BillRow{}, b.fail("unreadable or a line too long")
	}
	return payments.BillRow{}, b.end()
}

// comment reads a "#" line: the footer's start and its totals.
func (b *billReader) comment(line string) error {
	if strings.Contains(line, "业务明细列表结束") {
		b.footer = true
		return nil
	}
	if !b.footer {
		return nil
	}
	for _, t := range []struct {
		re  *regexp.Regexp
		dst *struct {
			seen      bool
			count     int64
			amountFen int64
		}
	}{{tradeTotalsRe, &b.trades}, {refundTotalsRe, &b.refunds}} {
		m := t.re.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		if t.dst.seen {
			return b.fail("totals given twice")
		}
		n, err1 := strconv.ParseInt(m[1], 10, 64)
		fen, ok := signedFenOf(m[2])
		if err1 != nil || !ok {
			return b.fail("unreadable totals")
		}
		t.dst.seen, t.dst.count, t.dst.amountFen = true, n, fen
	}
	return nil
}

// header maps the column names.
func (b *billReader) header(line string) error {
	names := strings.Split(line, ",")
	b.cols = make(map[string]int, len(names))
	for i, n := range names {
		b.cols[strings.TrimSpace(n)] = i
	}
	for _, c := range detailColumns {
		if _, ok := b.cols[c]; !ok {
			return b.fail("header without " + c)
		}
	}
	b.ncols = len(names)
	return nil
}

// row parses one detail row.
func (b *billReader) row(line string) (payments.BillRow, error) {
	cr := csv.NewReader(strings.NewReader(line))
	cr.LazyQuotes = true
	cells, err := cr.Read()
	if err != nil || len(cells) != b.ncols {
		return payments.BillRow{}, b.fail("a row without the header's columns")
	}
	cell := func(c string) string { return strings.Trim(cells[b.cols[c]], "\t ") }
	r := payments.BillRow{ChannelTradeNo: cell(colTradeNo), OrderNo: cell(colOrderNo), Status: cell(colKind)}
	if r.OrderNo == "" {
		return payments.BillRow{}, b.fail("a row without 商户订单号")
	}
	at, ok := parseTime(cell(colFinished))
	if !ok {
		if at, ok = parseTime(cell(colCreated)); !ok {
			return payments.BillRow{}, b.fail("a row without a time")
		}
	}
	r.TradeTime = at
	amount, ok1 := signedFenOf(cell(colAmount))
	received, ok2 := signedFenOf(cell(colReceived))
	fee, ok3 := signedFenOf(cell(colFee))
	if !ok1 || !ok2 || !ok3 {
		return payments.BillRow{}, b.fail("an amount that is not exact yuan")
	}
	switch r.Status {
	case "交易":
		if amount < 0 || received < 0 {
			return payments.BillRow{}, b.fail("a payment with a negative amount")
		}
		r.Kind, r.AmountFen = payments.BillPayment, amount
		b.rows.trades++
		b.rows.paidFen += received
	case "退款":
		if received > 0 {
			return payments.BillRow{}, b.fail("a refund with a positive amount")
		}
		r.Kind, r.AmountFen, r.RefundNo = payments.BillRefund, -received, cell(colRefundNo)
		b.rows.refunds++
		b.rows.refundedFen += -received
	default:
		return payments.BillRow{}, b.fail("unknown 业务类型")
	}
	r.FeeMilliFen = -fee * 1000
	b.rows.feeMilliFen += r.FeeMilliFen
	return r, nil
}

// end checks the footer against the rows at the end of the file.
func (b *billReader) end() error {
	switch {
	case !b.trades.seen || !b.refunds.seen:
		return b.fail("the file ends before its totals")
	case b.trades.count != b.rows.trades || b.refunds.count != b.rows.refunds:
		return b.fail("the totals count other rows")
	case b.trades.amountFen != b.rows.paidFen || -b.refunds.amountFen != b.rows.refundedFen:
		return b.fail("the totals differ from the rows")
	}
	b.totals = payments.BillTotals{
		Trades: b.rows.trades + b.rows.refunds, PaidFen: b.rows.paidFen,
		RefundedFen: b.rows.refundedFen, FeeMilliFen: b.rows.feeMilliFen,
	}
	b.err = io.EOF
	return io.EOF
}

// Totals is valid after Next returned io.EOF.
func (b *billReader) Totals() payments.BillTotals { return b.totals }

// Close releases the file.
func (b *billReader) Close() error { return b.src.Close() }
