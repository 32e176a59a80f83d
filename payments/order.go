package payments

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"banshi/internal/platform"
)

// OrderRequest is a citizen's request to pay a bill.
type OrderRequest struct {
	Channel Method `json:"channel"`
	// Code is the verification code of the paper notice: needed unless the
	// payer is the citizen who proved the bill's ID number.
	Code string `json:"code,omitempty"`
}

// OrderView is an order as its owner sees it.
type OrderView struct {
	OrderNo     string          `json:"order_no"`
	BillNo      string          `json:"bill_no"`
	Channel     string          `json:"channel"`
	Status      string          `json:"status"`
	AmountFen   int64           `json:"amount_fen"`
	RefundedFen int64           `json:"refunded_fen"`
	ExpiresAt   time.Time       `json:"expires_at"`
	PayParams   map[string]any  `json:"pay_params,omitempty"` // while paying only
	PaidAt      *time.Time      `json:"paid_at,omitempty"`
	CreatedAt   time.Time       `json:"created_at"`
	Transitions []transitionDoc `json:"transitions"`
}

func (d orderDoc) view() OrderView {
	v := OrderView{
		OrderNo: d.ID, BillNo: d.BillNo, Channel: d.Method, Status: d.State, AmountFen: d.AmountFen,
		RefundedFen: d.RefundedFen, ExpiresAt: platform.Local(d.ExpiresAt), CreatedAt: platform.Local(d.CreatedAt),
		Transitions: make([]transitionDoc, 0, len(d.Transitions)),
	}
	if d.State == OrderPaying {
		v.PayParams = d.PayParams
	}
	if !d.PaidAt.IsZero() {
		t := platform.Local(d.PaidAt)
		v.PaidAt = &t
	}
	for _, t := range d.Transitions {
		t.At = platform.Local(t.At)
		v.Transitions = append(v.Transitions, t)
	}
	return v
}

// idemDoc records the order an Idempotency-Key created.
type idemDoc struct {
	ID        string    `bson:"_id"` // "<user>|<key digest>"
	BodyHash  string    `bson:"body_hash"`
	OrderNo   string    `bson:"order_no"`
	CreatedAt time.Time `bson:"created_at"`
}

// ValidIdempotencyKey: 1..255 visible ASCII characters.
func ValidIdempotencyKey(k string) bool {
	if len(k) < 1 || len(k) > 255 {
		return false
	}
	for i := 0; i < len(k); i++ {
		if k[i] < 0x21 || k[i] > 0x7e {
			return false
		}
	}
	return true
}

func digest(parts ...string) string {
	h := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	return hex.EncodeToString(h[:16])
}

// newOrderNo returns a fresh out_trade_no: "BS", the Shanghai date and time
// to the second, then 12 random digits (28 characters, within both
// channels' limits).
func newOrderNo(now time.Time) string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	for i := range b {
		b[i] = '0' + b[i]%10
	}
	return "BS" + now.In(platform.Shanghai()).Format("20060102150405") + string(b[:])
}

// createAttempts bounds the retries of CreateOrder when the bill keeps
// changing under it.
const createAttempts = 5

