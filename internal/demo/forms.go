package demo

import (
	"fmt"
	"math/rand/v2"
	"time"
)

// Sample content for the example procedures' form schemas (schemas/forms):
// the demo files dossiers with it, and tests and benchmarks reuse it.

// Land-use change and the birth group: the procedures of the example config.
const (
	LandProcedure  = "1.004227"
	BirthProcedure = "1.001193"
)

var (
	wards     = []string{"Phường Đồng Phú", "Phường Hải Đình", "Xã Đức Ninh", "Xã Nghĩa Ninh", "Phường Bắc Lý"}
	streets   = []string{"Trần Hưng Đạo", "Lý Thường Kiệt", "Hùng Vương", "Quang Trung", "Nguyễn Hữu Cảnh"}
	purposes  = []string{"ONT", "ODT", "CLN", "LUC"}
	changes   = []string{"transfer", "donation", "inheritance", "purpose_change"}
	middleFem = []string{"Thị", "Ngọc", "Thu", "Minh"}
)

func address(r *rand.Rand) string {
	return fmt.Sprintf("%d %s, %s, Thành phố Đồng Hới, Quảng Bình", 1+r.IntN(300), streets[r.IntN(len(streets))], wards[r.IntN(len(wards))])
}

func citizenID(r *rand.Rand) string {
	return fmt.Sprintf("0%02d%09d", r.IntN(96)+1, r.IntN(1e9))
}

func person(r *rand.Rand, middle []string) string {
	return familyNames[r.IntN(len(familyNames))] + " " + middle[r.IntN(len(middle))] + " " + givenNames[r.IntN(len(givenNames))]
}

// SampleForm returns a form for procedure that its built-in form schema
// accepts, nil for a procedure without one. born dates the child.
func SampleForm(r *rand.Rand, procedure string, born time.Time) map[string]any {
	switch procedure {
	case LandProcedure:
		return map[string]any{
			"parcel": map[string]any{
				"sheet_number": 1 + r.IntN(80), "parcel_number": 1 + r.IntN(2000), "area_m2": float64(50+r.IntN(900)) + 0.5,
				"address": address(r), "purpose": purposes[r.IntN(len(purposes))], "use_term": "Lâu dài",
				"origin": "Nhà nước công nhận quyền sử dụng đất",
			},
			"certificate": map[string]any{
				"serial_number": fmt.Sprintf("C%c %06d", 'A'+rune(r.IntN(26)), r.IntN(1e6)), "registry_number": fmt.Sprintf("CS%05d", r.IntN(1e5)),
				"issued_on": fmt.Sprintf("20%02d-%02d-%02d", 5+r.IntN(20), 1+r.IntN(12), 1+r.IntN(28)), "issued_by": "Sở Tài nguyên và Môi trường tỉnh Quảng Bình",
			},
			"change": map[string]any{
				"kind": changes[r.IntN(len(changes))], "details": "Chuyển nhượng toàn bộ diện tích thửa đất",
				"reason": "Theo hợp đồng đã được công chứng", "counterparty_name": person(r, []string{"Văn", "Đức", "Minh"}),
				"counterparty_id": citizenID(r),
			},
		}
	case BirthProcedure:
		parentBorn := func(age int) string {
			return fmt.Sprintf("%d-%02d-%02d", born.Year()-age, 1+r.IntN(12), 1+r.IntN(28))
		}
		mother := map[string]any{"full_name": person(r, middleFem), "citizen_id": citizenID(r), "date_of_birth": parentBorn(22 + r.IntN(15)),
			"ethnicity": "Kinh", "nationality": "Việt Nam", "residence": address(r)}
		father := map[string]any{"full_name": person(r, []string{"Văn", "Đức", "Hữu"}), "citizen_id": citizenID(r), "date_of_birth": parentBorn(24 + r.IntN(15)),
			"ethnicity": "Kinh", "nationality": "Việt Nam", "residence": mother["residence"]}
		sex := []string{"male", "female"}[r.IntN(2)]
		return map[string]any{
			"child": map[string]any{
				"full_name": person(r, []string{"Minh", "Gia", "Bảo", "Ngọc"}), "sex": sex, "date_of_birth": born.Format("2006-01-02"),
				"date_of_birth_in_words": "Ngày " + born.Format("02") + " tháng " + born.Format("01") + " năm " + born.Format("2006"),
				"place_of_birth":         "Bệnh viện Hữu nghị Việt Nam - Cu Ba Đồng Hới, Quảng Bình", "hometown": "Quảng Bình",
				"ethnicity": "Kinh", "nationality": "Việt Nam",
			},
			"mother":    mother,
			"father":    father,
			"residence": map[string]any{"address": mother["residence"], "household_head_name": father["full_name"], "household_head_citizen_id": father["citizen_id"], "relationship_to_head": "Con"},
			"health_insurance": map[string]any{"card_issuing_place": "Bảo hiểm xã hội thành phố Đồng Hới",
				"initial_care_facility": "Trạm Y tế " + wards[r.IntN(len(wards))]},
			"declarant": map[string]any{"full_name": mother["full_name"], "relationship": "Mẹ"},
		}
	}
	return nil
}

// SampleTaxNotice returns outputs of the land procedure's tax step that its
// output schema (urn:lienthong:form:tax-notice:v1) accepts.
func SampleTaxNotice(r *rand.Rand, now time.Time) map[string]any {
	fee := 1000 * (500 + r.IntN(20000))
	pit := 1000 * (1000 + r.IntN(50000))
	return map[string]any{
		"notice_number": fmt.Sprintf("TB-%d-%06d", now.Year(), r.IntN(1e6)), "amount_vnd": fee + pit,
		"tax_kinds": []string{"registration_fee", "personal_income_tax"}, "due_date": now.AddDate(0, 0, 30).Format("2006-01-02"),
		"items": []any{map[string]any{"kind": "registration_fee", "amount_vnd": fee}, map[string]any{"kind": "personal_income_tax", "amount_vnd": pit}},
	}
}
