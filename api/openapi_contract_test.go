package api

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// openapi.yaml is what mini-program and app developers generate their typed
// clients from. These tests keep it usable for that: every operation has a
// stable, unique operationId and a security decision, every JSON body and
// 2xx answer has a real schema, and example timestamps carry the +08:00
// offset the API promises. (Which routes it documents is checked against the
// wired application in cmd/banshi's TestOpenAPICoversEveryRoute.)

// stableOperationIDs are the operationIds clients' generated code is named
// after: changing one breaks every client. A new operation is added here; an
// existing one is renamed only together with the clients.
var stableOperationIDs = map[string]string{
	"DELETE /api/v1/me":                              "deleteMe",
	"POST /api/v1/me/export":                         "exportMyData",
	"GET /api/v1/me/consents":                        "listMyConsents",
	"POST /api/v1/me/consents/{id}/withdraw":         "withdrawMyConsent",
	"POST /api/v1/bills/{bill_no}/orders":            "createOrder",
	"GET /api/v1/orders/{order_no}":                  "getOrder",
	"POST /api/v1/hooks/wechatpay":                   "wechatPayCallback",
	"POST /api/v1/hooks/alipay":                      "alipayCallback",
	"GET /api/v1/finance/orders/{order_no}":          "financeGetOrder",
	"POST /api/v1/finance/orders/{order_no}/refunds": "financeRefundOrder",
	"GET /healthz":                                   "getLiveness",
	"GET /readyz":                                    "getReadiness",
	"GET /metrics":                                   "getMetrics",
	"GET /api/openapi.yaml":                          "getOpenApiDocument",

	"POST /api/v1/auth/miniprogram/login":                            "loginMiniProgram",
	"POST /api/v1/auth/app/login":                                    "loginApp",
	"POST /api/v1/auth/logout":                                       "logout",
	"POST /api/v1/auth/logout-all":                                   "logoutAll",
	"GET /api/v1/me":                                                 "getMe",
	"GET /api/v1/staff/admin/outbox":                                 "adminListOutbox",
	"POST /api/v1/staff/admin/outbox/{id}/retry":                     "adminRetryDelivery",
	"GET /api/v1/me/messages":                                        "listMyMessages",
	"POST /api/v1/me/messages/read-all":                              "readAllMyMessages",
	"GET /api/v1/me/notification-preferences":                        "getNotificationPreferences",
	"PUT /api/v1/me/notification-preferences":                        "updateNotificationPreferences",
	"POST /api/v1/me/messages/{id}/read":                             "readMyMessage",
	"POST /api/v1/me/devices":                                        "registerDevice",
	"GET /api/v1/me/devices":                                         "listDevices",
	"DELETE /api/v1/me/devices/{token}":                              "deleteDevice",
	"POST /api/v1/enterprises/claim":                                 "claimEnterprise",
	"GET /api/v1/me/enterprises":                                     "listMyEnterprises",
	"POST /api/v1/enterprises/{uscc}/members":                        "inviteEnterpriseMember",
	"GET /api/v1/enterprises/{uscc}/members":                         "listEnterpriseMembers",
	"PATCH /api/v1/enterprises/{uscc}/members/{member_id}":           "changeEnterpriseMemberValidity",
	"DELETE /api/v1/enterprises/{uscc}/members/{member_id}":          "endEnterpriseMember",
	"GET /api/v1/enterprises/{uscc}/audit":                           "getEnterpriseAudit",
	"GET /api/v1/enterprises/{uscc}/page":                            "getEnterprisePage",
	"GET /api/v1/me/enterprise-invitations":                          "listMyEnterpriseInvitations",
	"POST /api/v1/me/enterprise-invitations/{id}/accept":             "acceptEnterpriseInvitation",
	"POST /api/v1/me/enterprise-invitations/{id}/decline":            "declineEnterpriseInvitation",
	"GET /api/v1/staff/admin/policies":                               "listPolicies",
	"POST /api/v1/staff/admin/policies":                              "createPolicy",
	"PUT /api/v1/staff/admin/policies/{id}":                          "updatePolicy",
	"DELETE /api/v1/staff/admin/policies/{id}":                       "deletePolicy",
	"GET /api/v1/hooks/wechat":                                       "checkWeChatPushURL",
	"POST /api/v1/hooks/wechat":                                      "receiveWeChatPush",
	"PUT /api/v1/me/favorites":                                       "replaceFavorites",
	"POST /api/v1/me/realname/declare":                               "declareRealname",
	"POST /api/v1/me/realname/check":                                 "checkRealname",
	"POST /api/v1/me/realname/face/start":                            "startFaceVerification",
	"POST /api/v1/me/realname/face/finish":                           "finishFaceVerification",
	"GET /api/v1/halls":                                              "listHalls",
	"GET /api/v1/halls/{hall_id}/departments":                        "listDepartments",
	"GET /api/v1/halls/{hall_id}/services":                           "listServices",
	"GET /api/v1/services/{service_id}":                              "getService",
	"GET /api/v1/halls/{hall_id}/availability":                       "getAvailability",
	"POST /api/v1/appointments":                                      "bookAppointment",
	"GET /api/v1/me/appointments":                                    "listMyAppointments",
	"GET /api/v1/appointments/{id}":                                  "getAppointment",
	"POST /api/v1/appointments/{id}/cancel":                          "cancelAppointment",
	"POST /api/v1/staff/login":                                       "staffLogin",
	"POST /api/v1/staff/logout":                                      "staffLogout",
	"POST /api/v1/staff/checkin":                                     "staffCheckIn",
	"GET /api/v1/staff/halls/{hall_id}/appointments":                 "staffListAppointments",
	"POST /api/v1/staff/appointments/{id}/no-show":                   "staffMarkNoShow",
	"GET /api/v1/staff/halls/{hall_id}/queue":                        "staffQueueBoard",
	"POST /api/v1/staff/halls/{hall_id}/queue/call-next":             "staffQueueCallNext",
	"POST /api/v1/staff/halls/{hall_id}/queue/{id}/recall":           "staffQueueRecall",
	"POST /api/v1/staff/halls/{hall_id}/queue/{id}/skip":             "staffQueueSkip",
	"POST /api/v1/staff/halls/{hall_id}/queue/{id}/transfer":         "staffQueueTransfer",
	"POST /api/v1/staff/appointments/{id}/complete":                  "staffCompleteAppointment",
	"GET /api/v1/staff/audit":                                        "staffListAudit",
	"POST /api/v1/staff/admin/halls":                                 "adminCreateHall",
	"PUT /api/v1/staff/admin/halls/{id}":                             "adminUpdateHall",
	"POST /api/v1/staff/admin/departments":                           "adminCreateDepartment",
	"PUT /api/v1/staff/admin/departments/{id}":                       "adminUpdateDepartment",
	"POST /api/v1/staff/admin/services":                              "adminCreateService",
	"PUT /api/v1/staff/admin/services/{id}":                          "adminUpdateService",
	"GET /api/v1/staff/admin/halls/{hall_id}/schedules":              "adminListSchedules",
	"POST /api/v1/staff/admin/schedules":                             "adminCreateSchedule",
	"PUT /api/v1/staff/admin/schedules/{id}":                         "adminUpdateSchedule",
	"DELETE /api/v1/staff/admin/schedules/{id}":                      "adminDeleteSchedule",
	"GET /api/v1/staff/admin/calendar":                               "adminListCalendar",
	"PUT /api/v1/staff/admin/calendar":                               "adminPutCalendarDay",
	"DELETE /api/v1/staff/admin/calendar":                            "adminDeleteCalendarDay",
	"POST /api/v1/staff/admin/import":                                "adminImportCatalog",
	"POST /api/v1/staff/admin/integrations":                          "adminCreateIntegration",
	"GET /api/v1/staff/admin/integrations":                           "adminListIntegrations",
	"POST /api/v1/staff/admin/integrations/{id}/rotate":              "adminRotateIntegrationSecret",
	"POST /api/v1/staff/admin/integrations/{id}/disable":             "adminDisableIntegration",
	"POST /api/v1/staff/admin/integrations/{id}/enable":              "adminEnableIntegration",
	"POST /api/v1/hooks/applications":                                "receiveApplicationEvent",
	"GET /api/v1/me/applications":                                    "listMyApplications",
	"GET /api/v1/me/applications/{application_no}":                   "getMyApplication",
	"POST /api/v1/staff/appointments/{id}/cancel":                    "staffCancelAppointment",
	"GET /api/v1/notify/templates":                                   "listNotifyTemplates",
	"POST /api/v1/me/subscriptions":                                  "recordSubscriptions",
	"POST /api/v1/finance/reconciliations":                           "runReconciliation",
	"GET /api/v1/finance/reconciliations/{date}":                     "getReconciliation",
	"POST /api/v1/finance/reconciliations/{date}/items/{id}/resolve": "resolveReconciliationItem",
	"POST /api/v1/hooks/bills":                                       "receiveBillEvent",
	"GET /api/v1/me/bills":                                           "listMyBills",
	"GET /api/v1/bills/{bill_no}":                                    "lookupBill",
	// 好差评 (api/evaluations.go).
	"POST /api/v1/evaluations":                            "createEvaluation",
	"GET /api/v1/me/evaluations":                          "listMyEvaluations",
	"GET /api/v1/staff/evaluation-tickets":                "staffListEvaluationTickets",
	"GET /api/v1/staff/evaluation-tickets/{id}":           "staffGetEvaluationTicket",
	"POST /api/v1/staff/evaluation-tickets/{id}/verify":   "staffVerifyEvaluationTicket",
	"POST /api/v1/staff/evaluation-tickets/{id}/rectify":  "staffRectifyEvaluationTicket",
	"POST /api/v1/staff/evaluation-tickets/{id}/reply":    "staffReplyEvaluationTicket",
	"POST /api/v1/staff/evaluation-tickets/{id}/callback": "staffCallbackEvaluationTicket",
	"POST /api/v1/staff/evaluation-tickets/{id}/appeal":   "staffAppealEvaluationTicket",
	"POST /api/v1/staff/evaluation-tickets/{id}/review":   "adminReviewEvaluationAppeal",
	"GET /api/v1/staff/admin/evaluations/stats":           "adminEvaluationStats",
	"GET /api/v1/staff/admin/evaluations/export":          "adminExportEvaluations",
	// 电子证照 (api/licences.go).
	"POST /api/v1/hooks/licences":                                 "receiveLicenceEvent",
	"POST /api/v1/hooks/licences/copies":                          "fetchLicenceCopy",
	"GET /api/v1/licences/signing-key":                            "getLicenceSigningKey",
	"GET /api/v1/me/licences":                                     "listMyLicences",
	"GET /api/v1/me/licences/{id}":                                "getMyLicence",
	"POST /api/v1/me/licences/{id}/show":                          "showLicence",
	"GET /api/v1/me/licences/{id}/uses":                           "listLicenceUses",
	"POST /api/v1/me/licences/{id}/authorizations":                "createLicenceAuthorization",
	"GET /api/v1/me/licences/{id}/authorizations":                 "listLicenceAuthorizations",
	"POST /api/v1/me/licences/{id}/authorizations/{aid}/withdraw": "withdrawLicenceAuthorization",
	"POST /api/v1/staff/licences/verify":                          "verifyLicenceToken",
	"PUT /api/v1/staff/admin/integrations/{id}/sm2-key":           "adminSetIntegrationSM2Key",
}

