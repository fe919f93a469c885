// A SCIM 2 service provider built on github.com/elimity-com/scim, for gwsync's interop matrix
// (tests only). The library serves the protocol and validates every POST, PUT and PATCH
// against the resource type's schema; what it leaves to its user is the store: here Users
// (core schema + enterprise extension, the library's own) and Groups in memory, with userName
// unique (its schema says uniqueness "server"; caseExact false), members of a deleted user
// dropped, filters answered by the library's filter.Validator, and paging by startIndex/count.
//
// Listens on 127.0.0.1 at a free port, prints the port on its first stdout line, serves SCIM
// at /scim/v2 behind a bearer token (GOSCIM_TOKEN), and exits when its stdin closes.
package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/elimity-com/scim"
	scimerrors "github.com/elimity-com/scim/errors"
	"github.com/elimity-com/scim/filter"
	"github.com/elimity-com/scim/optional"
	"github.com/elimity-com/scim/schema"
	parser "github.com/scim2/filter-parser/v2"
)

type record struct {
	attributes       scim.ResourceAttributes
	created, updated time.Time
}

// store holds both resource types, behind one lock (deleting a user changes groups).
type store struct {
	mu     sync.Mutex
	nextID int
	data   map[string]map[string]*record
}

// handler is the scim.ResourceHandler of one resource type.
type handler struct {
	*store
	kind    string
	unique  string // the attribute whose value is unique (case-insensitively), or ""
	schemas []schema.Schema
}

func (h handler) resource(id string, rec *record) scim.Resource {
	external := optional.String{}
	if value, ok := rec.attributes["externalId"].(string); ok {
		external = optional.NewString(value)
	}
	created, updated := rec.created, rec.updated
	return scim.Resource{ID: id, ExternalID: external, Attributes: rec.attributes,
		Meta: scim.Meta{Created: &created, LastModified: &updated}}
}

func (h handler) taken(id string, attributes scim.ResourceAttributes) bool {
	if h.unique == "" {
		return false
	}
	value, _ := attributes[h.unique].(string)
	for other, rec := range h.data[h.kind] {
		if theirs, _ := rec.attributes[h.unique].(string); other != id && strings.EqualFold(theirs, value) {
			return true
		}
	}
	return false
}

func (h handler) Create(r *http.Request, attributes scim.ResourceAttributes) (scim.Resource, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.taken("", attributes) {
		return scim.Resource{}, scimerrors.ScimErrorUniqueness
	}
	h.nextID++
	id, now := strconv.Itoa(h.nextID), time.Now()
	rec := &record{attributes: attributes, created: now, updated: now}
	h.data[h.kind][id] = rec
	return h.resource(id, rec), nil
}

func (h handler) Get(r *http.Request, id string) (scim.Resource, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	rec, ok := h.data[h.kind][id]
	if !ok {
		return scim.Resource{}, scimerrors.ScimErrorResourceNotFound(id)
	}
	return h.resource(id, rec), nil
}

func (h handler) GetAll(r *http.Request, params scim.ListRequestParams) (scim.Page, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	ids := make([]string, 0, len(h.data[h.kind]))
	for id, rec := range h.data[h.kind] {
		withID := scim.ResourceAttributes{"id": id}
		for k, v := range rec.attributes {
			withID[k] = v
		}
		if params.FilterValidator == nil || params.FilterValidator.PassesFilter(withID) == nil {
			ids = append(ids, id)
		}
	}
	sort.Slice(ids, func(i, j int) bool { a, _ := strconv.Atoi(ids[i]); b, _ := strconv.Atoi(ids[j]); return a < b })
	page := scim.Page{TotalResults: len(ids), Resources: []scim.Resource{}}
	for i := params.StartIndex - 1; i >= 0 && i < len(ids) && len(page.Resources) < params.Count; i++ {
		page.Resources = append(page.Resources, h.resource(ids[i], h.data[h.kind][ids[i]]))
	}
	return page, nil
}

func (h handler) Replace(r *http.Request, id string, attributes scim.ResourceAttributes) (scim.Resource, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	rec, ok := h.data[h.kind][id]
	if !ok {
		return scim.Resource{}, scimerrors.ScimErrorResourceNotFound(id)
	}
	if h.taken(id, attributes) {
		return scim.Resource{}, scimerrors.ScimErrorUniqueness
	}
	rec.attributes, rec.updated = attributes, time.Now()
	return h.resource(id, rec), nil
}

