package console

import (
	"context"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strings"

	"github.com/labstack/echo/v4"

	"banshi/appointments"
	"banshi/internal/platform"
)

// Catalog is what administrators do with halls, departments, service items
// (with their guides) and schedules: the same service methods the staff
// API's admin routes call, so the same rules and messages apply.
type Catalog interface {
	ListHalls(ctx context.Context) ([]appointments.Hall, error)
	GetHall(ctx context.Context, hallID string) (appointments.Hall, error)
	ListDepartments(ctx context.Context, hallID string) ([]appointments.Department, error)
	ListServices(ctx context.Context, hallID, departmentID, q string) ([]appointments.ServiceItem, error)
	GetService(ctx context.Context, serviceID string) (appointments.ServiceItem, error)
	ListSchedules(ctx context.Context, hallID string) ([]appointments.Schedule, error)

	CreateHall(ctx context.Context, h appointments.Hall) (appointments.Hall, error)
	UpdateHall(ctx context.Context, h appointments.Hall) (appointments.Hall, error)
	CreateDepartment(ctx context.Context, d appointments.Department) (appointments.Department, error)
	UpdateDepartment(ctx context.Context, d appointments.Department) (appointments.Department, error)
	CreateService(ctx context.Context, v appointments.ServiceItem) (appointments.ServiceItem, error)
	UpdateService(ctx context.Context, v appointments.ServiceItem) (appointments.ServiceItem, error)
	CreateSchedule(ctx context.Context, sc appointments.Schedule) (appointments.Schedule, error)
	UpdateSchedule(ctx context.Context, sc appointments.Schedule) (appointments.Schedule, error)
	DeleteSchedule(ctx context.Context, id string) error
}

var _ Catalog = (*appointments.Service)(nil)

// Audit actions of catalog changes, as the API names them.
const (
	actionHallCreate       = "catalog.hall.create"
	actionHallUpdate       = "catalog.hall.update"
	actionDepartmentCreate = "catalog.department.create"
	actionDepartmentUpdate = "catalog.department.update"
	actionServiceCreate    = "catalog.service.create"
	actionServiceUpdate    = "catalog.service.update"
	actionScheduleCreate   = "catalog.schedule.create"
	actionScheduleUpdate   = "catalog.schedule.update"
	actionScheduleDelete   = "catalog.schedule.delete"
)

// catalogBase is where the catalog pages live.
const catalogBase = "/console/admin/catalog"

// catalogRoutes adds the catalog pages (when the catalog is wired); every
// handler lets administrators only.
func (c *Console) catalogRoutes(g *echo.Group) {
	if c.catalog == nil {
		return
	}
	g.GET("/admin/catalog", c.catalogHalls, c.requireSession)
	g.GET("/admin/catalog/halls/new", c.hallForm, c.requireSession)
	g.POST("/admin/catalog/halls", c.saveHall, c.requirePost)
	g.GET("/admin/catalog/halls/:hall_id", c.catalogHall, c.requireSession)
	g.GET("/admin/catalog/halls/:hall_id/edit", c.hallForm, c.requireSession)
	g.POST("/admin/catalog/halls/:hall_id", c.saveHall, c.requirePost)
	g.GET("/admin/catalog/halls/:hall_id/departments/new", c.departmentForm, c.requireSession)
	g.POST("/admin/catalog/halls/:hall_id/departments", c.saveDepartment, c.requirePost)
	g.GET("/admin/catalog/halls/:hall_id/departments/:id/edit", c.departmentForm, c.requireSession)
	g.POST("/admin/catalog/halls/:hall_id/departments/:id", c.saveDepartment, c.requirePost)
	g.GET("/admin/catalog/halls/:hall_id/services/new", c.serviceForm, c.requireSession)
	g.POST("/admin/catalog/halls/:hall_id/services", c.saveService, c.requirePost)
	g.GET("/admin/catalog/halls/:hall_id/services/:id/edit", c.serviceForm, c.requireSession)
	g.POST("/admin/catalog/halls/:hall_id/services/:id", c.saveService, c.requirePost)
	g.GET("/admin/catalog/halls/:hall_id/schedules/new", c.scheduleForm, c.requireSession)
	g.POST("/admin/catalog/halls/:hall_id/schedules", c.saveSchedule, c.requirePost)
	g.GET("/admin/catalog/halls/:hall_id/schedules/:id/edit", c.scheduleForm, c.requireSession)
	g.POST("/admin/catalog/halls/:hall_id/schedules/:id", c.saveSchedule, c.requirePost)
	g.POST("/admin/catalog/halls/:hall_id/schedules/:id/delete", c.deleteSchedule, c.requirePost)
}