type obj = map[string]any

// contractDoc is the parsed document with helpers to follow local $refs.
type contractDoc struct {
	t    *testing.T
	root obj
}

func loadContract(t *testing.T) *contractDoc {
	t.Helper()
	var root obj
	if err := yaml.Unmarshal(openapiYAML, &root); err != nil {
		t.Fatalf("openapi.yaml does not parse: %v", err)
	}
	return &contractDoc{t: t, root: root}
}

// deref follows $ref chains; ok is false (and the test fails) for a $ref
// that points at nothing.
func (d *contractDoc) deref(v any, where string) (obj, bool) {
	m, _ := v.(obj)
	for i := 0; m != nil && i < 20; i++ {
		ref, isRef := m["$ref"].(string)
		if !isRef {
			return m, true
		}
		var cur any = d.root
		for _, part := range strings.Split(strings.TrimPrefix(ref, "#/"), "/") {
			cm, _ := cur.(obj)
			cur = cm[part]
		}
		next, _ := cur.(obj)
		if next == nil {
			d.t.Errorf("%s: $ref %q points at nothing", where, ref)
			return nil, false
		}
		m = next
	}
	return m, m != nil
}

type operation struct {
	key  string // "GET /path"
	path string
	op   obj
}

var httpMethods = []string{"get", "put", "post", "delete", "patch", "head", "options", "trace"}

