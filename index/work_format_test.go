package index

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestFormatIdentifiers(t *testing.T) {
	assert.Equal(t, "GB-AYE-69-00531", FormatISRC("GBAYE6900531"))
	assert.Equal(t, "T-034.524.680-1", FormatISWC("T0345246801"))
	assert.Equal(t, "odd", FormatISRC("odd"))
	assert.Equal(t, "", FormatISWC(""))
	assert.Equal(t, "Ann 62.5% (composer); Label 37.5%",
		FormatOwners([]Owner{{Name: "Ann", Share: 62.5, Role: "composer"}, {Name: "Label", Share: 37.5}}))
}