// CreateOrder opens an order for the bill, or returns the one open on the
// same channel for the same payer. An order open on another channel is
// closed at its channel first (if the close finds it paid, ErrBillPaid). The
// order's amount is the bill's amount due now (late fee included). key is
// the Idempotency-Key: the same key with the same request answers the order
// it created; with another request ErrIdempotencyMismatch.
//
// Errors: ErrIdempotencyKey, ErrChannelNotEnabled, ErrBillNotFound (unknown
// bill, or not the payer's and no right code), ErrBillPaid,
// ErrBillCancelled, ErrRealnameRequired (a person's bill needs level 2),
// ErrMiniProgramLogin (wechat_jsapi without a mini-program openid),
// ErrIdempotencyMismatch, ErrBillBusy, ErrPayChannelUnavailable, ErrPayChannelDown,
// ErrPayChannelRefused; storage errors.
func (s *Service) CreateOrder(ctx context.Context, userID, billNo, key string, req OrderRequest) (OrderView, bool, error) {
	if !ValidIdempotencyKey(key) {
		return OrderView{}, false, ErrIdempotencyKey
	}
	p := s.providers[ProviderOf(req.Channel)]
	if p == nil {
		return OrderView{}, false, ErrChannelNotEnabled
	}
	idemID := userID + "|" + digest(key)
	bodyHash := digest(billNo, string(req.Channel), req.Code)
	var prior idemDoc
	if err := s.idem.FindOne(ctx, bson.M{"_id": idemID}).Decode(&prior); err == nil {
		if prior.BodyHash != bodyHash {
			return OrderView{}, false, ErrIdempotencyMismatch
		}
		d, err := s.loadOrder(ctx, prior.OrderNo)
		if err != nil {
			return OrderView{}, false, err
		}
		return d.view(), false, nil
	}
	payer, err := s.payers.Payer(ctx, userID)
	if err != nil {
		return OrderView{}, false, err
	}
	for range createAttempts {
		bill, err := s.bills.load(ctx, billNo)
		if err != nil {
			return OrderView{}, false, err
		}
		if err := s.mayPay(ctx, payer, bill, req.Code); err != nil {
			return OrderView{}, false, err
		}
		if req.Channel == WeChatJSAPI && payer.MiniOpenID == "" {
			return OrderView{}, false, ErrMiniProgramLogin
		}
		switch bill.State {
		case BillPaid:
			return OrderView{}, false, ErrBillPaid
		case BillCancelled:
			return OrderView{}, false, ErrBillCancelled
		case BillPaying:
			open, reuse, err := s.settleOpen(ctx, bill, userID, req.Channel)
			if err != nil {
				return OrderView{}, false, err
			}
			if reuse {
				s.rememberKey(ctx, idemID, bodyHash, open.ID)
				return open.view(), false, nil
			}
			continue // released: read the bill again
		}
		// A channel whose breaker is open would refuse the prepay at once:
		// refuse before anything is created (no order, no held bill).
		if err := channelReady(p); err != nil {
			return OrderView{}, false, err
		}
		d, err := s.open(ctx, bill, payer, req.Channel, p)
		if errors.Is(err, errBillChanged) {
			continue
		}
		if err != nil {
			return OrderView{}, false, err
		}
		s.rememberKey(ctx, idemID, bodyHash, d.ID)
		return d.view(), true, nil
	}
	return OrderView{}, false, ErrBillBusy
}

// mayPay checks that payer may pay bill: the proven owner of a person's
// bill, a member of an enterprise whose scope covers an enterprise's bill
// (memberMayPay), or anyone holding its verification code; a person's bill
// needs real-name level 2.
func (s *Service) mayPay(ctx context.Context, payer Payer, bill billDoc, code string) error {
	owner := false
	if bill.Payer.Type == PayerPerson && bill.Payer.IDIndex != "" {
		idx, err := s.owners.ProvenIndex(ctx, payer.UserID)
		if err != nil {
			return err
		}
		owner = idx != "" && subtle.ConstantTimeCompare([]byte(idx), []byte(bill.Payer.IDIndex)) == 1
	}
	if !owner && code == "" {
		ok, err := s.memberMayPay(ctx, payer.UserID, bill)
		if err != nil {
			return err
		}
		owner = ok
	}
	if !owner {
		want := s.index.BlindIndex(CodeKind, bill.ID+"|"+code)
		if code == "" || subtle.ConstantTimeCompare([]byte(want), []byte(bill.CodeDigest)) != 1 {
			return ErrBillNotFound
		}
	}
	if bill.Payer.Type == PayerPerson && payer.Level < 2 {
		return ErrRealnameRequired
	}
	return nil
}

// rememberKey records which order an Idempotency-Key answered with (a lost
// record only means a replay is decided afresh: the bill's open order makes
// that answer the same order on the same channel).
func (s *Service) rememberKey(ctx context.Context, id, bodyHash, orderNo string) {
	_, err := s.idem.InsertOne(ctx, idemDoc{ID: id, BodyHash: bodyHash, OrderNo: orderNo, CreatedAt: s.now()})
	if err != nil && !platform.IsDuplicateKey(err) {
		s.log.WarnContext(ctx, "idempotency record not stored", "err", err, "order_no", orderNo)
	}
}

