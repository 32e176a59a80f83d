package applications

import "time"

// Collection names.
const (
	collApplications = "applications"       // appDoc, _id "<source>|<application_no>"
	collEvents       = "application_events" // eventDoc, _id "<source>|<event_id>"
)

// applicantDoc is an applicant as stored: a person only by the blind index
// of the ID number and the masked name; an enterprise by USCC and name.
type applicantDoc struct {
	Type       string `bson:"type"`
	IDIndex    string `bson:"id_index,omitempty"`
	NameMasked string `bson:"name_masked,omitempty"`
	USCC       string `bson:"uscc,omitempty"`
	Name       string `bson:"name,omitempty"` // enterprise only
}

// entryDoc is one event as it joins an application's timeline.
type entryDoc struct {
	EventID          string       `bson:"event_id"`
	Status           string       `bson:"status"`
	OccurredAt       time.Time    `bson:"occurred_at"`
	ReceivedAt       time.Time    `bson:"received_at"`
	ServiceCode      string       `bson:"service_code"`
	Applicant        applicantDoc `bson:"applicant"`
	Note             string       `bson:"note,omitempty"`
	MaterialsMissing []Material   `bson:"materials_missing,omitempty"`
	Delivery         *Delivery    `bson:"delivery,omitempty"`
}

// eventDoc is an application_events document: the arbiter of an event's
// novelty, and the record of what remains to be done for it.
type eventDoc struct {
	ID            string    `bson:"_id"` // "<source>|<event_id>"
	Source        string    `bson:"source"`
	ApplicationID string    `bson:"application_id"` // "<source>|<application_no>"
	ApplicationNo string    `bson:"application_no"`
	Entry         entryDoc  `bson:"entry"`
	ReceivedAt    time.Time `bson:"received_at"`
	Applied       bool      `bson:"applied"`         // the entry is in the application's timeline
	Published     bool      `bson:"published"`       // its message is published (or it has no owner)
	Owner         string    `bson:"owner,omitempty"` // the user the message went to
}

// appDoc is an applications document. Its top-level service code and
// applicant are those of the last entry of the timeline; id_index and uscc
// are copied up for the indexes citizens' and enterprises' pages read by.
// Version grows with every change: updates are compare-and-swap on it.
type appDoc struct {
	ID            string       `bson:"_id"`
	Source        string       `bson:"source"`
	ApplicationNo string       `bson:"application_no"`
	ServiceCode   string       `bson:"service_code"`
	Applicant     applicantDoc `bson:"applicant"`
	IDIndex       string       `bson:"id_index,omitempty"`
	USCC          string       `bson:"uscc,omitempty"`
	Status        string       `bson:"status"`
	Current       int          `bson:"current"` // index of the status event in timeline
	Timeline      []entryDoc   `bson:"timeline"`
	Version       int64        `bson:"version"`
	CreatedAt     time.Time    `bson:"created_at"`
	UpdatedAt     time.Time    `bson:"updated_at"`
}

func applicationID(source, applicationNo string) string { return source + "|" + applicationNo }

func eventID(source, eventID string) string { return source + "|" + eventID }

// has reports whether the timeline already holds the event.
func (d *appDoc) has(eventID string) bool {
	for _, e := range d.Timeline {
		if e.EventID == eventID {
			return true
		}
	}
	return false
}

// with returns d with e in its timeline, the status and the fields derived
// from the timeline recomputed, and the version advanced.
func (d appDoc) with(e entryDoc, now time.Time) appDoc {
	d.Timeline = insertEntry(d.Timeline, e)
	d.Current = current(d.Timeline)
	d.Status = d.Timeline[d.Current].Status
	last := d.Timeline[len(d.Timeline)-1]
	d.ServiceCode, d.Applicant = last.ServiceCode, last.Applicant
	d.IDIndex, d.USCC = last.Applicant.IDIndex, last.Applicant.USCC
	d.Version++
	if d.CreatedAt.IsZero() {
		d.CreatedAt = now
	}
	d.UpdatedAt = now
	return d
}
