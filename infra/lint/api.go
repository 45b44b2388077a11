package lint

import (
	"fmt"
	"go/types"
	"sort"
	"strings"
)

// ForeignTypes lists every place the exported API of pkg names a type from a package
// whose path starts with one of prefixes: exported functions' and methods' parameters and
// results, exported fields, variables and constants, and what exported types are made
// of. allowed may let a finding pass (e.g. a constructor taking the SDK client).
func ForeignTypes(pkg *types.Package, prefixes []string, allowed func(where string, t *types.Named) bool) []string {
	var out []string
	seen := map[string]bool{}
	foreign := func(where string, t types.Type) {
		walk(t, map[types.Type]bool{}, func(n *types.Named) {
			p := n.Obj().Pkg()
			if p == nil {
				return
			}
			for _, prefix := range prefixes {
				if strings.HasPrefix(p.Path(), prefix) && (allowed == nil || !allowed(where, n)) {
					msg := fmt.Sprintf("%s: %s.%s", where, p.Path(), n.Obj().Name())
					if !seen[msg] {
						seen[msg] = true
						out = append(out, msg)
					}
				}
			}
		})
	}
	scope := pkg.Scope()
	for _, name := range scope.Names() {
		obj := scope.Lookup(name)
		if !obj.Exported() {
			continue
		}
		switch obj := obj.(type) {
		case *types.Func:
			foreign(name, obj.Type())
		case *types.Var, *types.Const:
			foreign(name, obj.Type())
		case *types.TypeName:
			if obj.IsAlias() {
				foreign(name, types.Unalias(obj.Type()))
				continue
			}
			named, ok := obj.Type().(*types.Named)
			if !ok {
				continue
			}
			switch u := named.Underlying().(type) {
			case *types.Struct:
				for i := 0; i < u.NumFields(); i++ {
					if f := u.Field(i); f.Exported() {
						foreign(name+"."+f.Name(), f.Type())
					}
				}
			case *types.Interface:
				for i := 0; i < u.NumMethods(); i++ {
					if m := u.Method(i); m.Exported() {
						foreign(name+"."+m.Name(), m.Type())
					}
				}
			default:
				foreign(name, u)
			}
			for i := 0; i < named.NumMethods(); i++ {
				if m := named.Method(i); m.Exported() {
					foreign(name+"."+m.Name(), m.Type())
				}
			}
		}
	}
	sort.Strings(out)
	return out
}

// walk calls found for every named type t is built of, without entering named types
// (their own package answers for their insides) except through type arguments.
func walk(t types.Type, seen map[types.Type]bool, found func(*types.Named)) {
	if t == nil || seen[t] {
		return
	}
	seen[t] = true
	switch t := types.Unalias(t).(type) {
	case *types.Named:
		found(t)
		if args := t.TypeArgs(); args != nil {
			for i := 0; i < args.Len(); i++ {
				walk(args.At(i), seen, found)
			}
		}
	case *types.Pointer:
		walk(t.Elem(), seen, found)
	case *types.Slice:
		walk(t.Elem(), seen, found)
	case *types.Array:
		walk(t.Elem(), seen, found)
	case *types.Chan:
		walk(t.Elem(), seen, found)
	case *types.Map:
		walk(t.Key(), seen, found)
		walk(t.Elem(), seen, found)
	case *types.Signature:
		walk(t.Params(), seen, found)
		walk(t.Results(), seen, found)
	case *types.Tuple:
		for i := 0; i < t.Len(); i++ {
			walk(t.At(i).Type(), seen, found)
		}
	case *types.Struct:
		for i := 0; i < t.NumFields(); i++ {
			if f := t.Field(i); f.Exported() || f.Embedded() {
				walk(f.Type(), seen, found)
			}
		}
	case *types.Interface:
		for i := 0; i < t.NumMethods(); i++ {
			walk(t.Method(i).Type(), seen, found)
		}
	}
}
