package appointments

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"banshi/internal/platform"
)

// CatalogImport is the JSON bulk-load document:
// {"halls":[...],"departments":[...],"services":[...],"schedules":[...],"calendar":[...]},
// each item shaped as the single-item admin API takes it.
type CatalogImport struct {
	Halls       []Hall        `json:"halls"`
	Departments []Department  `json:"departments"`
	Services    []ServiceItem `json:"services"`
	Schedules   []Schedule    `json:"schedules"`
	Calendar    []CalendarDay `json:"calendar"`
}

// ImportResult counts the items written per kind.
type ImportResult struct {
	Halls       int `json:"halls"`
	Departments int `json:"departments"`
	Services    int `json:"services"`
	Schedules   int `json:"schedules"`
	Calendar    int `json:"calendar"`
}

const maxImportItems = 10000

// ParseImport decodes an import document strictly (unknown fields and
// trailing data are errors). Errors: ErrInvalid (naming the field
// "body").
func ParseImport(r io.Reader) (CatalogImport, error) {
	var in CatalogImport
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		return CatalogImport{}, platform.Invalid("body", "format", "不是有效的目录导入文件").Wrap(err)
	}
	if dec.More() {
		return CatalogImport{}, invalid("body", "format", "导入文件之后还有多余内容")
	}
	return in, nil
}

// validate normalises every item and checks references against the catalog
// and the import itself. Field names carry the item's path.
func (in *CatalogImport) validate(cat *catalog) error {
	n := len(in.Halls) + len(in.Departments) + len(in.Services) + len(in.Schedules) + len(in.Calendar)
	if n == 0 {
		return invalid("body", "required", "导入文件中没有任何条目")
	}
	if n > maxImportItems {
		return invalid("body", "range", fmt.Sprintf("每次最多导入 %d 条", maxImportItems))
	}
	at := func(kind string, i int, err error) error {
		if pe, ok := platform.AsError(err); ok && pe.Code == platform.CodeInvalid {
			return platform.Invalid(fmt.Sprintf("%s[%d].%s", kind, i, pe.Field), pe.Check, pe.Message)
		}
		return err
	}
	r := newRefs(cat)
	seen := map[string]bool{}
	dup := func(kind string, i int, id string) error {
		if seen[kind+"/"+id] {
			return platform.Invalid(fmt.Sprintf("%s[%d].id", kind, i), "duplicate", "该编号在导入文件中出现了两次")
		}
		seen[kind+"/"+id] = true
		return nil
	}
	for i := range in.Halls {
		if err := in.Halls[i].normalize(); err != nil {
			return at("halls", i, err)
		}
		if err := dup("halls", i, in.Halls[i].ID); err != nil {
			return err
		}
		r.halls[in.Halls[i].ID] = true
	}
	for i := range in.Departments {
		d := &in.Departments[i]
		if err := d.normalize(); err != nil {
			return at("departments", i, err)
		}
		if err := dup("departments", i, d.ID); err != nil {
			return err
		}
		if err := r.checkDepartment(d); err != nil {
			return at("departments", i, err)
		}
		r.depts[d.ID] = d.HallID
	}
	for i := range in.Services {
		v := &in.Services[i]
		if err := v.normalize(); err != nil {
			return at("services", i, err)
		}
		if err := dup("services", i, v.ID); err != nil {
			return err
		}
		if err := r.checkService(v); err != nil {
			return at("services", i, err)
		}
		r.services[v.ID] = v.HallID + "|" + v.DepartmentID
	}
	for i := range in.Schedules {
		sc := &in.Schedules[i]
		if err := sc.normalize(); err != nil {
			return at("schedules", i, err)
		}
		if err := dup("schedules", i, sc.ID); err != nil {
			return err
		}
		if err := r.checkSchedule(sc); err != nil {
			return at("schedules", i, err)
		}
	}
	for i := range in.Calendar {
		c := &in.Calendar[i]
		if err := c.normalize(); err != nil {
			return at("calendar", i, err)
		}
		if err := dup("calendar", i, c.ID); err != nil {
			return err
		}
		if err := r.checkCalendar(c); err != nil {
			return at("calendar", i, err)
		}
	}
	return nil
}

