// Whether the program runs inside the offline plan (tools/plan-runner.ts, under Pulumi's mocks)
// rather than under the engine. Set in-process by the runner only: no environment variable or
// config key can claim it, so a real `pulumi up` can never take the offline plan's leniencies.
const OFFLINE = Symbol.for("homelab.offline-plan");

export function markOfflinePlan(): void {
    (globalThis as Record<symbol, unknown>)[OFFLINE] = true;
}

export function isOfflinePlan(): boolean {
    return (globalThis as Record<symbol, unknown>)[OFFLINE] === true;
}

const STACK_FILE = Symbol.for("homelab.offline-plan.stack-file");

/** The stack file the offline plan read (its --config-file), for the guard over the project's files. */
export function setOfflineStackFile(file: string | undefined): void {
    (globalThis as Record<symbol, unknown>)[STACK_FILE] = file;
}

export function offlineStackFile(): string | undefined {
    return isOfflinePlan() ? ((globalThis as Record<symbol, unknown>)[STACK_FILE] as string | undefined) : undefined;
}
