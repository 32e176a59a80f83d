//go:build unix

package payments_test

import (
	"bufio"
	"context"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"banshi/internal/platform"
	"banshi/internal/platform/platformtest"
	"banshi/payments"
	"banshi/payments/wechatpay"
)

// BenchmarkReconcileWeChatBill reconciles a WeChat Pay trade bill of 10,000
// and of 100,000 payment lines (bill_type=ALL, the 27 columns, generated in
// a file and served by a local HTTP server, read through the real
// wechatpay bill reader with its SHA-1 check) against as many orders
// inserted directly into the embedded database. Besides ns/op it reports
// peak-heap-MB (the highest heap in use — HeapInuse — sampled every
// millisecond during the run), heap-growth-MB (that peak above the heap in
// use before the run), alloc-MB/op and cpu-s/op (the process's CPU time,
// the in-process FerretDB's included). Run it with
//
//	go test ./payments/ -run '^$' -bench BenchmarkReconcileWeChatBill -benchtime 1x -timeout 30m
func BenchmarkReconcileWeChatBill(b *testing.B) {
	for _, n := range []int{10_000, 100_000} {
		b.Run(fmt.Sprintf("lines=%d", n), func(b *testing.B) { reconBench(b, n) })
	}
}

const reconBenchDate = "2026-03-15"

// reconBenchProvider serves only the trade bill, from url, through the real
// WeChat Pay bill reader.
type reconBenchProvider struct {
	payments.Provider // nil: nothing but TradeBill is called
	url, sha1         string
}

func (p reconBenchProvider) Name() string { return payments.ProviderWeChatPay }

func (p reconBenchProvider) TradeBill(ctx context.Context, _ string) (payments.BillReader, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.url, nil)
	if err != nil {
		return nil, err
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	if res.StatusCode != http.StatusOK {
		res.Body.Close()
		return nil, errors.New(res.Status)
	}
	return wechatpay.NewBillReader(res.Body, p.sha1), nil
}

type reconBenchActions struct{}

func (reconBenchActions) TakeChannel(context.Context, string, string) error { return nil }
func (reconBenchActions) RefundChannelOnly(context.Context, string, string, string, int64, string) error {
	return nil
}

// reconBenchBill writes a bill of n payments to a file and returns its
// path and SHA-1.
func reconBenchBill(b *testing.B, n int, day time.Time) (string, string) {
	b.Helper()
	path := filepath.Join(b.TempDir(), "bill.csv")
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	h := sha1.New()
	w := bufio.NewWriter(io.MultiWriter(f, h))
	yuan := func(fen int64) string { return fmt.Sprintf("%d.%02d", fen/100, fen%100) }
	w.WriteString("\uFEFF交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,货币种类,应结订单金额,代金券金额,微信退款单号,商户退款单号,退款金额,充值券退款金额,退款类型,退款状态,商品名称,商户数据包,手续费,费率,订单金额,申请退款金额,费率备注\r\n")
	var paid, fees int64
	for i := range n {
		amount := reconBenchAmount(i)
		fee := amount * 6 // 0.60 % in milli-fen
		paid += amount
		fees += fee
		at := day.Add(time.Duration(i) * (24 * time.Hour / time.Duration(n))).In(platform.Shanghai())
		cells := []string{at.Format(time.DateTime), "wxminiprogram0001", "1900000109", "0", "",
			fmt.Sprintf("42000000002026031%011d", i), reconBenchOrderNo(i), "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o", "JSAPI", "SUCCESS",
			"OTHERS", "CNY", yuan(amount), "0.00", "0", "0", "0.00", "0.00", "", "", "不动产登记费", "B" + reconBenchOrderNo(i),
			fmt.Sprintf("%d.%05d", fee/100000, fee%100000), "0.60%", yuan(amount), "0.00", ""}
		w.WriteString("`" + strings.Join(cells, ",`") + "\r\n")
	}
	w.WriteString("总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额\r\n")
	w.WriteString("`" + strings.Join([]string{fmt.Sprint(n), yuan(paid), "0.00", "0.00",
		fmt.Sprintf("%d.%05d", fees/100000, fees%100000), yuan(paid), "0.00"}, ",`") + "\r\n")
	if err := errors.Join(w.Flush(), f.Close()); err != nil {
		b.Fatal(err)
	}
	return path, hex.EncodeToString(h.Sum(nil))
}

func reconBenchOrderNo(i int) string { return fmt.Sprintf("BS2026031500%08d", i) }
func reconBenchAmount(i int) int64   { return int64(100 + i%50_000) }