// hallURL is the page of one hall, with a notice.
func hallURL(hallID, notice string) string {
	u := catalogBase + "/halls/" + url.PathEscape(hallID)
	if notice != "" {
		u += "?notice=" + url.QueryEscape(notice)
	}
	return u
}

// hallRow is a hall in the list with the size of its catalog.
type hallRow struct {
	Hall        appointments.Hall
	Departments int
	Services    int
}

type catalogHallsData struct {
	Halls  []hallRow
	Notice string
}

// catalogHalls lists the halls with how many departments and services each
// has.
func (c *Console) catalogHalls(ec echo.Context) error {
	a, ok, err := c.requireAdmin(ec)
	if !ok {
		return err
	}
	ctx := ec.Request().Context()
	halls, err := c.catalog.ListHalls(ctx)
	if err != nil {
		return c.errorPage(ec, statusOf(err), c.messageOf(ec, err))
	}
	d := catalogHallsData{Notice: ec.QueryParam("notice")}
	for _, h := range halls {
		depts, err := c.catalog.ListDepartments(ctx, h.ID)
		if err != nil {
			return c.errorPage(ec, statusOf(err), c.messageOf(ec, err))
		}
		svcs, err := c.catalog.ListServices(ctx, h.ID, "", "")
		if err != nil {
			return c.errorPage(ec, statusOf(err), c.messageOf(ec, err))
		}
		d.Halls = append(d.Halls, hallRow{Hall: h, Departments: len(depts), Services: len(svcs)})
	}
	return c.render(ec, http.StatusOK, "admin_catalog", view{Title: "大厅与事项", Account: &a, CSRF: c.csrfFor(tokenOf(ec)), Data: d})
}

type catalogHallData struct {
	Hall        appointments.Hall
	Departments []appointments.Department
	Services    []appointments.ServiceItem
	Schedules   []appointments.Schedule
	DeptNames   map[string]string
	SvcNames    map[string]string
	Notice      string
	Error       string
}

// hallCatalog reads a hall with its departments, services and schedules.
func (c *Console) hallCatalog(ctx context.Context, hallID string) (catalogHallData, error) {
	var d catalogHallData
	var err error
	if d.Hall, err = c.catalog.GetHall(ctx, hallID); err != nil {
		return d, err
	}
	if d.Departments, err = c.catalog.ListDepartments(ctx, hallID); err != nil {
		return d, err
	}
	if d.Services, err = c.catalog.ListServices(ctx, hallID, "", ""); err != nil {
		return d, err
	}
	if d.Schedules, err = c.catalog.ListSchedules(ctx, hallID); err != nil {
		return d, err
	}
	d.DeptNames, d.SvcNames = map[string]string{}, map[string]string{}
	for _, x := range d.Departments {
		d.DeptNames[x.ID] = x.Name
	}
	for _, x := range d.Services {
		d.SvcNames[x.ID] = x.Name
	}
	return d, nil
}

// catalogHall shows one hall: its departments, services and schedules.
func (c *Console) catalogHall(ec echo.Context) error {
	if _, ok, err := c.requireAdmin(ec); !ok {
		return err
	}
	return c.showHall(ec, http.StatusOK, ec.QueryParam("notice"), "")
}

func (c *Console) showHall(ec echo.Context, status int, notice, errMsg string) error {
	a := accountOf(ec)
	d, err := c.hallCatalog(ec.Request().Context(), ec.Param("hall_id"))
	if err != nil {
		return c.errorPage(ec, statusOf(err), c.messageOf(ec, err))
	}
	d.Notice, d.Error = notice, errMsg
	return c.render(ec, status, "admin_catalog_hall", view{Title: d.Hall.Name, Account: &a, CSRF: c.csrfFor(tokenOf(ec)), Data: d})
}