func (d *contractDoc) operations() []operation {
	paths, _ := d.root["paths"].(obj)
	var out []operation
	for path, item := range paths {
		pi, _ := item.(obj)
		for _, m := range httpMethods {
			if op, ok := pi[m].(obj); ok {
				out = append(out, operation{key: strings.ToUpper(m) + " " + path, path: path, op: op})
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].key < out[j].key })
	if len(out) < 10 {
		d.t.Fatalf("openapi.yaml has only %d operations", len(out))
	}
	return out
}

var camelCase = regexp.MustCompile(`^[a-z][a-zA-Z0-9]*$`)

func TestOpenAPIOperationIDs(t *testing.T) {
	d := loadContract(t)
	seen := map[string]string{}
	documented := map[string]bool{}
	for _, o := range d.operations() {
		documented[o.key] = true
		id, _ := o.op["operationId"].(string)
		switch {
		case id == "":
			t.Errorf("%s: no operationId", o.key)
			continue
		case !camelCase.MatchString(id):
			t.Errorf("%s: operationId %q is not camelCase", o.key, id)
		}
		if prev, dup := seen[id]; dup {
			t.Errorf("operationId %q used twice: %s and %s", id, prev, o.key)
		}
		seen[id] = o.key
		want, known := stableOperationIDs[o.key]
		switch {
		case !known:
			t.Errorf("%s: new operation %q: add it to stableOperationIDs (clients will depend on the name)", o.key, id)
		case want != id:
			t.Errorf("%s: operationId is %q, was %q: renaming it breaks generated clients", o.key, id, want)
		}
	}
	for key := range stableOperationIDs {
		if !documented[key] {
			t.Errorf("stableOperationIDs names %s, which openapi.yaml does not document", key)
		}
	}
}