// settleOpen deals with the order open on bill: the same payer on the same
// channel, still payable for a while and for the amount due, gets it back
// (reuse); any other is closed at its channel and released. If the channel
// says it was paid, the payment is applied and ErrBillPaid returned.
func (s *Service) settleOpen(ctx context.Context, bill billDoc, userID string, m Method) (orderDoc, bool, error) {
	open, err := s.loadOrder(ctx, bill.OpenOrder)
	if errors.Is(err, ErrOrderNotFound) {
		// The bill names an order that was never stored: release it.
		_, err = s.bills.releaseOrder(ctx, bill.ID, bill.OpenOrder)
		return orderDoc{}, false, err
	}
	if err != nil {
		return orderDoc{}, false, err
	}
	now := s.now()
	if open.State == OrderPaying && open.UserID == userID && open.Method == string(m) &&
		open.ExpiresAt.Sub(now) > time.Minute && open.AmountFen == s.amountDue(bill, now) {
		if open.PayParams == nil {
			// A concurrent request is creating it at the channel.
			return s.awaitParams(ctx, open)
		}
		return open, true, nil
	}
	if open.State == OrderPaying {
		if err := s.closeOrder(ctx, open, "replaced"); err != nil {
			return orderDoc{}, false, err
		}
	}
	b, err := s.bills.releaseOrder(ctx, bill.ID, open.ID)
	if err != nil {
		return orderDoc{}, false, err
	}
	if b.State == BillPaid {
		return orderDoc{}, false, ErrBillPaid
	}
	return orderDoc{}, false, nil
}