// showForm renders a catalog form with the hall's departments and services
// (for the selects).
func (c *Console) showForm(ec echo.Context, status int, f *catalogForm) error {
	a := accountOf(ec)
	ctx := ec.Request().Context()
	if f.HallID != "" {
		var err error
		if f.Departments, err = c.catalog.ListDepartments(ctx, f.HallID); err != nil {
			return c.errorPage(ec, statusOf(err), c.messageOf(ec, err))
		}
		if f.Services, err = c.catalog.ListServices(ctx, f.HallID, "", ""); err != nil {
			return c.errorPage(ec, statusOf(err), c.messageOf(ec, err))
		}
	}
	title := map[string]string{"hall": "大厅", "department": "部门", "service": "事项", "schedule": "排班"}[f.Kind]
	if f.Create {
		title = "新建" + title
	} else {
		title = "编辑" + title + " " + f.ID
	}
	return c.render(ec, status, "admin_catalog_form", view{Title: title, Account: &a, CSRF: c.csrfFor(tokenOf(ec)), Data: f})
}

// formFor is the form of kind for this request: create when the path has
// no item ID.
func formFor(ec echo.Context, kind, itemParam string, vals url.Values) *catalogForm {
	f := newForm(kind, vals)
	f.HallID = ec.Param("hall_id")
	f.ID = ec.Param(itemParam)
	f.Create = f.ID == ""
	switch {
	case kind == "hall" && f.Create:
		f.Action = catalogBase + "/halls"
	case kind == "hall":
		f.Action, f.HallID = hallURL(f.ID, ""), ""
	case f.Create:
		f.Action = hallURL(f.HallID, "") + "/" + kind + "s"
	default:
		f.Action = hallURL(f.HallID, "") + "/" + kind + "s/" + url.PathEscape(f.ID)
	}
	return f
}

// saved finishes a successful change: the cached availability is dropped
// and the browser goes to the hall's page with a notice.
func (c *Console) saved(ec echo.Context, hallID, notice string) error {
	if c.catalogChanged != nil {
		c.catalogChanged()
	}
	return ec.Redirect(http.StatusSeeOther, hallURL(hallID, notice))
}

// refused shows the form again with err next to its field and the typed
// values kept.
func (c *Console) refused(ec echo.Context, f *catalogForm, err error) error {
	f.setError(err, c.messageOf(ec, err))
	return c.showForm(ec, statusOf(err), f)
}

func (c *Console) hallForm(ec echo.Context) error {
	if _, ok, err := c.requireAdmin(ec); !ok {
		return err
	}
	f := formFor(ec, "hall", "hall_id", url.Values{})
	if f.Create {
		f.V = hallToForm(appointments.Hall{OpeningHours: []appointments.OpeningHours{
			{Weekday: 1, Open: "09:00", Close: "17:00"}, {Weekday: 2, Open: "09:00", Close: "17:00"},
			{Weekday: 3, Open: "09:00", Close: "17:00"}, {Weekday: 4, Open: "09:00", Close: "17:00"},
			{Weekday: 5, Open: "09:00", Close: "17:00"}}})
		for _, k := range []string{"rules.window_days", "rules.cancel_before_minutes", "rules.no_show_after_minutes", "rules.min_realname_level"} {
			f.V[k] = "" // the service's defaults
		}
		return c.showForm(ec, http.StatusOK, f)
	}
	h, err := c.catalog.GetHall(ec.Request().Context(), f.ID)
	if err != nil {
		return c.errorPage(ec, statusOf(err), c.messageOf(ec, err))
	}
	f.V = hallToForm(h)
	return c.showForm(ec, http.StatusOK, f)
}

func (c *Console) saveHall(ec echo.Context) error {
	if _, ok, err := c.requireAdmin(ec); !ok {
		return err
	}
	vals, _ := ec.FormParams()
	f := formFor(ec, "hall", "hall_id", vals)
	action, id := actionHallUpdate, f.ID
	if f.Create {
		action, id = actionHallCreate, strings.TrimSpace(vals.Get("id"))
	}
	h, err := hallFromForm(vals, id)
	if err == nil {
		if f.Create {
			h, err = c.catalog.CreateHall(ec.Request().Context(), h)
		} else {
			h, err = c.catalog.UpdateHall(ec.Request().Context(), h)
		}
	}
	_ = c.audit(ec, action, id, id, err)
	if err != nil {
		return c.refused(ec, f, err)
	}
	return c.saved(ec, h.ID, "已保存大厅 "+h.Name)
}