func reconBench(b *testing.B, n int) {
	ctx := context.Background()
	db := platformtest.Mongo(b)
	day := time.Date(2026, 3, 14, 16, 0, 0, 0, time.UTC) // the 15th, 00:00 in Shanghai
	path, sum := reconBenchBill(b, n, day)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { http.ServeFile(w, r, path) }))
	b.Cleanup(srv.Close)

	orders := db.Collection(payments.CollOrders)
	batch := make([]any, 0, 1000)
	for i := range n {
		paidAt := day.Add(time.Duration(i) * (24 * time.Hour / time.Duration(n)))
		batch = append(batch, bson.M{"_id": reconBenchOrderNo(i), "bill_no": "B" + reconBenchOrderNo(i),
			"provider": payments.ProviderWeChatPay, "method": "wechat_jsapi", "amount_fen": reconBenchAmount(i),
			"paid_fen": reconBenchAmount(i), "state": payments.OrderHandled, "channel_trade_no": fmt.Sprintf("42000000002026031%011d", i),
			"paid_at": paidAt, "paid_date": reconBenchDate, "refunded_fen": int64(0), "refunding_fen": int64(0),
			"transitions": bson.A{bson.M{"from": "paying", "to": "paid", "cause": "callback", "at": paidAt}}, "version": int64(2)})
		if len(batch) == cap(batch) || i == n-1 {
			if _, err := orders.InsertMany(ctx, batch); err != nil {
				b.Fatal(err)
			}
			batch = batch[:0]
		}
	}
	clock := platform.NewManualClock(time.Date(2026, 3, 16, 3, 0, 0, 0, time.UTC))
	r, err := payments.NewReconciler(payments.ReconcilerDeps{DB: db, Clock: clock, Log: platformtest.Logger(),
		Providers: map[string]payments.Provider{payments.ProviderWeChatPay: reconBenchProvider{url: srv.URL, sha1: sum}},
		Actions:   reconBenchActions{}})
	if err != nil {
		b.Fatal(err)
	}

	var peak, peakLive, base, allocs uint64
	var cpu time.Duration
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		base = max(base, ms.HeapInuse)
		before, cpuBefore := ms.TotalAlloc, reconBenchCPU()
		var high, live atomic.Uint64
		stop := make(chan struct{})
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			// runtime/metrics, unlike ReadMemStats, does not stop the world.
			sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}, {Name: "/memory/classes/heap/unused:bytes"},
				{Name: "/gc/heap/live:bytes"}}
			t := time.NewTicker(time.Millisecond)
			defer t.Stop()
			for {
				metrics.Read(sample)
				if inuse := sample[0].Value.Uint64() + sample[1].Value.Uint64(); inuse > high.Load() {
					high.Store(inuse)
				}
				if l := sample[2].Value.Uint64(); l > live.Load() {
					live.Store(l)
				}
				select {
				case <-stop:
					return
				case <-t.C:
				}
			}
		}()
		b.StartTimer()
		rec, err := r.Run(ctx, reconBenchDate, payments.ProviderWeChatPay)
		b.StopTimer()
		close(stop)
		wg.Wait()
		if err != nil {
			b.Fatal(err)
		}
		if rec.Summary.Matched != int64(n) || rec.Summary.BillRows != int64(n) || !rec.Summary.TotalsAgree ||
			rec.Summary.ChannelOnly+rec.Summary.MissingAtChannel+rec.Summary.AmountMismatch+rec.Summary.StatusMismatch != 0 {
			b.Fatalf("summary %+v", rec.Summary)
		}
		cpu += reconBenchCPU() - cpuBefore
		runtime.ReadMemStats(&ms)
		allocs += ms.TotalAlloc - before
		peak = max(peak, high.Load())
		peakLive = max(peakLive, live.Load())
		b.StartTimer()
	}
	b.StopTimer()
	const mb = 1 << 20
	b.ReportMetric(float64(peak)/mb, "peak-heap-MB")
	b.ReportMetric(float64(peak-min(peak, base))/mb, "heap-growth-MB")
	b.ReportMetric(float64(peakLive)/mb, "peak-live-heap-MB")
	b.ReportMetric(float64(allocs)/float64(b.N)/mb, "alloc-MB/op")
	b.ReportMetric(cpu.Seconds()/float64(b.N), "cpu-s/op")
}

// reconBenchCPU is the CPU time (user and system) the process used so far:
// the embedded FerretDB runs in it, so this is the work of both sides, on
// a machine whose other load inflates the wall time.
func reconBenchCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
