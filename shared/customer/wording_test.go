package customer_test

import (
	"testing"

	"github.com/tierflow/tierflow/shared/customer"
	"github.com/tierflow/tierflow/shared/model"
)

func TestEveryPublishedWordingCoversEveryBoxInEveryLanguage(t *testing.T) {
	boxes := []struct {
		cat model.Category
		ch  model.Channel
	}{
		{model.CategoryService, model.ChannelSMS}, {model.CategoryService, model.ChannelEmail},
		{model.CategoryMarketing, model.ChannelSMS}, {model.CategoryMarketing, model.ChannelEmail},
	}
	versions := customer.WordingVersions()
	if len(versions) == 0 || customer.WordingVersion("") != customer.CurrentWordingVersion {
		t.Fatalf("versions %v, current %s", versions, customer.CurrentWordingVersion)
	}
	for _, v := range versions {
		for _, b := range boxes {
			for _, loc := range customer.WordingLocales {
				if text, ok := customer.Wording(v, b.cat, b.ch, loc); !ok || text == "" {
					t.Errorf("version %s has no %s text for %s/%s", v, loc, b.cat, b.ch)
				}
			}
		}
	}
}

func TestAConfirmationShowsTheFormsWordingOnlyWhenWePublishedIt(t *testing.T) {
	cases := []struct{ name, form, want string }{
		{"a published version is kept", customer.CurrentWordingVersion, customer.CurrentWordingVersion},
		{"a version we never published falls back to the current one", "v-unknown", customer.CurrentWordingVersion},
		{"no version falls back to the current one", "", customer.CurrentWordingVersion},
	}
	for _, tc := range cases {
		if got := customer.WordingVersion(tc.form); got != tc.want {
			t.Errorf("%s: %q → %q, want %q", tc.name, tc.form, got, tc.want)
		}
	}
	if _, ok := customer.Wording("v-unknown", model.CategoryService, model.ChannelSMS, "en"); ok {
		t.Error("an unpublished version has a text")
	}
}