func (c *Console) departmentForm(ec echo.Context) error {
	if _, ok, err := c.requireAdmin(ec); !ok {
		return err
	}
	f := formFor(ec, "department", "id", url.Values{})
	if f.Create {
		return c.showForm(ec, http.StatusOK, f)
	}
	depts, err := c.catalog.ListDepartments(ec.Request().Context(), f.HallID)
	if err != nil {
		return c.errorPage(ec, statusOf(err), c.messageOf(ec, err))
	}
	for _, d := range depts {
		if d.ID == f.ID {
			f.V = departmentToForm(d)
			return c.showForm(ec, http.StatusOK, f)
		}
	}
	return c.errorPage(ec, http.StatusNotFound, appointments.ErrNotFound.Message)
}

func (c *Console) saveDepartment(ec echo.Context) error {
	if _, ok, err := c.requireAdmin(ec); !ok {
		return err
	}
	vals, _ := ec.FormParams()
	f := formFor(ec, "department", "id", vals)
	action, id := actionDepartmentUpdate, f.ID
	if f.Create {
		action, id = actionDepartmentCreate, strings.TrimSpace(vals.Get("id"))
	}
	d := departmentFromForm(vals, f.HallID, id)
	var err error
	if f.Create {
		d, err = c.catalog.CreateDepartment(ec.Request().Context(), d)
	} else {
		d, err = c.catalog.UpdateDepartment(ec.Request().Context(), d)
	}
	_ = c.audit(ec, action, id, f.HallID, err)
	if err != nil {
		return c.refused(ec, f, err)
	}
	return c.saved(ec, f.HallID, "已保存部门 "+d.Name)
}

func (c *Console) serviceForm(ec echo.Context) error {
	if _, ok, err := c.requireAdmin(ec); !ok {
		return err
	}
	f := formFor(ec, "service", "id", url.Values{})
	if f.Create {
		f.V["guide.booking_required"] = "on"
		f.V["department_id"] = ec.QueryParam("department_id")
		return c.showForm(ec, http.StatusOK, f)
	}
	v, err := c.catalog.GetService(ec.Request().Context(), f.ID)
	if err == nil && v.HallID != f.HallID {
		err = appointments.ErrNotFound
	}
	if err != nil {
		return c.errorPage(ec, statusOf(err), c.messageOf(ec, err))
	}
	f.V = serviceToForm(v)
	return c.showForm(ec, http.StatusOK, f)
}

func (c *Console) saveService(ec echo.Context) error {
	if _, ok, err := c.requireAdmin(ec); !ok {
		return err
	}
	vals, _ := ec.FormParams()
	f := formFor(ec, "service", "id", vals)
	action, id := actionServiceUpdate, f.ID
	if f.Create {
		action, id = actionServiceCreate, strings.TrimSpace(vals.Get("id"))
	}
	v, err := serviceFromForm(vals, f.HallID, id)
	if err == nil {
		if f.Create {
			v, err = c.catalog.CreateService(ec.Request().Context(), v)
		} else {
			v, err = c.catalog.UpdateService(ec.Request().Context(), v)
		}
	}
	_ = c.audit(ec, action, id, f.HallID, err)
	if err != nil {
		return c.refused(ec, f, err)
	}
	return c.saved(ec, f.HallID, "已保存事项 "+v.Name)
}

func (c *Console) scheduleForm(ec echo.Context) error {
	if _, ok, err := c.requireAdmin(ec); !ok {
		return err
	}
	f := formFor(ec, "schedule", "id", url.Values{})
	if f.Create {
		f.V["slot_minutes"], f.V["capacity"] = "30", "5"
		for d := 1; d <= 5; d++ {
			f.Checked["weekdays:"+string(rune('0'+d))] = true
		}
		return c.showForm(ec, http.StatusOK, f)
	}
	list, err := c.catalog.ListSchedules(ec.Request().Context(), f.HallID)
	if err != nil {
		return c.errorPage(ec, statusOf(err), c.messageOf(ec, err))
	}
	for _, sc := range list {
		if sc.ID == f.ID {
			f.V, f.Checked = scheduleToForm(sc)
			return c.showForm(ec, http.StatusOK, f)
		}
	}
	return c.errorPage(ec, http.StatusNotFound, appointments.ErrNotFound.Message)
}

