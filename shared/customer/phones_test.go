package customer

import (
	"testing"

	"github.com/tierflow/tierflow/shared/phone"
)

// The tests validate leads with phone numbers, as public-api does, so they install the
// phone-number library that the function's own binary does not link.
func init() { UsePhones(phone.Library{}) }

// A function that did not install the library refuses a number rather than storing it
// unread, and masks keep only the last four digits.
func TestWithoutThePhoneLibraryNumbersAreRefusedAndMasked(t *testing.T) {
	linked := phones
	UsePhones(unlinked{})
	defer UsePhones(linked)
	if got, err := NormalizePhone("138 0013 8000", "CN"); err == nil || got != "" {
		t.Errorf("NormalizePhone without the library = %q, %v; want an error", got, err)
	}
	if got := MaskPhone("+8613812345678"); got != "****5678" {
		t.Errorf("MaskPhone without the library = %q, want ****5678", got)
	}
}
