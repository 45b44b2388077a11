package access_test

import (
	"os/exec"
	"strings"
	"testing"
)

// The rule of who sees what is plain Go: it must not reach the AWS SDK or the DynamoDB
// adapter, even through another package.
func TestTheLayerDependsOnNoAWSSDKAndNoStore(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}}", "github.com/tierflow/tierflow/shared/access").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, dep := range strings.Fields(string(out)) {
		if strings.HasPrefix(dep, "github.com/aws/aws-sdk-go-v2") || strings.HasSuffix(dep, "/shared/store") {
			t.Errorf("shared/access depends on %s", dep)
		}
	}
}
