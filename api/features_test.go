package api

// testFeatures returns the feature route groups main registers, built with
// nil services: enough to list their routes.
func testFeatures() []Feature { return []Feature{AppointmentRoutes{}, StaffRoutes{}} }