// awaitParams waits (a few seconds at most) for the request that opened d
// to store its payment parameters, and returns it for reuse; ErrBillBusy if
// it does not come, or the order changed meanwhile.
func (s *Service) awaitParams(ctx context.Context, d orderDoc) (orderDoc, bool, error) {
	for range 60 {
		select {
		case <-ctx.Done():
			return orderDoc{}, false, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		cur, err := s.loadOrder(ctx, d.ID)
		if err != nil {
			return orderDoc{}, false, err
		}
		if cur.State != OrderPaying {
			return orderDoc{}, false, ErrBillBusy
		}
		if cur.PayParams != nil {
			return cur, true, nil
		}
	}
	return orderDoc{}, false, ErrBillBusy
}

// amountDue is the bill's amount with its late fee as of now.
func (s *Service) amountDue(bill billDoc, now time.Time) int64 {
	return bill.AmountFen + LateFeeFen(bill, now)
}

// open stores a new order, holds the bill for it, and creates it at the
// channel. A bill taken meanwhile answers errBillChanged (the order is
// stored closed, never sent).
func (s *Service) open(ctx context.Context, bill billDoc, payer Payer, m Method, p Provider) (orderDoc, error) {
	now := s.now()
	d := orderDoc{
		ID: newOrderNo(now), BillNo: bill.ID, Source: bill.Source, UserID: payer.UserID, Method: string(m),
		Provider: p.Name(), AmountFen: s.amountDue(bill, now), State: OrderPaying,
		ExpiresAt: now.Add(s.cfg.OrderTTL), CheckedAt: now, Transitions: []transitionDoc{{To: OrderPaying, Cause: "created", At: now}},
		Version: 1, CreatedAt: now, UpdatedAt: now,
	}
	if _, err := s.orders.InsertOne(ctx, d); err != nil {
		return orderDoc{}, fmt.Errorf("store order: %w", err)
	}
	if _, err := s.bills.openOrder(ctx, bill, d.ID); err != nil {
		if _, cerr := s.casOrder(ctx, d, bson.M{"state": OrderClosed}, "bill_taken"); cerr != nil {
			s.log.WarnContext(ctx, "order never sent left paying; the sweeper closes it", "err", cerr, "order_no", d.ID)
		}
		return orderDoc{}, err
	}
	params, err := p.Prepay(ctx, PrepayRequest{
		OrderNo: d.ID, Method: m, AmountFen: d.AmountFen, Subject: subject(bill), PayerOpenID: payer.MiniOpenID,
		ExpiresAt: d.ExpiresAt, NotifyURL: s.notifyURL[p.Name()], Attach: bill.ID,
	})
	if err != nil {
		// The channel may have created it (a time-out after the write):
		// close it there and here, and free the bill.
		cause := "prepay_failed"
		if cerr := s.closeOrder(ctx, d, cause); cerr != nil {
			s.log.WarnContext(ctx, "order left paying after a failed prepay; the sweeper closes it", "err", cerr, "order_no", d.ID)
		} else if _, rerr := s.bills.releaseOrder(ctx, bill.ID, d.ID); rerr != nil {
			s.log.WarnContext(ctx, "bill left held after a failed prepay; the sweeper frees it", "err", rerr, "bill_no", bill.ID)
		}
		return orderDoc{}, channelError(err)
	}
	d, err = s.casOrder(ctx, d, bson.M{"pay_params": params}, "")
	if err != nil {
		return orderDoc{}, err
	}
	return d, nil
}

// subject is what the payer sees at the channel: the item, at most 120
// bytes on a rune boundary.
func subject(b billDoc) string {
	t := b.Item
	if t == "" {
		t = b.Kind
	}
	if t == "" {
		t = "缴费 " + b.ID
	}
	for len(t) > 120 {
		r := []rune(t)
		t = string(r[:len(r)-1])
	}
	return t
}

// readyChecker is a Provider that knows when its channel is known to be
// down (its circuit breaker is open): wechatpay.Provider.
type readyChecker interface {
	Ready() error
}

// channelReady is ErrPayChannelDown (with Until) while p's breaker is open.
func channelReady(p Provider) error {
	if rc, ok := p.(readyChecker); ok {
		if err := rc.Ready(); err != nil {
			return channelError(err)
		}
	}
	return nil
}

// channelError maps an adapter's error to what the client is told: a
// refusal of the channel's open breaker is ErrPayChannelDown (503
// upstream_unavailable, Retry-After until the breaker's probe).
func channelError(err error) error {
	var ce *ChannelError
	if oe, ok := platform.BreakerRejection(err); ok {
		return ErrPayChannelDown.WithUntil(oe.Until).Wrap(err)
	}
	switch {
	case errors.As(err, &ce):
		return ErrPayChannelRefused.Wrap(err)
	default:
		return ErrPayChannelUnavailable.Wrap(err)
	}
}

// closeOrder closes a paying order at its channel and here. If the channel
// says it was paid, the payment is applied (as a callback would) and
// ErrBillPaid is returned when it paid the bill... or the money is refunded.
func (s *Service) closeOrder(ctx context.Context, d orderDoc, cause string) error {
	p := s.providers[d.Provider]
	if p == nil {
		return fmt.Errorf("order %s: channel %s not configured", d.ID, d.Provider)
	}
	err := p.Close(ctx, d.ID)
	if errors.Is(err, ErrPaidAtChannel) {
		t, qerr := p.Query(ctx, d.ID)
		if qerr != nil {
			return ErrPayChannelUnavailable.Wrap(qerr)
		}
		if _, aerr := s.ApplyTrade(ctx, p.Name(), t, "close_found_paid"); aerr != nil {
			return aerr
		}
		return ErrBillPaid
	}
	if err != nil {
		return channelError(err)
	}
	for {
		if d.State != OrderPaying {
			return nil
		}
		_, err = s.casOrder(ctx, d, bson.M{"state": OrderClosed}, cause)
		if !errors.Is(err, errOrderChanged) {
			return err
		}
		if d, err = s.loadOrder(ctx, d.ID); err != nil {
			return err
		}
	}
}

// GetOrder returns the order to its owner (anyone else: ErrOrderNotFound).
// A paying order not checked for QueryAfter is asked of the channel first
// (the citizen came back from the payment page before the callback).
func (s *Service) GetOrder(ctx context.Context, userID, orderNo string) (OrderView, error) {
	d, err := s.loadOrder(ctx, orderNo)
	if err != nil {
		return OrderView{}, err
	}
	if subtle.ConstantTimeCompare([]byte(d.UserID), []byte(userID)) != 1 {
		return OrderView{}, ErrOrderNotFound
	}
	if d.State == OrderPaying && s.now().Sub(d.CheckedAt) >= s.cfg.QueryAfter {
		if nd, err := s.check(ctx, d, "query"); err != nil {
			s.log.WarnContext(ctx, "order query failed; answered from the store", "err", err, "order_no", d.ID)
		} else {
			d = nd
		}
	}
	return d.view(), nil
}

// check asks the channel about a paying order and applies the answer: paid
// → the payment; closed or never created and expired → closed. It returns
// the order as it then is.
func (s *Service) check(ctx context.Context, d orderDoc, cause string) (orderDoc, error) {
	p := s.providers[d.Provider]
	if p == nil {
		return d, fmt.Errorf("order %s: channel %s not configured", d.ID, d.Provider)
	}
	t, err := p.Query(ctx, d.ID)
	if err != nil {
		return d, err
	}
	switch t.State {
	case TradePaid, TradeRefunded:
		return s.ApplyTrade(ctx, p.Name(), t, cause)
	case TradeClosed:
		if nd, err := s.casOrder(ctx, d, bson.M{"state": OrderClosed}, "closed_at_channel"); err == nil {
			_, rerr := s.bills.releaseOrder(ctx, d.BillNo, d.ID)
			return nd, rerr
		}
		return s.loadOrder(ctx, d.ID)
	}
	nd, err := s.casOrder(ctx, d, bson.M{"checked_at": s.now()}, "")
	if errors.Is(err, errOrderChanged) {
		return s.loadOrder(ctx, d.ID)
	}
	return nd, err
}