func (h handler) Delete(r *http.Request, id string) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.data[h.kind][id]; !ok {
		return scimerrors.ScimErrorResourceNotFound(id)
	}
	delete(h.data[h.kind], id)
	if h.kind == "User" {
		for _, group := range h.data["Group"] {
			members, _ := group.attributes["members"].([]interface{})
			kept := []interface{}{}
			for _, m := range members {
				if member, _ := m.(map[string]interface{}); member["value"] != id {
					kept = append(kept, m)
				}
			}
			group.attributes["members"] = kept
		}
	}
	return nil
}

func (h handler) Patch(r *http.Request, id string, operations []scim.PatchOperation) (scim.Resource, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	rec, ok := h.data[h.kind][id]
	if !ok {
		return scim.Resource{}, scimerrors.ScimErrorResourceNotFound(id)
	}
	attributes := copyValue(rec.attributes).(map[string]interface{})
	for _, op := range operations {
		if op.Path != nil {
			if err := h.apply(attributes, op.Op, *op.Path, op.Value); err != nil {
				return scim.Resource{}, err
			}
			continue
		}
		values, _ := op.Value.(map[string]interface{}) // no path: {path: value, ...}
		for key, value := range values {
			path := parser.Path{AttributePath: parser.AttributePath{AttributeName: key}}
			if h.extension(key) == nil {
				parsed, err := parser.ParsePath([]byte(key))
				if err != nil {
					return scim.Resource{}, scimerrors.ScimErrorInvalidPath
				}
				path = parsed
			}
			if err := h.apply(attributes, op.Op, path, value); err != nil {
				return scim.Resource{}, err
			}
		}
	}
	if h.taken(id, attributes) {
		return scim.Resource{}, scimerrors.ScimErrorUniqueness
	}
	rec.attributes, rec.updated = attributes, time.Now()
	return h.resource(id, rec), nil
}

func (h handler) extension(uri string) *schema.Schema {
	for i := range h.schemas[1:] {
		if h.schemas[1+i].ID == uri {
			return &h.schemas[1+i]
		}
	}
	return nil
}

// apply runs one validated PATCH operation (RFC 7644 §3.5.2) on a resource's attributes.
func (h handler) apply(attributes map[string]interface{}, op string, path parser.Path, value interface{}) error {
	container, attrs := attributes, h.schemas[0].Attributes
	if ext := h.extension(path.AttributePath.String()); ext != nil { // the whole extension
		if op == scim.PatchOperationRemove {
			delete(attributes, ext.ID)
			return nil
		}
		merged, _ := attributes[ext.ID].(map[string]interface{})
		if merged == nil {
			merged = map[string]interface{}{}
		}
		given, _ := value.(map[string]interface{})
		for k, v := range given {
			merged[k] = v
		}
		attributes[ext.ID] = merged
		return nil
	}
	if ext := h.extension(path.AttributePath.URI()); ext != nil {
		container, _ = attributes[ext.ID].(map[string]interface{})
		if container == nil {
			container = map[string]interface{}{}
			attributes[ext.ID] = container
		}
		attrs = ext.Attributes
	}
	if path.AttributePath.AttributeName == "externalId" {
		attrs = schema.CommonAttributes()
	}
	attr, ok := attrs.ContainsAttribute(path.AttributePath.AttributeName)
	if !ok {
		return scimerrors.ScimErrorNoTarget
	}
	name, sub := attr.Name(), path.AttributePath.SubAttributeName()
	if path.ValueExpression != nil {
		return applyToMatches(container, attr, op, path, value)
	}
	if sub != "" { // e.g. name.givenName
		parts, _ := container[name].(map[string]interface{})
		if parts == nil {
			parts = map[string]interface{}{}
		}
		if op == scim.PatchOperationRemove {
			delete(parts, sub)
		} else {
			parts[sub] = value
		}
		container[name] = parts
		return nil
	}
	switch {
	case op == scim.PatchOperationRemove:
		delete(container, name)
	case op == scim.PatchOperationAdd && attr.MultiValued():
		values, _ := container[name].([]interface{})
		given, _ := value.([]interface{})
		for _, v := range given {
			if !containsValue(values, v) {
				values = append(values, v)
			}
		}
		container[name] = values
	case attr.HasSubAttributes() && !attr.MultiValued(): // the sub-attributes given, the rest kept
		parts, _ := container[name].(map[string]interface{})
		if parts == nil {
			parts = map[string]interface{}{}
		}
		given, _ := value.(map[string]interface{})
		for k, v := range given {
			parts[k] = v
		}
		container[name] = parts
	default:
		container[name] = value
	}
	return nil
}

