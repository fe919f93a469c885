// SCIMMY 1.3.5 + scimmy-routers 1.3.2 on express 4, with the in-memory store SCIMMY leaves to
// its user: the smallest real SCIMMY service provider, for gwsync's interop matrix (tests only).
// Listens on 127.0.0.1, port 0 (a free one), and prints the port on its first stdout line.
// The store enforces what any real store would: unique userName (case-insensitive, RFC 7643
// caseExact false) and unique group displayName (409), members of deleted users dropped.
"use strict";
const express = require("express");
const {default: SCIMMY} = require("scimmy");
const {default: SCIMMYRouters} = require("scimmy-routers");

const TOKEN = process.env.SCIMMY_TOKEN || "scimmy-token";
const stores = {User: new Map(), Group: new Map()};
const unique = {User: "userName", Group: "displayName"};
let nextId = 1;

const egress = (kind) => (resource) => {
    const store = stores[kind];
    if (resource.id) {
        if (!store.has(resource.id)) throw new SCIMMY.Types.Error(404, null, `Resource ${resource.id} not found`);
        return store.get(resource.id);
    }
    const all = [...store.values()];
    return resource.filter ? resource.filter.match(all) : all;
};

const ingress = (kind) => (resource, instance) => {
    const store = stores[kind], key = unique[kind];
    if (resource.id && !store.has(resource.id)) throw new SCIMMY.Types.Error(404, null, `Resource ${resource.id} not found`);
    const value = String(instance[key] ?? "").toLowerCase();
    for (const [id, other] of store) {
        if (id !== resource.id && String(other[key]).toLowerCase() === value)
            throw new SCIMMY.Types.Error(409, "uniqueness", `${key} ${instance[key]} is already taken`);
    }
    const id = resource.id ?? String(nextId++);
    const now = new Date().toISOString();
    const record = {...JSON.parse(JSON.stringify(instance)), id, meta: {created: store.get(id)?.meta.created ?? now, lastModified: now}};
    store.set(id, record);
    return record;
};

const degress = (kind) => (resource) => {
    if (!stores[kind].delete(resource.id)) throw new SCIMMY.Types.Error(404, null, `Resource ${resource.id} not found`);
    if (kind === "User") for (const group of stores.Group.values())
        group.members = (group.members ?? []).filter((member) => member.value !== resource.id);
};

for (const kind of ["User", "Group"]) {
    SCIMMY.Resources.declare(SCIMMY.Resources[kind]).ingress(ingress(kind)).egress(egress(kind)).degress(degress(kind));
}
SCIMMY.Resources.User.extend(SCIMMY.Schemas.EnterpriseUser, false);

const app = express();
app.use("/scim/v2", new SCIMMYRouters({
    type: "bearer",
    handler: (request) => {
        if (request.header("Authorization") !== `Bearer ${TOKEN}`) throw new Error("Invalid bearer token");
        return "gwsync-tests";
    },
}));
const server = app.listen(0, "127.0.0.1", () => console.log(server.address().port));
