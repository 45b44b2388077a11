package customer

import "errors"

// Phones reads phone numbers for NormalizePhone and MaskPhone. The library behind it
// (shared/phone over nyaruka/phonenumbers) weighs ~8 MB in a bootstrap, so this package
// does not import it: the functions that read numbers people typed (api, public-api, the
// operator CLI) install it with UsePhones at start; the others store, plan and send
// numbers that were normalised on the way in and never call these (issue #13).
type Phones interface {
	// E164 reads raw in defaultRegion and returns it in E.164; "" without an error when
	// it reads but is not a valid number.
	E164(raw, defaultRegion string) (string, error)
	// Split returns the country calling code and national significant number of an
	// E.164 number.
	Split(e164 string) (country int, national string, err error)
}

var phones Phones = unlinked{}

// UsePhones installs the phone-number library; call it once, before serving.
func UsePhones(p Phones) { phones = p }

// errUnlinked is what a function that did not install a library gets: a number it cannot
// read is refused rather than stored unnormalised.
var errUnlinked = errors.New("phone numbers cannot be read in this function (shared/phone is not installed)")

type unlinked struct{}

func (unlinked) E164(string, string) (string, error) { return "", errUnlinked }
func (unlinked) Split(string) (int, string, error)   { return 0, "", errUnlinked }