// Import validates the whole document first (an invalid item rejects the
// import and nothing is written), then checks every schedule whose capacity
// it lowers against the seats held, as UpdateSchedule does (a lowering over
// booked seats rejects the import and nothing is written), then creates or
// replaces every item by ID, schedules through their gate (capacity.go).
// Without transactions a storage failure midway leaves the items before it
// written, and so does a booking that takes a seat above a lowered capacity
// between the check and that schedule's write (the schedule is then
// refused); running the same import again completes it (idempotent).
//
// Errors: ErrInvalid (naming the item path, e.g. "services[3].type"),
// ErrCapacityInUse.
func (s *Service) Import(ctx context.Context, in CatalogImport) (ImportResult, error) {
	return s.load(ctx, in, true)
}

// load writes a validated import: replacing (import) or only adding what is
// missing (seed).
func (s *Service) load(ctx context.Context, in CatalogImport, replace bool) (ImportResult, error) {
	cat, err := s.cat.get(ctx)
	if err != nil {
		return ImportResult{}, err
	}
	if err := in.validate(cat); err != nil {
		return ImportResult{}, err
	}
	if replace {
		if err := s.checkImportCapacities(ctx, in.Schedules); err != nil {
			return ImportResult{}, err
		}
	}
	now := ms(s.clock.Now())
	var res ImportResult
	defer s.cat.changed(ctx) // also after a partial write
	put := func(coll *mongo.Collection, id string, doc any) error {
		if replace {
			return s.replaceDoc(ctx, coll, id, doc, true)
		}
		_, err := coll.InsertOne(ctx, doc)
		if err != nil && !platform.IsDuplicateKey(err) {
			return fmt.Errorf("seed %s: %w", coll.Name(), err)
		}
		return nil
	}
	for i := range in.Halls {
		in.Halls[i].UpdatedAt = now
		if err := put(s.halls, in.Halls[i].ID, in.Halls[i]); err != nil {
			return res, err
		}
		res.Halls++
	}
	for i := range in.Departments {
		in.Departments[i].UpdatedAt = now
		if err := put(s.depts, in.Departments[i].ID, in.Departments[i]); err != nil {
			return res, err
		}
		res.Departments++
	}
	for i := range in.Services {
		in.Services[i].UpdatedAt = now
		if err := put(s.services, in.Services[i].ID, in.Services[i]); err != nil {
			return res, err
		}
		res.Services++
	}
	for i := range in.Schedules {
		sc := &in.Schedules[i]
		sc.UpdatedAt = now
		sc.Rev = newScheduleRev()
		var err error
		if replace {
			err = s.importSchedule(ctx, sc)
		} else {
			err = put(s.schedules, sc.ID, *sc)
		}
		if err != nil {
			return res, err
		}
		res.Schedules++
	}
	for i := range in.Calendar {
		in.Calendar[i].UpdatedAt = now
		if err := put(s.calendar, in.Calendar[i].ID, in.Calendar[i]); err != nil {
			return res, err
		}
		res.Calendar++
	}
	return res, nil
}

// checkImportCapacities refuses, before anything is written, an import that
// lowers a stored schedule's capacity below a seat held on it, or creates a
// schedule whose capacity is below a seat still held under its ID (by
// bookings of a deleted schedule).
func (s *Service) checkImportCapacities(ctx context.Context, scheds []Schedule) error {
	if len(scheds) == 0 {
		return nil
	}
	ids := make([]string, len(scheds))
	for i := range scheds {
		ids[i] = scheds[i].ID
	}
	stored, err := loadWhere[Schedule](ctx, s.schedules, bson.M{"_id": bson.M{"$in": ids}})
	if err != nil {
		return err
	}
	capacity := map[string]int{}
	for _, sc := range stored {
		capacity[sc.ID] = sc.Capacity
	}
	from := map[string]int{}
	for _, sc := range scheds {
		if old, ok := capacity[sc.ID]; !ok || sc.Capacity < old {
			from[sc.ID] = sc.Capacity
		}
	}
	if len(from) == 0 {
		return nil
	}
	held, err := s.heldSeatsOf(ctx, from)
	if err != nil {
		return err
	}
	for _, sc := range scheds {
		if n := held[sc.ID]; n > 0 {
			return capacityInUse(sc.ID, n, sc.Capacity)
		}
	}
	return nil
}

// importSchedule writes sc, through its gate when it is stored already.
func (s *Service) importSchedule(ctx context.Context, sc *Schedule) error {
	err := s.replaceSchedule(ctx, sc)
	if !errors.Is(err, ErrNotFound) {
		return err
	}
	err = s.createSchedule(ctx, sc)
	if errors.Is(err, ErrAlreadyExists) { // created meanwhile
		return s.replaceSchedule(ctx, sc)
	}
	return err
}
