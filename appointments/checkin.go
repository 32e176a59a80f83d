package appointments

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"banshi/internal/platform"
)

// Check-in codes. Every appointment has a short code (8 characters without
// look-alikes, unique through appt_codes) for reading aloud or typing, and a
// QR payload "BSA1.<appointment>.<hall>.<YYYYMMDD>.<signature>", where the
// signature is an HMAC-SHA256 (Deps.CheckinKey) over the rest: it is valid
// only at that hall on that day, and cannot be forged for another.
const codeAlphabet = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"

const qrPrefix = "BSA1."

func newCheckinCode() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = codeAlphabet[int(b[i])%len(codeAlphabet)]
	}
	return string(b)
}

func (s *Service) qrSign(body string) string { return qrSignature(s.ckey, body) }

// qrSignature is the signature of body under key.
func qrSignature(key []byte, body string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(body))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:18])
}

// qrSigned tells whether sig signs body under the current key or, during a
// rotation's overlap, the previous one.
func (s *Service) qrSigned(body, sig string) bool {
	if hmac.Equal([]byte(sig), []byte(qrSignature(s.ckey, body))) {
		return true
	}
	return len(s.ckeyPrev) > 0 && hmac.Equal([]byte(sig), []byte(qrSignature(s.ckeyPrev, body)))
}

func (s *Service) qrPayload(d *apptDoc) string {
	if d.CheckinCode == "" {
		return ""
	}
	body := qrPrefix + d.ID + "." + d.HallID + "." + strings.ReplaceAll(d.Date, "-", "")
	return body + "." + s.qrSign(body)
}

// resolveCode finds the appointment a short code or QR payload names.
func (s *Service) resolveCode(ctx context.Context, code string) (*apptDoc, error) {
	code = strings.TrimSpace(code)
	if strings.HasPrefix(code, qrPrefix) {
		parts := strings.Split(code, ".")
		if len(parts) != 5 {
			return nil, invalid("code", "format", "不是有效的签到二维码")
		}
		body := strings.Join(parts[:4], ".")
		if !s.qrSigned(body, parts[4]) {
			return nil, invalid("code", "signature", "签到二维码校验失败")
		}
		d, err := s.findAppt(ctx, parts[1])
		if err != nil {
			return nil, err
		}
		if d.HallID != parts[2] || strings.ReplaceAll(d.Date, "-", "") != parts[3] {
			return nil, invalid("code", "signature", "签到二维码与预约不符")
		}
		return d, nil
	}
	c := strings.ToUpper(strings.NewReplacer(" ", "", "-", "").Replace(code))
	if len(c) != 8 || strings.Trim(c, codeAlphabet) != "" {
		return nil, invalid("code", "format", "请输入 8 位签到码或扫描签到二维码")
	}
	var a arbiterDoc
	err := s.codes.FindOne(ctx, bson.M{"_id": c}).Decode(&a)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("read check-in code: %w", err)
	}
	d, err := s.findAppt(ctx, a.AppointmentID)
	if err != nil {
		return nil, err
	}
	if d.CheckinCode != c {
		return nil, ErrNotFound
	}
	return d, nil
}

// CheckIn marks the appointment named by code (short code or QR payload) as
// checked in and gives it the next queue number of its department that day
// ("A012"). Allowed for admins and for hall staff of the appointment's hall,
// on the appointment's day (Asia/Shanghai).
//
// Errors: ErrInvalid (field "code": malformed code, bad QR
// signature), ErrNotFound (no such code or appointment), ErrForbidden (a
// finance account), ErrWrongHall (staff of another hall), ErrCheckinNotToday,
// ErrAlreadyCheckedIn (checked in or completed before), ErrNotActive
// (cancelled or no-show).
func (s *Service) CheckIn(ctx context.Context, actor StaffActor, code string) (StaffAppointment, error) {
	if actor.Role != RoleAdmin && actor.Role != RoleHallStaff {
		return StaffAppointment{}, ErrForbidden
	}
	d, err := s.resolveCode(ctx, code)
	if err != nil {
		return StaffAppointment{}, err
	}
	if d.Status == statusFailed {
		return StaffAppointment{}, ErrNotFound
	}
	if !actor.mayWork(d.HallID) {
		return StaffAppointment{}, ErrWrongHall
	}
	now := s.clock.Now()
	if d.Date != dateOf(now) {
		return StaffAppointment{}, ErrCheckinNotToday
	}
	if err := statusForCheckin(d.Status); err != nil {
		return StaffAppointment{}, err
	}
	cat, err := s.cat.get(ctx)
	if err != nil {
		return StaffAppointment{}, err
	}
	q, err := s.nextQueueNumber(ctx, cat, d)
	if err != nil {
		return StaffAppointment{}, err
	}
	t := ms(now)
	var out apptDoc
	err = s.appts.FindOneAndUpdate(ctx, bson.M{"_id": d.ID, "status": StatusBooked},
		bson.M{"$set": bson.M{"status": StatusCheckedIn, "queue_number": q, "checked_in_at": t, "checked_in_by": actor.ID}},
		options.FindOneAndUpdate().SetReturnDocument(options.After)).Decode(&out)
	if errors.Is(err, mongo.ErrNoDocuments) {
		cur, ferr := s.findAppt(ctx, d.ID)
		if ferr != nil {
			return StaffAppointment{}, ferr
		}
		if err := statusForCheckin(cur.Status); err != nil {
			return StaffAppointment{}, err
		}
		return StaffAppointment{}, ErrAlreadyCheckedIn
	}
	if err != nil {
		return StaffAppointment{}, fmt.Errorf("check in: %w", err)
	}
	s.metrics.checkedIn(out.HallID)
	s.releasePersonal(ctx, &out)
	s.queueChanged(ctx, out.HallID) // one more waits: the displays' count
	return s.staffView(ctx, cat, &out, nil), nil
}

func statusForCheckin(status string) error {
	switch status {
	case StatusBooked:
		return nil
	case StatusCheckedIn, StatusCompleted:
		return ErrAlreadyCheckedIn
	default:
		return ErrNotActive
	}
}

// nextQueueNumber takes the next number of d's department on d's day. A
// number taken by a check-in that then loses a race is skipped (a gap).
func (s *Service) nextQueueNumber(ctx context.Context, cat *catalog, d *apptDoc) (string, error) {
	prefix := "A"
	if dp := cat.depts[d.DepartmentID]; dp != nil && dp.QueuePrefix != "" {
		prefix = dp.QueuePrefix
	}
	id := d.HallID + "|" + d.DepartmentID + "|" + d.Date
	var c struct {
		Seq int `bson:"seq"`
	}
	var err error
	for range 3 {
		err = s.queue.FindOneAndUpdate(ctx, bson.M{"_id": id}, bson.M{"$inc": bson.M{"seq": 1}},
			options.FindOneAndUpdate().SetUpsert(true).SetReturnDocument(options.After)).Decode(&c)
		if err == nil || !platform.IsDuplicateKey(err) { // concurrent upserts of a new day: retry
			break
		}
	}
	if err != nil {
		return "", fmt.Errorf("queue number: %w", err)
	}
	return fmt.Sprintf("%s%03d", prefix, c.Seq), nil
}
