package platform

import "slices"

// Staff roles: what a staff account may do. The staff package stores them on
// accounts; features authorise staff actors by them. Declared here once;
// packages that name them for their callers alias these constants.
const (
	RoleAdmin     = "admin"      // everything, at every hall
	RoleHallStaff = "hall_staff" // appointments of their halls
	RoleFinance   = "finance"    // payments and reconciliation
)

// StaffRoles returns every staff role.
func StaffRoles() []string { return []string{RoleAdmin, RoleHallStaff, RoleFinance} }

// IsStaffRole reports whether role is one of StaffRoles.
func IsStaffRole(role string) bool { return slices.Contains(StaffRoles(), role) }
