// Command web serves the staff web app: the bundle built from functions/web/ui, embedded
// in this binary, under GET /app and /app/{proxy+}. It holds no privilege: the app signs
// in with the staff member's own token and talks to the staff API like any client.
package main

import (
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/tierflow/tierflow/shared/boot"
	"github.com/tierflow/tierflow/shared/logx"
)

func main() {
	// The app server logs no personal data, so it needs no hash key (and no SSM read).
	log := logx.FromEnv(nil)
	s, err := newSite(builtApp())
	boot.Check(log, "staff app bundle", err)
	log.Info("staff app ready", "files", len(s.files), "index", s.index.etag)
	lambda.Start(s.serve)
}
