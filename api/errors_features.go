package api

// mapFeatureErrors maps the errors of features beyond login and real-name
// (appointments, payments, ...). It returns false for errors it does not know.
func mapFeatureErrors(err error) (*Error, bool) {
	return nil, false
}
