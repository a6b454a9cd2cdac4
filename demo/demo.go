// Package demo is the hub's demonstration dataset: three regions in three time zones (Paris,
// New York, Shanghai), each with 20 technicians, two fibre splicers, two stores with counters,
// a phone-agent pool and the region's public holidays of every year from 2026 to 2050. It is deterministic and
// pure: the same values on every call, whatever the clock says, and no I/O.
package demo

import (
	"fmt"
	"slices"
	"time"

	"github.com/apphub/apphub"
)

// Category ids of the demo.
const (
	Installation = "installation" // fibre installation at home: 2 hours, arrival windows
	Repair       = "repair"       // repair at home: 1 hour, every 30 minutes
	StoreVisit   = "storeVisit"   // visit to a store counter: 30 minutes, every 15 minutes
	Callback     = "callback"     // a phone agent calls back: 15 minutes
	// BuildingFibre is a crew job: two fiber technicians and a splicer, 3 hours, on the hour.
	BuildingFibre = "buildingFibre"
)

// Data returns the demo calendar's content.
func Data() apphub.CalendarData {
	d := apphub.CalendarData{Categories: categories(), TravelTimes: &apphub.TravelTimes{}}
	for _, r := range regions() {
		d.HolidayCalendars = append(d.HolidayCalendars, r.holidays)
		zones := r.zones()
		d.Zones = append(d.Zones, zones...)
		zoneOf := func(postCode string) string {
			for _, z := range zones {
				for _, pc := range z.PostCodes {
					if pc == postCode {
						return z.ID
					}
				}
			}
			panic("demo: store postcode " + postCode + " is in no zone")
		}
		var zoneIDs []string
		for _, z := range zones {
			zoneIDs = append(zoneIDs, z.ID)
		}
		addTravel(d.TravelTimes, zoneIDs)

		for i, name := range r.technicians {
			d.Resources = append(d.Resources, apphub.Resource{
				ID:              fmt.Sprintf("tech-%s-%03d", r.key, i+1),
				Kind:            apphub.KindTechnician,
				Name:            name,
				TimeZone:        r.timeZone,
				Zones:           []string{zoneIDs[i%4], zoneIDs[(i+1)%4]},
				Skills:          technicianSkills(i),
				Shifts:          technicianShifts(i),
				Exceptions:      exceptions(fmt.Sprintf("tech-%s-%03d", r.key, i+1)),
				HolidayCalendar: r.holidays.ID,
				BufferBefore:    15 * time.Minute, // travel
				BufferAfter:     15 * time.Minute,
			})
		}
		for _, s := range r.stores {
			d.Places = append(d.Places, apphub.Place{
				ID: s.id, Name: s.name, TimeZone: r.timeZone, Zone: zoneOf(s.postCode),
				PostCode: s.postCode, Street: s.street, City: r.city, Country: r.country,
			})
			for n, capacity := range []int{3, 2} {
				d.Resources = append(d.Resources, apphub.Resource{
					ID:              fmt.Sprintf("counter-%s-%d", s.id[len("store-"):], n+1),
					Kind:            apphub.KindCounter,
					Name:            fmt.Sprintf("%s, counter %d", s.name, n+1),
					TimeZone:        r.timeZone,
					PlaceID:         s.id,
					Capacity:        capacity,
					Shifts:          slices.Clone(r.storeHours),
					HolidayCalendar: r.holidays.ID,
				})
			}
		}
		// Two splicing machines per region, each kept in two of its zones; they travel with
		// the crew, so the travel times apply to them too.
		for n := range 2 {
			d.Resources = append(d.Resources, apphub.Resource{
				ID:              fmt.Sprintf("splicer-%s-%d", r.key, n+1),
				Kind:            apphub.KindEquipment,
				Name:            fmt.Sprintf("%s splicer %d", r.city, n+1),
				TimeZone:        r.timeZone,
				Zones:           zoneIDs[2*n : 2*n+2],
				Skills:          []string{"splicer"},
				Shifts:          weekly(mondayToSaturday, "07:00", "20:00"),
				HolidayCalendar: r.holidays.ID,
			})
		}
		d.Resources = append(d.Resources, apphub.Resource{
			ID:              "pool-" + r.key,
			Kind:            apphub.KindAgentPool,
			Name:            r.city + " customer care",
			TimeZone:        r.timeZone,
			Zones:           zoneIDs,
			Capacity:        10,
			Shifts:          append(weekly(mondayToFriday, "08:00", "20:00"), weekly([]time.Weekday{time.Saturday}, "09:00", "17:00")...),
			HolidayCalendar: r.holidays.ID,
		})
	}
	return d
}

// Calendar returns the demo calendar as a validated snapshot.
func Calendar() (*apphub.Calendar, error) {
	return apphub.NewCalendar(Data())
}