// TestOpenAPISecurity: every operation decides its security, on itself or at
// the top level, with schemes that exist; public operations say
// `security: []`. Staff routes (under /api/v1/staff/, login aside) take the
// staff scheme, every other authenticated route the citizen one.
func TestOpenAPISecurity(t *testing.T) {
	d := loadContract(t)
	comps, _ := d.root["components"].(obj)
	schemes, _ := comps["securitySchemes"].(obj)
	topLevel, hasTop := d.root["security"]
	for _, o := range d.operations() {
		sec, own := o.op["security"]
		if !own && !hasTop {
			t.Errorf("%s: no security decision: say security: [] for a public operation, or name its scheme", o.key)
			continue
		}
		if !own {
			sec = topLevel
		}
		reqs, ok := sec.([]any)
		if !ok {
			t.Errorf("%s: security is not a list", o.key)
			continue
		}
		var names []string
		for _, r := range reqs {
			rm, _ := r.(obj)
			if len(rm) == 0 {
				t.Errorf("%s: an empty security requirement {} makes authentication optional; use security: [] for a public operation", o.key)
			}
			for name := range rm {
				if _, ok := schemes[name]; !ok {
					t.Errorf("%s: security scheme %q is not defined", o.key, name)
				}
				names = append(names, name)
			}
		}
		if len(names) == 0 {
			continue // public
		}
		staffRoute := strings.HasPrefix(o.path, "/api/v1/staff/") || strings.HasPrefix(o.path, "/api/v1/finance/")
		for _, n := range names {
			if staffRoute != (n == "staffBearer") {
				t.Errorf("%s: security scheme %q: staff routes take staffBearer, citizen routes bearer", o.key, n)
			}
		}
	}
}

// TestOpenAPISchemas: every JSON request body and every 2xx JSON answer has a
// schema, and no schema in it is shapeless: an object names its properties
// (or is a map whose additionalProperties is a schema), an array names its
// items, and every schema has a type, a $ref or a composition.
func TestOpenAPISchemas(t *testing.T) {
	d := loadContract(t)
	for _, o := range d.operations() {
		if rb, ok := o.op["requestBody"]; ok {
			body, ok := d.deref(rb, o.key+" requestBody")
			if ok {
				d.checkContent(o.key+" requestBody", body, true)
			}
		}
		responses, _ := o.op["responses"].(obj)
		if len(responses) == 0 {
			t.Errorf("%s: no responses", o.key)
		}
		has2xx := false
		for status, r := range responses {
			if !strings.HasPrefix(status, "2") {
				continue
			}
			has2xx = true
			where := fmt.Sprintf("%s answer %s", o.key, status)
			resp, ok := d.deref(r, where)
			if !ok {
				continue
			}
			if status == "204" {
				if _, has := resp["content"]; has {
					t.Errorf("%s: a 204 carries no content", where)
				}
				continue
			}
			d.checkContent(where, resp, false)
		}
		if !has2xx {
			t.Errorf("%s: no 2xx answer", o.key)
		}
	}
}

func isJSONMedia(mt string) bool {
	mt = strings.TrimSpace(strings.SplitN(mt, ";", 2)[0])
	return mt == "application/json" || strings.HasSuffix(mt, "+json")
}

