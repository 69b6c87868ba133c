// gitops-health evaluates live IsolationProfiles the way the GitOps tools do, with their own code: Flux's
// kustomize-controller health checks through kstatus (sigs.k8s.io/cli-utils/pkg/kstatus/status.Compute), and Argo CD
// runs the Lua health script from config/gitops/argocd-health.lua in gopher-lua, the engine Argo CD embeds.
//
// Input on stdin: one object or a `kind: List` (as `kubectl get -o json` prints), JSON.
// Output on stdout: one JSON line per object, {"name", "kstatus": {"status", "message"}, "argocd": {...}}.
//
// The Lua side copies what Argo CD does (argo-cd util/lua): a state with only the safe standard libraries, the
// object converted to nested tables as the global `obj`, the script run with DoString, its returned table read back
// as {status, message}. The program is built by build.sh into the cache folder, like the control plane.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"

	lua "github.com/yuin/gopher-lua"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utiljson "k8s.io/apimachinery/pkg/util/json"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"
)

type verdict struct {
	Status  string `json:"status"`
	Message string `json:"message"`
}

type result struct {
	Name    string  `json:"name"`
	KStatus verdict `json:"kstatus"`
	ArgoCD  verdict `json:"argocd"`
}

// toLua converts decoded JSON into Lua values the way Argo CD's decodeValue does: objects become tables keyed by
// string, arrays become 1-based sequences, numbers LNumber, null nil.
func toLua(L *lua.LState, v interface{}) lua.LValue {
	switch x := v.(type) {
	case nil:
		return lua.LNil
	case bool:
		return lua.LBool(x)
	case string:
		return lua.LString(x)
	case float64:
		return lua.LNumber(x)
	case int64:
		return lua.LNumber(x)
	case json.Number:
		f, err := x.Float64()
		if err != nil {
			return lua.LString(x.String())
		}
		return lua.LNumber(f)
	case map[string]interface{}:
		t := L.NewTable()
		for k, e := range x {
			t.RawSetString(k, toLua(L, e))
		}
		return t
	case []interface{}:
		t := L.NewTable()
		for _, e := range x {
			t.Append(toLua(L, e))
		}
		return t
	default:
		return lua.LString(fmt.Sprint(x))
	}
}

func argoHealth(script string, obj map[string]interface{}) (verdict, error) {
	L := lua.NewState(lua.Options{SkipOpenLibs: true})
	defer L.Close()
	for _, lib := range []struct {
		name string
		open lua.LGFunction
	}{
		{lua.LoadLibName, lua.OpenPackage},
		{lua.BaseLibName, lua.OpenBase},
		{lua.TabLibName, lua.OpenTable},
		{lua.StringLibName, lua.OpenString},
		{lua.MathLibName, lua.OpenMath},
	} {
		if err := L.CallByParam(lua.P{Fn: L.NewFunction(lib.open), NRet: 0, Protect: true}, lua.LString(lib.name)); err != nil {
			return verdict{}, err
		}
	}
	L.SetGlobal("obj", toLua(L, obj))
	if err := L.DoString(script); err != nil {
		return verdict{}, err
	}
	ret, ok := L.Get(-1).(*lua.LTable)
	if !ok {
		return verdict{}, fmt.Errorf("health script returned %s, not a table", L.Get(-1).Type())
	}
	v := verdict{Status: lua.LVAsString(ret.RawGetString("status")), Message: lua.LVAsString(ret.RawGetString("message"))}
	switch v.Status {
	case "Healthy", "Progressing", "Degraded", "Suspended", "Missing", "Unknown":
	default:
		return v, fmt.Errorf("health script returned status %q, which Argo CD does not know", v.Status)
	}
	return v, nil
}

func kstatusOf(obj map[string]interface{}) (verdict, error) {
	res, err := status.Compute(&unstructured.Unstructured{Object: obj})
	if err != nil {
		return verdict{}, err
	}
	return verdict{Status: res.Status.String(), Message: res.Message}, nil
}

func run() error {
	luaPath := flag.String("lua", "config/gitops/argocd-health.lua", "Argo CD health script")
	flag.Parse()
	script, err := os.ReadFile(*luaPath)
	if err != nil {
		return err
	}
	in, err := io.ReadAll(os.Stdin)
	if err != nil {
		return err
	}
	var doc map[string]interface{}
	// apimachinery's decoder keeps integers as int64, as the API machinery (and kstatus) expect.
	if err := utiljson.Unmarshal(in, &doc); err != nil {
		return fmt.Errorf("stdin is not a JSON object: %w", err)
	}
	objs := []map[string]interface{}{doc}
	if items, ok := doc["items"].([]interface{}); ok {
		objs = objs[:0]
		for _, it := range items {
			if m, ok := it.(map[string]interface{}); ok {
				objs = append(objs, m)
			}
		}
	}
	enc := json.NewEncoder(os.Stdout)
	for _, obj := range objs {
		u := unstructured.Unstructured{Object: obj}
		r := result{Name: u.GetName()}
		if r.KStatus, err = kstatusOf(obj); err != nil {
			return fmt.Errorf("kstatus %s: %w", u.GetName(), err)
		}
		if r.ArgoCD, err = argoHealth(string(script), obj); err != nil {
			return fmt.Errorf("argo cd health %s: %w", u.GetName(), err)
		}
		if err := enc.Encode(r); err != nil {
			return err
		}
	}
	return nil
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "gitops-health:", err)
		os.Exit(1)
	}
}
