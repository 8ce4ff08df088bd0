// The lifecycle of a test server process, shared by the real PostgreSQL and OpenBao helpers: one
// server per run started on first use, a bounded stop, and no child outliving node.
import { ChildProcess } from "child_process";
import * as net from "net";

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A port free on 127.0.0.1 now (the caller retries if it is taken before its server binds). */
export function freePort(): Promise<number> {
    return new Promise((resolve, reject) => {
        const srv = net.createServer();
        srv.unref();
        srv.once("error", reject);
        srv.listen(0, "127.0.0.1", () => {
            const port = (srv.address() as net.AddressInfo).port;
            srv.close(() => resolve(port));
        });
    });
}
const running = (p: ChildProcess) => p.exitCode === null && p.signalCode === null;

const children = new Set<ChildProcess>();
let exitHooked = false;

/** If node ends without the root hooks (a crash), the child does not outlive it (one exit listener for all). */
export function killOnExit(proc: ChildProcess): void {
    children.add(proc);
    proc.once("exit", () => children.delete(proc));
    if (exitHooked) return;
    exitHooked = true;
    process.once("exit", () => {
        for (const p of children) if (running(p)) p.kill("SIGKILL");
    });
}

/** Asks the child to stop with `signal`, then SIGKILL after `timeoutMs`; resolves once it is gone (or 5 s after SIGKILL). */
export async function stopChild(proc: ChildProcess, signal: NodeJS.Signals, timeoutMs: number): Promise<void> {
    if (!running(proc)) return;
    const gone = new Promise<void>((resolve) => proc.once("exit", () => resolve()));
    proc.kill(signal);
    const timedOut = await Promise.race([gone.then(() => false), sleep(timeoutMs).then(() => true)]);
    if (timedOut) {
        proc.kill("SIGKILL");
        await Promise.race([gone, sleep(5000)]);
    }
}

/**
 * One server per run: `get()` starts it on first use (a failed start is reported to each caller),
 * `stop()` stops what was started (nothing if the start failed) and lets the next `get()` start anew.
 */
export function oncePerRun<R>(start: () => Promise<R>, stop: (r: R) => Promise<void>): { get(): Promise<R>; stop(): Promise<void> } {
    let starting: Promise<R> | undefined;
    return {
        get() {
            if (!starting) {
                starting = start();
                starting.catch(() => undefined); // reported to each caller
            }
            return starting;
        },
        async stop() {
            if (!starting) return;
            const p = starting;
            starting = undefined;
            let r: R;
            try {
                r = await p;
            } catch {
                return;
            }
            await stop(r);
        },
    };
}
