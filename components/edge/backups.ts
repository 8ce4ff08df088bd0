// Longhorn's backup target: a GCS bucket (created, or an existing one by config) reached through
// its S3-compatible API with an HMAC key. Prod has one; a sandbox only ever has its own.
import * as pulumi from "@pulumi/pulumi";
import * as gcp from "@pulumi/gcp";
import { BackupSpec, LabConfig } from "../config";

/**
 * A stack's backup target: an S3 API (GCS for prod, a sandbox's own MinIO), for Longhorn and for
 * the data host's backup job alike.
 */
export interface BackupTarget {
    /** Longhorn's backup target URL (s3://bucket@region/prefix/). */
    url: string;
    /** The keys of Longhorn's credential secret (secret values). */
    credentials: Record<string, pulumi.Input<string>>;
    bucket: string;
    region: string;
    /** rclone's S3 provider name. */
    provider: "GCS" | "Minio";
    /** The S3 endpoint as the data host reaches it. */
    hostEndpoint: string;
    accessKeyId: pulumi.Input<string>;
    /** Secret; absent when it stays on the data host (secretEnvFile). */
    secretAccessKey?: pulumi.Input<string>;
    /** On the data host: the env file whose MINIO_ROOT_PASSWORD is the secret key. */
    secretEnvFile?: string;
    /** The bucket is the sandbox's own, created by the backup job's installer. */
    createBucket: boolean;
}

export interface BackupsArgs {
    config: LabConfig;
    backup: BackupSpec;
}

const GCS_S3_ENDPOINT = "https://storage.googleapis.com";

export class Backups extends pulumi.ComponentResource {
    readonly target: BackupTarget;

    constructor(name: string, args: BackupsArgs, opts?: pulumi.ComponentResourceOptions) {
        super("lab:edge:Backups", name, {}, opts);
        const { config: cfg, backup: b } = args;
        // Credentials come from the provider's usual environment (GOOGLE_CREDENTIALS / gcloud ADC).
        const provider = new gcp.Provider(`${name}-gcp`, { project: b.project }, { parent: this });
        const gcpOpts = { parent: this, provider };

        const bucketName = b.existing
            ? pulumi.output(b.bucket)
            : new gcp.storage.Bucket(`${name}-bucket`, {
                name: b.bucket,
                location: b.location,
                uniformBucketLevelAccess: true,
                publicAccessPrevention: "enforced",
                versioning: { enabled: true },
            }, { ...gcpOpts, protect: cfg.isProd, retainOnDelete: cfg.isProd }).name;

        const account = new gcp.serviceaccount.Account(`${name}-longhorn`, {
            accountId: `longhorn-${cfg.stack}`.slice(0, 30),
            displayName: `Longhorn backups of the ${cfg.stack} stack`,
        }, gcpOpts);
        new gcp.storage.BucketIAMMember(`${name}-longhorn-object-admin`, {
            bucket: bucketName,
            role: "roles/storage.objectAdmin",
            member: pulumi.interpolate`serviceAccount:${account.email}`,
        }, gcpOpts);
        const key = new gcp.storage.HmacKey(`${name}-longhorn-hmac`, {
            serviceAccountEmail: account.email,
        }, { ...gcpOpts, additionalSecretOutputs: ["secret"] });

        this.target = {
            url: `s3://${b.bucket}@${b.location.toLowerCase()}/${b.prefix}/`,
            credentials: {
                AWS_ACCESS_KEY_ID: key.accessId,
                AWS_SECRET_ACCESS_KEY: pulumi.secret(key.secret),
                AWS_ENDPOINTS: GCS_S3_ENDPOINT,
            },
            bucket: b.bucket,
            region: b.location.toLowerCase(),
            provider: "GCS",
            hostEndpoint: GCS_S3_ENDPOINT,
            accessKeyId: key.accessId,
            secretAccessKey: pulumi.secret(key.secret),
            createBucket: false,
        };
        this.registerOutputs({ bucket: bucketName });
    }
}
