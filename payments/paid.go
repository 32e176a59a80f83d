package payments

import (
	"context"
	"strconv"
	"time"
)

// A channel sends a success callback until it is acknowledged, and
// sometimes many at once. Once an order is recorded paid (in MongoDB), a
// Redis key says so, so that the duplicates are answered from Redis: the
// key is written only after the paid transition is stored, and names the
// channel and the amount the order was paid with, which a duplicate must
// match (its merchant and app are checked against the configuration as
// always). A lost key (Redis flushed or down) only sends the duplicates to
// MongoDB, as before the key existed.

// paidTTL outlives the channels' retries (WeChat Pay: 24 h 4 min; Alipay:
// about 25 h).
const paidTTL = 48 * time.Hour

func (s *Service) paidKey(orderNo string) string { return s.rprefix + "pay:paid:" + orderNo }

func paidValue(provider string, amountFen int64) string {
	return provider + "|" + strconv.FormatInt(amountFen, 10)
}

// rememberPaid records that d is paid; a failure is only logged (MongoDB
// holds the truth).
func (s *Service) rememberPaid(ctx context.Context, d orderDoc) {
	if s.rdb == nil {
		return
	}
	if err := s.rdb.Set(ctx, s.paidKey(d.ID), paidValue(d.Provider, d.AmountFen), paidTTL).Err(); err != nil {
		s.log.DebugContext(ctx, "paid order not remembered in Redis", "order_no", d.ID, "err", err)
	}
}

// knownPaid reports whether t is a success of an order Redis remembers as
// paid through provider for t's amount, by a merchant and app of Banshi's.
func (s *Service) knownPaid(ctx context.Context, provider string, t Trade) bool {
	if s.rdb == nil || (t.State != TradePaid && t.State != TradeRefunded) || s.matchesMerchant(provider, t) != nil {
		return false
	}
	v, err := s.rdb.Get(ctx, s.paidKey(t.OrderNo)).Result()
	if err != nil {
		return false
	}
	return v == paidValue(provider, t.AmountFen) && (t.PaidFen == 0 || t.PaidFen == t.AmountFen)
}
