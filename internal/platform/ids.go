package platform

import "regexp"

// Identifier shapes that more than one package checks, declared once. The
// patterns are exported for documentation (openapi.yaml repeats
// ServiceCodePattern); check with the Valid functions.
const (
	// CatalogIDPattern: IDs of halls, departments, service items and
	// schedules (and the hall_ids of staff accounts): 1-48 lower-case ASCII
	// letters, digits and '-', not starting with '-'.
	CatalogIDPattern = `^[a-z0-9][a-z0-9-]{0,47}$`
	// StaffUsernamePattern: staff usernames: 3-32 lower-case ASCII letters,
	// digits, '.', '_' and '-', starting with a letter or digit.
	StaffUsernamePattern = `^[a-z0-9][a-z0-9._-]{2,31}$`
	// ServiceCodePattern: service item codes (事项编码) as citizens' pages
	// keep them: 1-64 ASCII letters, digits, '-' and '_', starting with a
	// letter or digit.
	ServiceCodePattern = `^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$`
)

var (
	catalogID     = regexp.MustCompile(CatalogIDPattern)
	staffUsername = regexp.MustCompile(StaffUsernamePattern)
	serviceCode   = regexp.MustCompile(ServiceCodePattern)
)

// ValidCatalogID reports whether id matches CatalogIDPattern.
func ValidCatalogID(id string) bool { return catalogID.MatchString(id) }

// ValidStaffUsername reports whether name matches StaffUsernamePattern.
func ValidStaffUsername(name string) bool { return staffUsername.MatchString(name) }

// ValidServiceCode reports whether code matches ServiceCodePattern.
func ValidServiceCode(code string) bool { return serviceCode.MatchString(code) }