// applyToMatches runs an operation on the values of a multi-valued attribute its filter
// selects, e.g. members[value eq "7"] or emails[type eq "work"].value.
func applyToMatches(container map[string]interface{}, attr schema.CoreAttribute, op string, path parser.Path, value interface{}) error {
	selects := filter.NewFilterValidator(path.ValueExpression, schema.Schema{Attributes: filter.MultiValuedFilterAttributes(attr)})
	values, _ := container[attr.Name()].([]interface{})
	kept, matched := []interface{}{}, false
	for _, v := range values {
		element, _ := v.(map[string]interface{})
		if element == nil || selects.PassesFilter(element) != nil {
			kept = append(kept, v)
			continue
		}
		matched = true
		switch {
		case op == scim.PatchOperationRemove && path.SubAttribute == nil:
			continue
		case op == scim.PatchOperationRemove:
			delete(element, *path.SubAttribute)
		case path.SubAttribute != nil:
			element[*path.SubAttribute] = value
		default:
			if element, _ = value.(map[string]interface{}); element == nil {
				return scimerrors.ScimErrorInvalidValue
			}
		}
		kept = append(kept, element)
	}
	if !matched && op != scim.PatchOperationRemove {
		return scimerrors.ScimErrorNoTarget
	}
	container[attr.Name()] = kept
	return nil
}

func containsValue(values []interface{}, v interface{}) bool {
	for _, existing := range values {
		if reflect.DeepEqual(existing, v) {
			return true
		}
	}
	return false
}

func copyValue(v interface{}) interface{} {
	switch v := v.(type) {
	case scim.ResourceAttributes:
		return copyValue(map[string]interface{}(v))
	case map[string]interface{}:
		c := make(map[string]interface{}, len(v))
		for k, e := range v {
			c[k] = copyValue(e)
		}
		return c
	case []interface{}:
		c := make([]interface{}, len(v))
		for i, e := range v {
			c[i] = copyValue(e)
		}
		return c
	}
	return v
}

func main() {
	token := os.Getenv("GOSCIM_TOKEN")
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	port := listener.Addr().(*net.TCPAddr).Port
	db := &store{data: map[string]map[string]*record{"User": {}, "Group": {}}}
	user, enterprise, group := schema.CoreUserSchema(), schema.ExtensionEnterpriseUser(), schema.CoreGroupSchema()
	server, err := scim.NewServer(&scim.ServerArgs{
		ServiceProviderConfig: &scim.ServiceProviderConfig{
			AuthenticationSchemes: []scim.AuthenticationScheme{{Type: scim.AuthenticationTypeOauthBearerToken,
				Name: "OAuth Bearer Token", Description: "Authentication scheme using the OAuth Bearer Token Standard", Primary: true}},
			SupportFiltering: true,
			SupportPatch:     true,
		},
		ResourceTypes: []scim.ResourceType{
			{ID: optional.NewString("User"), Name: "User", Endpoint: "/Users", Description: optional.NewString("User Account"),
				Schema: user, SchemaExtensions: []scim.SchemaExtension{{Schema: enterprise}},
				Handler: handler{db, "User", "userName", []schema.Schema{user, enterprise}}},
			{ID: optional.NewString("Group"), Name: "Group", Endpoint: "/Groups", Description: optional.NewString("Group"),
				Schema: group, Handler: handler{db, "Group", "", []schema.Schema{group}}},
		},
	}, scim.WithBaseURL(fmt.Sprintf("http://127.0.0.1:%d/scim/v2", port)))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	guarded := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+token {
			w.Header().Set("Content-Type", "application/scim+json")
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprint(w, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"status":"401","detail":"bad token"}`)
			return
		}
		server.ServeHTTP(w, r)
	})
	go func() { // the tests end the server by closing its stdin
		_, _ = io.Copy(io.Discard, os.Stdin)
		os.Exit(0)
	}()
	fmt.Println(port)
	_ = http.Serve(listener, http.StripPrefix("/scim", guarded))
}