// checkContent checks a request body or response object: it must say what it
// carries, and each JSON media type must have a shaped schema.
func (d *contractDoc) checkContent(where string, holder obj, request bool) {
	content, _ := holder["content"].(obj)
	if len(content) == 0 {
		d.t.Errorf("%s: no content: say what it carries", where)
		return
	}
	if request {
		if req, _ := holder["required"].(bool); !req {
			d.t.Errorf("%s: request body not marked required: true", where)
		}
	}
	for mt, m := range content {
		mo, _ := m.(obj)
		if mo["schema"] == nil {
			d.t.Errorf("%s %s: no schema", where, mt)
			continue
		}
		if isJSONMedia(mt) {
			d.checkShape(where+" "+mt, mo["schema"], map[string]bool{}, false)
		}
	}
}

// checkShape walks a schema. emptyOK allows the empty schema {} (the items
// of an array that is always empty, maxItems: 0).
func (d *contractDoc) checkShape(where string, v any, seen map[string]bool, emptyOK bool) {
	m, _ := v.(obj)
	if m == nil {
		d.t.Errorf("%s: not a schema", where)
		return
	}
	if ref, ok := m["$ref"].(string); ok {
		if seen[ref] {
			return
		}
		seen[ref] = true
		target, ok := d.deref(m, where)
		if ok {
			d.checkShape(where+" → "+ref, target, seen, emptyOK)
		}
		return
	}
	composed := false
	for _, k := range []string{"allOf", "oneOf", "anyOf"} {
		if list, ok := m[k].([]any); ok {
			composed = true
			for i, sub := range list {
				d.checkShape(fmt.Sprintf("%s %s[%d]", where, k, i), sub, seen, false)
			}
		}
	}
	typ, _ := m["type"].(string)
	_, hasProps := m["properties"]
	if typ == "" && !composed && !hasProps {
		if len(m) == 0 && emptyOK {
			return
		}
		d.t.Errorf("%s: schema without a type, $ref or composition", where)
		return
	}
	switch {
	case typ == "object" || (typ == "" && hasProps):
		props, _ := m["properties"].(obj)
		addl, addlIsSchema := m["additionalProperties"].(obj)
		if len(props) == 0 && (!addlIsSchema || len(addl) == 0) && !composed {
			d.t.Errorf("%s: bare object: list its properties (or, for a real map, give additionalProperties a schema)", where)
		}
		if req, ok := m["required"].([]any); ok {
			for _, r := range req {
				if name, _ := r.(string); props[name] == nil {
					d.t.Errorf("%s: required property %q is not among the properties", where, name)
				}
			}
		}
		names := make([]string, 0, len(props))
		for name := range props {
			names = append(names, name)
		}
		sort.Strings(names)
		for _, name := range names {
			d.checkShape(where+"."+name, props[name], seen, false)
		}
		if addlIsSchema && len(addl) > 0 {
			d.checkShape(where+".*", addl, seen, false)
		}
	case typ == "array":
		items, ok := m["items"]
		if !ok {
			d.t.Errorf("%s: array without items", where)
			return
		}
		alwaysEmpty := false
		switch n := m["maxItems"].(type) {
		case int:
			alwaysEmpty = n == 0
		}
		d.checkShape(where+"[]", items, seen, alwaysEmpty)
	}
}

var timestampLike = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}`)

// TestOpenAPIExampleTimestamps: the API's timestamps are RFC 3339 in
// Asia/Shanghai, so every timestamp in an example, examples or default must
// end in +08:00: never Z, which teaches clients the wrong form.
func TestOpenAPIExampleTimestamps(t *testing.T) {
	var root yaml.Node
	if err := yaml.Unmarshal(openapiYAML, &root); err != nil {
		t.Fatalf("openapi.yaml does not parse: %v", err)
	}
	checked := 0
	var walk func(n *yaml.Node, inExample bool)
	walk = func(n *yaml.Node, inExample bool) {
		switch n.Kind {
		case yaml.ScalarNode:
			if !inExample || !timestampLike.MatchString(n.Value) {
				return
			}
			checked++
			if !strings.HasSuffix(n.Value, "+08:00") {
				t.Errorf("openapi.yaml line %d: example timestamp %q: write it with the +08:00 offset (Asia/Shanghai), never Z", n.Line, n.Value)
			}
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				key := n.Content[i].Value
				walk(n.Content[i+1], inExample || key == "example" || key == "examples" || key == "default")
			}
		default:
			for _, c := range n.Content {
				walk(c, inExample)
			}
		}
	}
	walk(&root, false)
	if checked == 0 {
		t.Fatal("no example timestamps found: give the date-time fields examples")
	}
}
