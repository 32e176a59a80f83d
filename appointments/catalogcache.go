package appointments

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"banshi/internal/platform"
)

// catalog is an immutable snapshot of halls, departments, services,
// schedules and calendar days. Requests read it from memory; it is reloaded
// when this process changes the catalog, within a second after another
// process announced a change (a version document in MongoDB, rewritten after
// every catalog write), and in any case once it is catalogMaxAge old, which
// bounds the staleness even when an announcement was lost.
type catalog struct {
	version     string // the announced version when loaded
	gen         int64  // the local change generation when loaded
	loadedAt    int64  // unix nanos (wall clock) of the load
	halls       map[string]*Hall
	hallOrder   []string
	depts       map[string]*Department
	deptsByHall map[string][]*Department
	services    map[string]*ServiceItem
	svcCodes    map[string]bool // service item codes (事项编码) offered somewhere
	svcByHall   map[string][]*ServiceItem
	schedules   map[string]*Schedule
	schedByDept map[string][]*Schedule // key hall|department
	days        map[string]*CalendarDay
}

const (
	// catalogCheckEvery is how often a process reads the announced version.
	catalogCheckEvery = time.Second
	// catalogMaxAge is how old a snapshot may get, announced change or not.
	catalogMaxAge = 30 * time.Second
	// catalogVersionID is the _id of the version document in appt_meta.
	catalogVersionID = "catalog_version"
)

type catalogCache struct {
	s         *Service
	mu        sync.Mutex // serialises reloads
	cur       atomic.Pointer[catalog]
	gen       atomic.Int64 // bumped by every local change
	checkedAt atomic.Int64 // monotonic-ish: unix nanos of the last version check
}

func newCatalogCache(s *Service) *catalogCache { return &catalogCache{s: s} }

// get returns the current snapshot, reloading it when this process changed
// the catalog or when another process announced a change.
func (c *catalogCache) get(ctx context.Context) (*catalog, error) {
	cur := c.cur.Load()
	if cur == nil || cur.gen != c.gen.Load() {
		return c.reload(ctx, cur)
	}
	if time.Now().UnixNano()-c.checkedAt.Load() > int64(catalogCheckEvery) && c.mu.TryLock() {
		defer c.mu.Unlock()
		if time.Now().UnixNano()-c.checkedAt.Load() <= int64(catalogCheckEvery) {
			return c.cur.Load(), nil
		}
		c.checkedAt.Store(time.Now().UnixNano())
		ver, err := c.remoteVersion(ctx)
		if err != nil || ver != cur.version || time.Now().UnixNano()-cur.loadedAt > int64(catalogMaxAge) {
			next, lerr := c.load(ctx, ver)
			if lerr == nil {
				next.gen = cur.gen
			}
			if lerr != nil {
				c.s.log.Warn("catalog reload failed; serving the previous snapshot", "err", lerr)
				return cur, nil
			}
			c.cur.Store(next)
			return next, nil
		}
	}
	return cur, nil
}

// reload loads the catalog now. On a storage error it serves the previous
// snapshot, if any, and tries again on the next request.
func (c *catalogCache) reload(ctx context.Context, seen *catalog) (*catalog, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	gen := c.gen.Load()
	if cur := c.cur.Load(); cur != nil && cur.gen == gen {
		return cur, nil // someone else reloaded while we waited
	}
	ver, _ := c.remoteVersion(ctx) // unreadable: load anyway, check again next time
	next, err := c.load(ctx, ver)
	if err == nil {
		next.gen = gen
	}
	if err != nil {
		if seen != nil {
			c.s.log.Warn("catalog reload failed; serving the previous snapshot", "err", err)
			return seen, nil
		}
		return nil, err
	}
	c.checkedAt.Store(time.Now().UnixNano())
	c.cur.Store(next)
	return next, nil
}

// remoteVersion reads the announced catalog version ("" before the first
// announcement).
func (c *catalogCache) remoteVersion(ctx context.Context) (string, error) {
	var d struct {
		V string `bson:"v"`
	}
	err := c.s.meta.FindOne(ctx, bson.M{"_id": catalogVersionID}).Decode(&d)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("read catalog version: %w", err)
	}
	return d.V, nil
}

