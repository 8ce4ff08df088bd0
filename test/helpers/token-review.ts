// A small Kubernetes API on loopback that answers only what Vault's Kubernetes auth asks: the
// TokenReview of authentication.k8s.io/v1 (Kubernetes API reference, token-review-v1: TokenReview
// {spec: {token, audiences}} -> status {authenticated, user {username, uid, groups, extra},
// audiences, error}; the fields as in the API's generated models, e.g. kubernetes-client/python
// kubernetes/docs/models/V1TokenReviewStatus.md), created by POST
// /apis/authentication.k8s.io/v1/tokenreviews (201), over HTTPS with a CA of its own made here.
//
// It issues service-account tokens shaped as the API server's projected ones: ES256-signed JWTs with
// the projected claims (iss, sub system:serviceaccount:<ns>:<name>, aud, exp, iat, nbf,
// kubernetes.io {namespace, serviceaccount {name, uid}}), which is what OpenBao's login decodes
// (openbao/openbao internal/builtin/credential/kubernetes/path_login.go, serviceAccount and
// projectedServiceToken; supportedJwtAlgs), and reviews them: a token it issued and has not revoked is
// authenticated as system:serviceaccount:<ns>:<name>; anything else is not. A review whose bearer
// is not a token it issued gets 401 (the caller must authenticate, as Vault does with the
// client's JWT when no token_reviewer_jwt is set). OpenBao's kubernetes auth sends the review as
// internal/builtin/credential/kubernetes/token_review.go (openbao/openbao) shows.
import { spawnSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as https from "https";
import { AddressInfo } from "net";
import * as os from "os";
import * as path from "path";

export interface ServiceAccountToken {
    namespace: string;
    name: string;
    uid: string;
    jwt: string;
}

const b64url = (b: Buffer | string) => Buffer.from(b).toString("base64url");

export class TokenReviewApi {
    /** The CA certificate of the server (PEM): what Vault needs as kubernetes_ca_cert. */
    caCert = "";
    url = "";
    readonly reviews: { bearerKnown: boolean; authenticated: boolean; namespace?: string; name?: string }[] = [];
    private readonly tokens = new Map<string, ServiceAccountToken>();
    private readonly signingKey = crypto.generateKeyPairSync("ec", { namedCurve: "P-256" });
    private server?: https.Server;

    /** Starts on 127.0.0.1:<free port> with a fresh self-signed certificate for 127.0.0.1. */
    async start(): Promise<void> {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "lab-k8s-api-"));
        try {
            const key = path.join(dir, "key.pem");
            const cert = path.join(dir, "cert.pem");
            const r = spawnSync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                "-keyout", key, "-out", cert, "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"], { encoding: "utf8", timeout: 20_000 });
            if (r.status !== 0) throw new Error(`openssl could not make the test API's certificate: ${r.error?.message ?? r.stderr}`);
            this.caCert = fs.readFileSync(cert, "utf8");
            this.server = https.createServer({ key: fs.readFileSync(key), cert: this.caCert }, (req, res) => this.handle(req, res));
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
        await new Promise<void>((resolve) => this.server!.listen(0, "127.0.0.1", resolve));
        this.url = `https://127.0.0.1:${(this.server!.address() as AddressInfo).port}`;
    }

    async stop(): Promise<void> {
        this.server?.closeAllConnections();
        await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    }

    /** A projected service-account token for <namespace>/<name>. */
    issue(namespace: string, name: string, audiences: string[] = ["https://kubernetes.default.svc.cluster.local"]): ServiceAccountToken {
        const uid = crypto.randomUUID();
        const now = Math.floor(Date.now() / 1000);
        const header = { alg: "ES256", kid: "lab-test", typ: "JWT" };
        const claims = {
            aud: audiences, exp: now + 3600, iat: now, nbf: now,
            iss: "https://kubernetes.default.svc.cluster.local",
            sub: `system:serviceaccount:${namespace}:${name}`,
            "kubernetes.io": { namespace, serviceaccount: { name, uid } },
        };
        const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
        const sig = crypto.sign("sha256", Buffer.from(input), { key: this.signingKey.privateKey, dsaEncoding: "ieee-p1363" });
        const tok = { namespace, name, uid, jwt: `${input}.${b64url(sig)}` };
        this.tokens.set(tok.jwt, tok);
        return tok;
    }

    /** The service account is deleted: its tokens no longer authenticate. */
    revoke(tok: ServiceAccountToken): void {
        this.tokens.delete(tok.jwt);
    }

    private handle(req: import("http").IncomingMessage, res: import("http").ServerResponse): void {
        const send = (status: number, body: unknown) => {
            res.statusCode = status;
            res.setHeader("Content-Type", "application/json");
            res.end(JSON.stringify(body));
        };
        const status = (code: number, reason: string, message: string) =>
            send(code, { kind: "Status", apiVersion: "v1", metadata: {}, status: "Failure", message, reason, code });
        if (req.method !== "POST" || req.url !== "/apis/authentication.k8s.io/v1/tokenreviews") {
            status(404, "NotFound", "the server could not find the requested resource");
            return;
        }
        const bearer = (req.headers.authorization ?? "").replace(/^Bearer /, "");
        const chunks: Buffer[] = [];
        req.on("data", (c: Buffer) => chunks.push(c));
        req.on("end", () => {
            if (!this.tokens.has(bearer)) {
                this.reviews.push({ bearerKnown: false, authenticated: false });
                status(401, "Unauthorized", "Unauthorized");
                return;
            }
            let review: { apiVersion?: string; kind?: string; spec?: { token?: string; audiences?: string[] } };
            try {
                review = JSON.parse(Buffer.concat(chunks).toString("utf8"));
            } catch {
                status(400, "BadRequest", "the TokenReview is not JSON");
                return;
            }
            const tok = this.tokens.get(review.spec?.token ?? "");
            const out = {
                kind: "TokenReview", apiVersion: "authentication.k8s.io/v1", metadata: { creationTimestamp: null },
                spec: review.spec ?? {},
                status: tok
                    ? {
                        authenticated: true,
                        user: {
                            username: `system:serviceaccount:${tok.namespace}:${tok.name}`, uid: tok.uid,
                            groups: ["system:serviceaccounts", `system:serviceaccounts:${tok.namespace}`, "system:authenticated"],
                        },
                        audiences: review.spec?.audiences?.length ? review.spec.audiences : ["https://kubernetes.default.svc.cluster.local"],
                    }
                    : { user: {}, error: "[invalid bearer token, token lookup failed]" },
            };
            this.reviews.push({ bearerKnown: true, authenticated: !!tok, namespace: tok?.namespace, name: tok?.name });
            send(201, out);
        });
    }
}