func categories() []apphub.Category {
	return []apphub.Category{
		{
			ID: Installation, Name: "Fibre installation", Duration: 2 * time.Hour,
			RequiredSkills: []string{"fiber"}, ResourceKinds: []string{apphub.KindTechnician},
			Windows:   []apphub.Window{{Start: "08:00", End: "12:00"}, {Start: "13:00", End: "17:00"}},
			MinNotice: 24 * time.Hour, Horizon: 60 * 24 * time.Hour,
		},
		{
			ID: Repair, Name: "Repair at home", Duration: time.Hour, Step: 30 * time.Minute,
			ResourceKinds: []string{apphub.KindTechnician},
			MinNotice:     2 * time.Hour, Horizon: 30 * 24 * time.Hour,
		},
		{
			ID: StoreVisit, Name: "Store visit", Duration: 30 * time.Minute, Step: 15 * time.Minute,
			ResourceKinds: []string{apphub.KindCounter}, AtPlace: true,
			MinNotice: time.Hour, Horizon: 30 * 24 * time.Hour,
		},
		{
			ID: BuildingFibre, Name: "Building fibre installation", Duration: 3 * time.Hour, Step: time.Hour,
			Requirements: []apphub.Requirement{
				{Kind: apphub.KindTechnician, Skills: []string{"fiber"}, Count: 2},
				{Kind: apphub.KindEquipment, Skills: []string{"splicer"}, Count: 1},
			},
			MinNotice: 48 * time.Hour, Horizon: 60 * 24 * time.Hour,
		},
		{
			ID: Callback, Name: "Callback", Duration: 15 * time.Minute, Step: 15 * time.Minute,
			ResourceKinds: []string{apphub.KindAgentPool},
			MinNotice:     15 * time.Minute, Horizon: 14 * 24 * time.Hour,
		},
	}
}

type region struct {
	key, city, country, timeZone string
	holidays                     apphub.HolidayCalendar
	postCodes                    []string // split into four zones, in order
	technicians                  []string // names
	stores                       []store
	storeHours                   []apphub.Shift
}

type store struct {
	id, name, postCode, street string
}

func regions() []region {
	return []region{
		{
			key: "paris", city: "Paris", country: "FR", timeZone: "Europe/Paris",
			holidays:  franceHolidays(),
			postCodes: postCodes(75001, 75020, "%05d"),
			technicians: []string{
				"Camille Martin", "Lucas Bernard", "Léa Dubois", "Hugo Thomas", "Chloé Robert",
				"Louis Richard", "Manon Petit", "Jules Durand", "Inès Leroy", "Gabriel Moreau",
				"Emma Simon", "Arthur Laurent", "Zoé Lefebvre", "Raphaël Michel", "Sarah Garcia",
				"Nathan David", "Jade Bertrand", "Tom Roux", "Alice Vincent", "Adam Fournier",
			},
			stores: []store{
				{"store-paris-bastille", "Boutique Bastille", "75011", "2 place de la Bastille"},
				{"store-paris-opera", "Boutique Opéra", "75009", "16 boulevard des Capucines"},
			},
			storeHours: weekly(mondayToSaturday, "10:00", "19:00"),
		},
		{
			key: "nyc", city: "New York", country: "US", timeZone: "America/New_York",
			holidays:  usHolidays(),
			postCodes: postCodes(10001, 10040, "%05d"),
			technicians: []string{
				"Olivia Johnson", "Liam Smith", "Emma Williams", "Noah Brown", "Ava Jones",
				"James Garcia", "Sophia Miller", "Mateo Davis", "Isabella Rodriguez", "Lucas Martinez",
				"Mia Hernandez", "Ethan Lopez", "Amelia Gonzalez", "Daniel Wilson", "Harper Anderson",
				"Michael Thomas", "Evelyn Taylor", "Elijah Moore", "Abigail Jackson", "Benjamin Lee",
			},
			stores: []store{
				{"store-nyc-herald-square", "Herald Square Store", "10001", "151 West 34th Street"},
				{"store-nyc-upper-east-side", "Upper East Side Store", "10028", "1511 Third Avenue"},
			},
			storeHours: append(weekly(mondayToSaturday, "09:00", "21:00"), weekly([]time.Weekday{time.Sunday}, "11:00", "18:00")...),
		},
		{
			key: "shanghai", city: "Shanghai", country: "CN", timeZone: "Asia/Shanghai",
			holidays:  chinaHolidays(),
			postCodes: postCodes(200000, 200040, "%06d"),
			technicians: []string{
				"Wang Wei", "Li Na", "Zhang Min", "Liu Yang", "Chen Jing",
				"Yang Lei", "Zhao Li", "Huang Yong", "Zhou Jie", "Wu Fang",
				"Xu Qiang", "Sun Yan", "Ma Chao", "Zhu Lin", "Hu Bin",
				"Guo Yan", "He Lei", "Lin Tao", "Gao Feng", "Luo Dan",
			},
			stores: []store{
				{"store-shanghai-nanjing-road", "Nanjing Road Store", "200001", "300 East Nanjing Road"},
				{"store-shanghai-xujiahui", "Xujiahui Store", "200030", "1 Hongqiao Road"},
			},
			storeHours: weekly(everyDay, "10:00", "22:00"),
		},
	}
}

