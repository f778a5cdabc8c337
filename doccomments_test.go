package endsession_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"
)

// TestEveryExportedNameHasADocComment walks every package a user imports
// (the core module and the nested library modules, not the test suites,
// benchmarks or examples) and names each exported identifier, method,
// struct field and interface method that has no doc comment. A field or a
// value in a group may be documented by a comment on its line; a value in
// a documented const or var group is documented by the group's comment.
func TestEveryExportedNameHasADocComment(t *testing.T) {
	skip := map[string]bool{"e2e": true, "bench": true, "example": true, "node_modules": true, "testdata": true, ".git": true, "scripts": true}
	var missing []string
	fset := token.NewFileSet()
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if skip[d.Name()] {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.ParseComments)
		if err != nil {
			return err
		}
		if strings.HasSuffix(f.Name.Name, "_test") || f.Name.Name == "main" {
			return nil
		}
		report := func(pos token.Pos, what string) {
			missing = append(missing, fset.Position(pos).String()+": "+what)
		}
		for _, decl := range f.Decls {
			switch d := decl.(type) {
			case *ast.FuncDecl:
				if !d.Name.IsExported() || d.Doc != nil {
					continue
				}
				if d.Recv != nil {
					if recv := receiverName(d.Recv); recv == "" || !ast.IsExported(recv) {
						continue
					}
				}
				report(d.Pos(), "func "+d.Name.Name)
			case *ast.GenDecl:
				for _, spec := range d.Specs {
					switch s := spec.(type) {
					case *ast.TypeSpec:
						if !s.Name.IsExported() {
							continue
						}
						if s.Doc == nil && d.Doc == nil {
							report(s.Pos(), "type "+s.Name.Name)
						}
						checkFields(s, report)
					case *ast.ValueSpec:
						for _, n := range s.Names {
							if n.IsExported() && s.Doc == nil && s.Comment == nil && d.Doc == nil {
								report(n.Pos(), "value "+n.Name)
							}
						}
					}
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(missing) > 0 {
		t.Errorf("%d exported names without a doc comment:\n%s", len(missing), strings.Join(missing, "\n"))
	}
}

func receiverName(recv *ast.FieldList) string {
	if len(recv.List) == 0 {
		return ""
	}
	typ := recv.List[0].Type
	if star, ok := typ.(*ast.StarExpr); ok {
		typ = star.X
	}
	switch x := typ.(type) {
	case *ast.Ident:
		return x.Name
	case *ast.IndexExpr:
		if id, ok := x.X.(*ast.Ident); ok {
			return id.Name
		}
	case *ast.IndexListExpr:
		if id, ok := x.X.(*ast.Ident); ok {
			return id.Name
		}
	}
	return ""
}

// checkFields reports the exported fields of a struct type and the
// exported methods of an interface type that have no comment.
func checkFields(s *ast.TypeSpec, report func(token.Pos, string)) {
	var list *ast.FieldList
	switch x := s.Type.(type) {
	case *ast.StructType:
		list = x.Fields
	case *ast.InterfaceType:
		// The type's own comment documents the method of a one-method
		// interface, and an embedded interface is documented where it
		// is declared.
		if x.Methods.NumFields() < 2 {
			return
		}
		list = &ast.FieldList{}
		for _, m := range x.Methods.List {
			if len(m.Names) > 0 {
				list.List = append(list.List, m)
			}
		}
	default:
		return
	}
	for _, field := range list.List {
		if field.Doc != nil || field.Comment != nil {
			continue
		}
		for _, n := range field.Names {
			if n.IsExported() {
				report(n.Pos(), s.Name.Name+"."+n.Name)
			}
		}
		if len(field.Names) == 0 { // embedded
			if id := embeddedName(field.Type); id != "" && ast.IsExported(id) {
				report(field.Pos(), s.Name.Name+"."+id+" (embedded)")
			}
		}
	}
}

func embeddedName(e ast.Expr) string {
	switch x := e.(type) {
	case *ast.Ident:
		return x.Name
	case *ast.StarExpr:
		return embeddedName(x.X)
	case *ast.SelectorExpr:
		return x.Sel.Name
	}
	return ""
}
