// kindconst prints the value of a string constant declared in Go source files, evaluated by
// go/types (so `"..." + otherConst + "..."` concatenations are resolved exactly as the Go
// compiler would). It is used to take kind's own manifests (defaultCNIManifest in
// pkg/build/nodeimage/const_cni.go, defaultStorageManifest in const_storage.go) and image
// names out of the kind module source instead of retyping them.
//
// Usage: go run ./kindconst NAME FILE.go [FILE.go ...]
// The files must import nothing (kind's const_*.go files do not).
package main

import (
	"fmt"
	"go/ast"
	"go/constant"
	"go/parser"
	"go/token"
	"go/types"
	"os"
)

func main() {
	if len(os.Args) < 3 {
		fmt.Fprintln(os.Stderr, "usage: kindconst NAME FILE.go [FILE.go ...]")
		os.Exit(2)
	}
	name := os.Args[1]
	fset := token.NewFileSet()
	var files []*ast.File
	for _, path := range os.Args[2:] {
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		files = append(files, f)
	}
	conf := types.Config{Error: func(error) {}} // only constants matter; ignore other errors
	pkg, _ := conf.Check(files[0].Name.Name, fset, files, nil)
	obj := pkg.Scope().Lookup(name)
	c, ok := obj.(*types.Const)
	if !ok || c.Val().Kind() != constant.String {
		fmt.Fprintf(os.Stderr, "no string constant %q in %v\n", name, os.Args[2:])
		os.Exit(1)
	}
	fmt.Print(constant.StringVal(c.Val()))
}