func (c *Console) saveSchedule(ec echo.Context) error {
	if _, ok, err := c.requireAdmin(ec); !ok {
		return err
	}
	vals, _ := ec.FormParams()
	f := formFor(ec, "schedule", "id", vals)
	action, id := actionScheduleUpdate, f.ID
	if f.Create {
		action, id = actionScheduleCreate, strings.TrimSpace(vals.Get("id"))
	}
	sc, err := scheduleFromForm(vals, f.HallID, id)
	if err == nil {
		if f.Create {
			sc, err = c.catalog.CreateSchedule(ec.Request().Context(), sc)
		} else {
			sc, err = c.catalog.UpdateSchedule(ec.Request().Context(), sc)
		}
	}
	_ = c.audit(ec, action, id, f.HallID, err)
	if err != nil {
		return c.refused(ec, f, err)
	}
	return c.saved(ec, f.HallID, "已保存排班 "+sc.ID)
}

// deleteSchedule removes a schedule of the hall: its slots disappear,
// bookings already made stay.
func (c *Console) deleteSchedule(ec echo.Context) error {
	if _, ok, err := c.requireAdmin(ec); !ok {
		return err
	}
	hallID, id := ec.Param("hall_id"), ec.Param("id")
	ctx := ec.Request().Context()
	list, err := c.catalog.ListSchedules(ctx, hallID)
	if err == nil {
		err = appointments.ErrNotFound
		for _, sc := range list {
			if sc.ID == id {
				err = c.catalog.DeleteSchedule(ctx, id)
				break
			}
		}
	}
	_ = c.audit(ec, actionScheduleDelete, id, hallID, err)
	if err != nil {
		if platform.CodeOf(err) == appointments.ErrNotFound.Code {
			return c.showHall(ec, http.StatusNotFound, "", "排班 "+id+" 不存在或已删除")
		}
		return c.errorPage(ec, statusOf(err), c.messageOf(ec, err))
	}
	return c.saved(ec, hallID, "已删除排班 "+id)
}

// fieldArgs is what the "field" template renders: a labelled control with
// its hint and its error.
type fieldArgs struct {
	ID, Name, Label, Type, Value, Hint, Error string
	Describe                                  string // aria-describedby
}

// fieldOf builds the arguments of the "field" template for name of f.
func fieldOf(f *catalogForm, name, label, typ string, hint ...string) fieldArgs {
	a := fieldArgs{ID: "f-" + strings.NewReplacer(".", "-", "_", "-").Replace(name), Name: name, Label: label, Type: typ,
		Value: f.V[name], Error: f.Errors[name]}
	var desc []string
	if len(hint) > 0 {
		a.Hint = hint[0]
		desc = append(desc, a.ID+"-hint")
	}
	if a.Error != "" {
		desc = append(desc, a.ID+"-error")
	}
	a.Describe = strings.Join(desc, " ")
	return a
}

// adminFuncs are the template functions of the administrators' pages.
func adminFuncs() template.FuncMap {
	return template.FuncMap{
		"field": fieldOf,
		"checked": func(f *catalogForm, group string, v any) bool {
			switch x := v.(type) {
			case int:
				return f.Checked[group+":"+string(rune('0'+x))]
			case string:
				return f.Checked[group+":"+x]
			}
			return false
		},
		"ints": func(n ...int) []int { return n },
		"weekdayNames": func(ds []int) string {
			if len(ds) == 0 {
				return "大厅办公日"
			}
			var out []string
			for _, w := range weekdays {
				for _, d := range ds {
					if d == w.N {
						out = append(out, w.Name)
					}
				}
			}
			return strings.Join(out, "、")
		},
	}
}

// parseAdminPages parses the catalog and staff-account pages, each with the
// layout, the fragments and the administrators' form fields.
func (c *Console) parseAdminPages(funcs template.FuncMap) error {
	all := template.FuncMap{}
	for k, v := range funcs {
		all[k] = v
	}
	for k, v := range adminFuncs() {
		all[k] = v
	}
	for _, name := range []string{"admin_catalog", "admin_catalog_hall", "admin_catalog_form", "admin_staff"} {
		t, err := template.New(name).Funcs(all).ParseFS(templateFS, "templates/layout.html", "templates/fragments.html",
			"templates/admin_catalog_fields.html", "templates/"+name+".html")
		if err != nil {
			return fmt.Errorf("console: parse %s: %w", name, err)
		}
		c.pages[name] = t
	}
	return nil
}
