// Package phone reads phone numbers with nyaruka/phonenumbers, Google's libphonenumber
// metadata for every region. That metadata is most of a bootstrap's weight (~8 MB of an
// arm64 binary, issue #13), so it lives here, apart from shared/customer: only the
// functions that read numbers people typed (api, public-api, the operator CLI) import
// this package and install it with customer.UsePhones. Every other function stores and
// sends numbers that were normalised on the way in, and links none of it.
package phone

import "github.com/nyaruka/phonenumbers"

// Library is customer.Phones over nyaruka/phonenumbers.
type Library struct{}

// E164 reads raw in defaultRegion (an ISO region such as "CN", upper case) and returns it
// in E.164; "" without an error when the library reads it but it is not a valid number.
func (Library) E164(raw, defaultRegion string) (string, error) {
	n, err := phonenumbers.Parse(raw, defaultRegion)
	if err != nil {
		return "", err
	}
	if !phonenumbers.IsValidNumber(n) {
		return "", nil
	}
	return phonenumbers.Format(n, phonenumbers.E164), nil
}

// Split returns the country calling code and the national significant number of an
// E.164 number.
func (Library) Split(e164 string) (int, string, error) {
	n, err := phonenumbers.Parse(e164, "")
	if err != nil {
		return 0, "", err
	}
	return int(n.GetCountryCode()), phonenumbers.GetNationalSignificantNumber(n), nil
}