// changed is called after every catalog write: reload here at once and tell
// the other processes by writing a new version in MongoDB (the store the
// change itself went to, so an announcement cannot be lost to Redis). A
// failed write is retried; if it still fails the others see the change
// within catalogMaxAge.
func (c *catalogCache) changed(ctx context.Context) {
	c.gen.Add(1)
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), decideTimeout)
	defer cancel()
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	set := bson.M{"$set": bson.M{"v": hex.EncodeToString(b), "at": ms(c.s.clock.Now())}}
	var err error
	for attempt := range 4 {
		if attempt > 0 {
			select {
			case <-ctx.Done():
			case <-time.After(time.Duration(attempt) * 100 * time.Millisecond):
			}
		}
		// Concurrent first announcements may meet a duplicate key: retried.
		if _, err = c.s.meta.UpdateOne(ctx, bson.M{"_id": catalogVersionID}, set, options.UpdateOne().SetUpsert(true)); err == nil {
			return
		}
	}
	c.s.log.Error("catalog change not announced; other processes see it within catalogMaxAge", "err", err, "max_age", catalogMaxAge)
}

func loadAll[T any](ctx context.Context, coll *mongo.Collection) ([]T, error) {
	return loadWhere[T](ctx, coll, bson.M{})
}

func loadWhere[T any](ctx context.Context, coll *mongo.Collection, filter bson.M) ([]T, error) {
	cur, err := coll.Find(ctx, filter)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", coll.Name(), err)
	}
	var out []T
	if err := cur.All(ctx, &out); err != nil {
		return nil, fmt.Errorf("load %s: %w", coll.Name(), err)
	}
	return out, nil
}

func (c *catalogCache) load(ctx context.Context, version string) (*catalog, error) {
	s := c.s
	started := time.Now().UnixNano() // the snapshot is as old as its first read
	halls, err := loadAll[Hall](ctx, s.halls)
	if err != nil {
		return nil, err
	}
	depts, err := loadAll[Department](ctx, s.depts)
	if err != nil {
		return nil, err
	}
	svcs, err := loadAll[ServiceItem](ctx, s.services)
	if err != nil {
		return nil, err
	}
	scheds, err := loadAll[Schedule](ctx, s.schedules)
	if err != nil {
		return nil, err
	}
	days, err := loadAll[CalendarDay](ctx, s.calendar)
	if err != nil {
		return nil, err
	}
	cat := &catalog{
		version: version, loadedAt: started,
		halls: map[string]*Hall{}, depts: map[string]*Department{}, deptsByHall: map[string][]*Department{},
		services: map[string]*ServiceItem{}, svcCodes: map[string]bool{}, svcByHall: map[string][]*ServiceItem{},
		schedules: map[string]*Schedule{}, schedByDept: map[string][]*Schedule{}, days: map[string]*CalendarDay{},
	}
	for i := range halls {
		h := &halls[i]
		h.UpdatedAt = platform.Local(h.UpdatedAt)
		cat.halls[h.ID] = h
		cat.hallOrder = append(cat.hallOrder, h.ID)
	}
	slices.Sort(cat.hallOrder)
	for i := range depts {
		d := &depts[i]
		d.UpdatedAt = platform.Local(d.UpdatedAt)
		cat.depts[d.ID] = d
		cat.deptsByHall[d.HallID] = append(cat.deptsByHall[d.HallID], d)
	}
	for _, l := range cat.deptsByHall {
		slices.SortFunc(l, func(a, b *Department) int { return cmpStr(a.ID, b.ID) })
	}
	for i := range svcs {
		v := &svcs[i]
		v.UpdatedAt = platform.Local(v.UpdatedAt)
		cat.services[v.ID] = v
		cat.svcCodes[v.Code] = true
		cat.svcByHall[v.HallID] = append(cat.svcByHall[v.HallID], v)
	}
	for _, l := range cat.svcByHall {
		slices.SortFunc(l, func(a, b *ServiceItem) int { return cmpStr(a.ID, b.ID) })
	}
	for i := range scheds {
		sc := &scheds[i]
		sc.UpdatedAt = platform.Local(sc.UpdatedAt)
		cat.schedules[sc.ID] = sc
		k := sc.HallID + "|" + sc.DepartmentID
		cat.schedByDept[k] = append(cat.schedByDept[k], sc)
	}
	for _, l := range cat.schedByDept {
		slices.SortFunc(l, func(a, b *Schedule) int { return cmpStr(a.ID, b.ID) })
	}
	for i := range days {
		d := &days[i]
		d.UpdatedAt = platform.Local(d.UpdatedAt)
		cat.days[d.ID] = d
	}
	return cat, nil
}

func cmpStr(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