// zones splits the region's postcodes into four zones of consecutive codes.
func (r region) zones() []apphub.Zone {
	size := (len(r.postCodes) + 3) / 4
	var zones []apphub.Zone
	for i := 0; i < 4; i++ {
		codes := r.postCodes[i*size : min((i+1)*size, len(r.postCodes))]
		zones = append(zones, apphub.Zone{
			ID:              fmt.Sprintf("%s-%d", r.key, i+1),
			Name:            fmt.Sprintf("%s %s–%s", r.city, codes[0], codes[len(codes)-1]),
			TimeZone:        r.timeZone,
			PostCodes:       codes,
			HolidayCalendar: r.holidays.ID,
		})
	}
	return zones
}

func postCodes(first, last int, format string) []string {
	var out []string
	for pc := first; pc <= last; pc++ {
		out = append(out, fmt.Sprintf(format, pc))
	}
	return out
}

// technicianSkills gives most technicians fibre, half of them copper, a third mobile.
func technicianSkills(i int) []string {
	var skills []string
	if i%4 != 3 {
		skills = append(skills, "fiber")
	}
	if i%2 == 1 {
		skills = append(skills, "copper")
	}
	if i%3 == 0 {
		skills = append(skills, "mobile")
	}
	return skills
}

// technicianShifts varies the crews: day shifts, a Tuesday–Saturday crew, a weekend crew and
// a night crew whose shifts cross midnight.
func technicianShifts(i int) []apphub.Shift {
	switch {
	case i%10 == 2:
		return weekly([]time.Weekday{time.Saturday, time.Sunday, time.Monday}, "08:00", "16:00")
	case i%5 == 0:
		return weekly(mondayToFriday, "08:00", "17:00")
	case i%5 == 1:
		return weekly(mondayToFriday, "09:00", "18:00")
	case i%5 == 2:
		return weekly([]time.Weekday{time.Tuesday, time.Wednesday, time.Thursday, time.Friday, time.Saturday}, "08:00", "16:00")
	case i%5 == 3:
		return append(weekly(mondayToFriday, "07:00", "15:00"), weekly([]time.Weekday{time.Saturday}, "08:00", "12:00")...)
	default:
		return weekly([]time.Weekday{time.Sunday, time.Monday, time.Tuesday, time.Wednesday, time.Thursday}, "22:00", "06:00")
	}
}

// exceptions are a few absences and extra openings, so that the demo shows them.
func exceptions(resourceID string) []apphub.Exception {
	switch resourceID {
	case "tech-paris-003":
		return []apphub.Exception{{Kind: apphub.ExceptionAbsence, From: "2026-08-03T00:00", To: "2026-08-22T00:00", Reason: "summer leave"}}
	case "tech-paris-006":
		return []apphub.Exception{{Kind: apphub.ExceptionAbsence, From: "2026-03-10T13:00", To: "2026-03-10T17:00", Reason: "training"}}
	case "tech-nyc-005":
		return []apphub.Exception{{Kind: apphub.ExceptionAbsence, From: "2026-12-21T00:00", To: "2027-01-02T00:00", Reason: "year-end leave"}}
	case "tech-shanghai-001":
		return []apphub.Exception{{Kind: apphub.ExceptionOpening, From: "2026-06-06T09:00", To: "2026-06-06T13:00", Reason: "Saturday fibre campaign"}}
	}
	return nil
}

var (
	mondayToFriday   = []time.Weekday{time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday}
	mondayToSaturday = append(mondayToFriday[:5:5], time.Saturday)
	everyDay         = append(mondayToSaturday[:6:6], time.Sunday)
)

func weekly(days []time.Weekday, start, end string) []apphub.Shift {
	var out []apphub.Shift
	for _, d := range days {
		out = append(out, apphub.Shift{Weekday: d, Start: start, End: end})
	}
	return out
}

// addTravel adds a region's zones to the travel times: 15 minutes more for each zone between
// two of them along the postcodes' order (30 to the next zone, 60 to the farthest). Regions are
// cities apart: the longest travel a buffer allows, which no technician needs, since none
// serves two regions.
func addTravel(t *apphub.TravelTimes, zones []string) {
	first := len(t.Zones)
	t.Zones = append(t.Zones, zones...)
	for i := range t.Minutes {
		for range zones {
			t.Minutes[i] = append(t.Minutes[i], int(apphub.MaxBuffer/time.Minute))
		}
	}
	for i := range zones {
		row := make([]int, len(t.Zones))
		for j := range row {
			switch {
			case j < first:
				row[j] = int(apphub.MaxBuffer / time.Minute)
			case j-first != i:
				row[j] = 15 + 15*max(i-(j-first), (j-first)-i)
			}
		}
		t.Minutes = append(t.Minutes, row)
	}
}
