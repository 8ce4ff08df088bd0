// Preloaded (node -r) into a child process that must not reach the network: every outgoing TCP
// connection and DNS lookup is recorded in $NO_NETWORK_LOG and refused before it leaves the process.
"use strict";
const fs = require("fs");
const net = require("net");
const dns = require("dns");
const log = process.env.NO_NETWORK_LOG;
function record(what) {
    if (log) fs.appendFileSync(log, `${what}\n`);
}
const connect = net.Socket.prototype.connect;
net.Socket.prototype.connect = function (...args) {
    const o = typeof args[0] === "object" && args[0] !== null && !Array.isArray(args[0]) ? args[0] : { port: args[0], host: args[1] };
    record(`connect ${o.path ?? `${o.host ?? "localhost"}:${o.port}`}`);
    const err = new Error("network refused by test/helpers/no-network.js");
    process.nextTick(() => this.destroy(err));
    return this;
};
void connect;
const lookup = dns.lookup;
dns.lookup = function (host, ...rest) {
    record(`lookup ${host}`);
    const cb = rest[rest.length - 1];
    process.nextTick(() => cb(new Error("DNS refused by test/helpers/no-network.js")));
};
void lookup;
for (const m of ["resolve", "resolve4", "resolve6"]) {
    dns[m] = function (host, ...rest) {
        record(`${m} ${host}`);
        const cb = rest[rest.length - 1];
        process.nextTick(() => cb(new Error("DNS refused")));
    };
}
const cp = require("child_process");
for (const m of ["spawn", "execFile", "exec", "spawnSync", "execFileSync", "execSync"]) {
    const orig = cp[m];
    cp[m] = function (cmd, ...rest) {
        record(`${m} ${cmd}`);
        return orig.call(this, cmd, ...rest);
    };
}
