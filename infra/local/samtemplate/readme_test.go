package samtemplate

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

const projectReadme = "../../../README.md"

// configRow is one row of the README's configuration table.
type configRow struct {
	line     int
	params   []string // parameter names; none for (resource), (function), (SSM) rows
	vars     []string // environment variables
	defaults []string // backticked defaults, in the order of params (or vars)
}

var backticked = regexp.MustCompile("`([^`]*)`")

func ticks(cell string) []string {
	var out []string
	for _, m := range backticked.FindAllStringSubmatch(cell, -1) {
		out = append(out, m[1])
	}
	return out
}

// readmeConfig returns the rows of the table under "## Configuration" and the section's
// whole text.
func readmeConfig(t *testing.T) ([]configRow, string) {
	t.Helper()
	b, err := os.ReadFile(projectReadme)
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	start := strings.Index(text, "\n## Configuration\n")
	if start < 0 {
		t.Fatal("README.md has no ## Configuration section")
	}
	section := text[start+1:]
	if end := strings.Index(section[3:], "\n## "); end >= 0 {
		section = section[:end+3]
	}
	before := strings.Count(text[:start+1], "\n")
	var rows []configRow
	for i, line := range strings.Split(section, "\n") {
		if !strings.HasPrefix(line, "|") || strings.HasPrefix(line, "|---") || strings.HasPrefix(line, "| parameter") {
			continue
		}
		cells := strings.Split(strings.Trim(line, "|"), "|")
		if len(cells) != 4 {
			t.Errorf("README.md:%d: a configuration row has %d cells, want 4: %s", before+i+1, len(cells), line)
			continue
		}
		rows = append(rows, configRow{line: before + i + 1, params: ticks(cells[0]), vars: ticks(cells[1]), defaults: ticks(cells[2])})
	}
	if len(rows) == 0 {
		t.Fatal("README.md's configuration section has no table")
	}
	return rows, section
}

// refsTo finds the template parameters a raw (unresolved) environment value refers to.
func refsTo(v any, params map[string]string) []string {
	var out []string
	switch x := v.(type) {
	case map[string]any:
		if r, ok := x["Ref"].(string); ok {
			if _, isParam := params[r]; isParam {
				out = append(out, r)
			}
		}
		for _, y := range x {
			out = append(out, refsTo(y, params)...)
		}
	case []any:
		for _, y := range x {
			out = append(out, refsTo(y, params)...)
		}
	}
	return out
}

// configProblems compares the table with the template and the code's reads.
func configProblems(tp *Template, rows []configRow, section string, reads []envRead) []string {
	var out []string
	bad := func(format string, a ...any) { out = append(out, fmt.Sprintf(format, a...)) }
	rowOfParam := map[string]configRow{}
	inTable := map[string]bool{}
	for _, r := range rows {
		for _, p := range r.params {
			if _, ok := tp.Params[p]; !ok {
				bad("README.md:%d names parameter %s, which template.yaml does not declare", r.line, p)
			}
			rowOfParam[p] = r
		}
		for _, v := range r.vars {
			inTable[v] = true
		}
		switch {
		case len(r.params) > 0 && len(r.defaults) == len(r.params):
			for i, p := range r.params {
				if d, ok := tp.Params[p]; ok && d != r.defaults[i] {
					bad("README.md:%d: %s defaults to %q in template.yaml, the table says %q", r.line, p, d, r.defaults[i])
				}
			}
		case len(r.params) > 0:
			for _, p := range r.params {
				if tp.Params[p] != "" {
					bad("README.md:%d: %s defaults to %q in template.yaml; the table gives %d defaults for %d parameters",
						r.line, p, tp.Params[p], len(r.defaults), len(r.params))
				}
			}
		}
	}
	for _, p := range sortedKeys(tp.Params) {
		if _, ok := rowOfParam[p]; !ok {
			bad("parameter %s of template.yaml is missing from the README's configuration table", p)
		}
	}
	// Every variable a function is given, in the row of the parameter it comes from.
	for _, f := range tp.Functions {
		for _, k := range sortedKeys(f.env) {
			if !inTable[k] {
				bad("%s's variable %s is missing from the README's configuration table", f.LogicalID, k)
				continue
			}
			for _, p := range refsTo(f.env[k], tp.Params) {
				if r, ok := rowOfParam[p]; ok && !slices.Contains(r.vars, k) {
					bad("README.md:%d: %s becomes %s (%s), which the row does not say", r.line, p, k, f.LogicalID)
				}
			}
		}
	}
	// Every variable the code reads: in the table, or (set by Lambda or the local
	// runtime) named in the section.
	for _, r := range reads {
		if inTable[r.Var] {
			continue
		}
		if _, ok := provided[r.Var]; ok && strings.Contains(section, "`"+r.Var) {
			continue
		}
		bad("%s reads %s, which the README's configuration section does not name", filepath.ToSlash(r.File), r.Var)
	}
	return out
}

// The README's configuration table lists every parameter of template.yaml with its
// default, every variable a function is given with the parameter it comes from, and
// every variable the code reads; it names nothing the template no longer has.
func TestConfigurationTableMatchesTheTemplate(t *testing.T) {
	tp := loadProject(t)
	rows, section := readmeConfig(t)
	for _, p := range configProblems(tp, rows, section, codeEnvReads(t, tp.Root)) {
		t.Error(p)
	}
}

// The check catches drift: a table missing a parameter, naming one the template lost,
// with a wrong default, a variable under the wrong parameter, and code reading a
// variable nobody documented.
func TestConfigurationTableCheckCatchesDrift(t *testing.T) {
	tp := loadProject(t)
	rows, section := readmeConfig(t)
	var planted []configRow
	for _, r := range rows {
		switch {
		case slices.Contains(r.params, "Stores"): // dropped
		case slices.Contains(r.params, "Stage"):
			planted = append(planted, configRow{line: r.line, params: []string{"Stage"}, vars: r.vars, defaults: []string{"prod"}})
		case slices.Contains(r.params, "DefaultStore"):
			planted = append(planted, configRow{line: r.line, params: r.params, vars: []string{"STORE_DEFAULT"}, defaults: r.defaults})
		default:
			planted = append(planted, r)
		}
	}
	planted = append(planted, configRow{line: 999, params: []string{"Gone"}, defaults: []string{"x"}})
	reads := append(codeEnvReads(t, tp.Root), envRead{Var: "UNDOCUMENTED_KNOB", File: "shared/x/x.go"})
	got := strings.Join(configProblems(tp, planted, section, reads), "\n")
	for _, want := range []string{
		"parameter Stores of template.yaml is missing",
		"names parameter Gone, which template.yaml does not declare",
		`Stage defaults to "dev" in template.yaml, the table says "prod"`,
		"variable DEFAULT_STORE is missing",
		"reads UNDOCUMENTED_KNOB",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("planted drift not caught: %q\n%s", want, got)
		}
	}
	if problems := configProblems(tp, rows, section, codeEnvReads(t, tp.Root)); len(problems) != 0 {
		t.Errorf("the real table has problems: %v", problems)
	}
}
