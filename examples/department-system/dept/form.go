package dept

// The land procedure (1.004227, "Đăng ký biến động quyền sử dụng đất") and
// its form, written out as the form schema urn:lienthong:form:1.004227:v1
// states it (GET /v1/schemas/forms/1.004227/v1 serves it): keys are the
// official form's fields (Mẫu số 11/ĐK) in snake_case.
const (
	LandProcedure  = "1.004227"
	LandFormSchema = "urn:lienthong:form:1.004227:v1"
)

// LandForm is the land-use change registration form.
type LandForm struct {
	Parcel      Parcel      `json:"parcel"`
	Certificate Certificate `json:"certificate"`
	Change      Change      `json:"change"`
}

// Parcel is "Thửa đất".
type Parcel struct {
	SheetNumber  int     `json:"sheet_number"`       // Tờ bản đồ số
	ParcelNumber int     `json:"parcel_number"`      // Thửa đất số
	AreaM2       float64 `json:"area_m2"`            // Diện tích (m²)
	Address      string  `json:"address"`            // Địa chỉ thửa đất
	Purpose      string  `json:"purpose"`            // Mục đích sử dụng: ONT, ODT, CLN, LUC...
	UseTerm      string  `json:"use_term,omitempty"` // Thời hạn sử dụng
	Origin       string  `json:"origin,omitempty"`   // Nguồn gốc sử dụng
}

// Certificate is "Giấy chứng nhận đã cấp": the certificate being changed.
type Certificate struct {
	SerialNumber   string `json:"serial_number"`             // Số phát hành (số seri), e.g. "CS 123456"
	RegistryNumber string `json:"registry_number,omitempty"` // Số vào sổ cấp GCN
	IssuedOn       string `json:"issued_on"`                 // Ngày cấp, YYYY-MM-DD
	IssuedBy       string `json:"issued_by,omitempty"`       // Cơ quan cấp
}

// Change is "Nội dung biến động".
type Change struct {
	Kind             string `json:"kind"` // transfer, donation, inheritance, exchange, purpose_change, area_change, holder_info_change, other
	Details          string `json:"details,omitempty"`
	Reason           string `json:"reason,omitempty"`
	CounterpartyName string `json:"counterparty_name,omitempty"`
	CounterpartyID   string `json:"counterparty_id,omitempty"` // 12-digit citizen ID or a tax code
}

// Applicant is who files the dossier (dossier.submitted data.applicant).
type Applicant struct {
	Kind     string `json:"kind,omitempty"`      // citizen (default) or business
	FullName string `json:"full_name"`           //
	IDNumber string `json:"id_number,omitempty"` // citizens: 12-digit CCCD
	TaxCode  string `json:"tax_code,omitempty"`  // businesses
	Phone    string `json:"phone,omitempty"`
	Email    string `json:"email,omitempty"`
	Address  string `json:"address,omitempty"`
}

// Document is a reference to a document the desk holds: lienthong carries
// the reference and its SHA-256, never the bytes.
type Document struct {
	Name      string `json:"name"`
	URL       string `json:"url"`
	SHA256    string `json:"sha256"`
	Size      int64  `json:"size,omitempty"`
	MediaType string `json:"media_type,omitempty"`
}

// Application is what the desk clerk enters for a land dossier.
type Application struct {
	Applicant Applicant  `json:"applicant"`
	Documents []Document `json:"documents"`
	Form      LandForm   `json:"form"`
	// Channel is how it was received: direct (default), online or postal.
	Channel string `json:"channel,omitempty"`
}
